package traces

import (
	"sync/atomic"

	"github.com/sluice-io/sluice/state"
)

// Directory maps GUIDs to containers. The agent calls Update with the
// runtime's container list every tick (or on every change); the core
// reads it for each span. A read never waits for an update.
type Directory struct {
	byGUID atomic.Pointer[map[string]Binding]
}

// NewDirectory returns an empty directory: every service is unknown
// until the first Update.
func NewDirectory() *Directory { return &Directory{} }

// Update replaces the bindings with those of containers; containers
// without a GUID cannot be named by a span and are left out.
func (d *Directory) Update(containers []state.Container) {
	byGUID := make(map[string]Binding, len(containers))
	for _, c := range containers {
		if c.GUID != "" {
			byGUID[c.GUID] = Binding{App: c.App, Container: c.ID}
		}
	}
	d.byGUID.Store(&byGUID)
}

// Resolve is the directory's Resolver.
func (d *Directory) Resolve(service string) (Binding, bool) {
	m := d.byGUID.Load()
	if m == nil {
		return Binding{}, false
	}
	b, ok := (*m)[service]
	return b, ok
}

var _ Resolver = (*Directory)(nil).Resolve
