package traces

import (
	"testing"

	"github.com/sluice-io/sluice/state"
)

func TestDirectoryBindsGUIDsFromTheRuntimesList(t *testing.T) {
	d := NewDirectory()
	if _, ok := d.Resolve("sineload-1a2b"); ok {
		t.Fatal("an empty directory resolved a GUID")
	}
	d.Update([]state.Container{
		{ID: "shield/victim", App: "shield", Name: "victim", GUID: "sineload-1a2b"},
		{ID: "shield/hog", App: "shield", Name: "hog", GUID: "cpuhog-3c4d"},
		{ID: "old/nameless", App: "old", Name: "nameless"},
	})
	if b, ok := d.Resolve("sineload-1a2b"); !ok || b != (Binding{App: "shield", Container: "shield/victim"}) {
		t.Errorf("victim resolved to %+v, %v", b, ok)
	}
	if _, ok := d.Resolve(""); ok {
		t.Error("a container without a GUID was bound to the empty service name")
	}
	d.Update([]state.Container{{ID: "shield/hog", App: "shield", Name: "hog", GUID: "cpuhog-3c4d"}})
	if _, ok := d.Resolve("sineload-1a2b"); ok {
		t.Error("a removed container still resolves")
	}
}

// The agent's wiring: spans from a container's GUID land on that
// container once the directory knows it, and are counted as unknown
// before.
func TestCollectorBindsSpansThroughTheDirectory(t *testing.T) {
	d := NewDirectory()
	c := startCollector(t, Config{Resolver: d.Resolve})
	client := dialOTLP(t, c.Addrs().OTLPGRPC)
	export := func(first int) {
		t.Helper()
		if _, err := client.Export(t.Context(), otlpRequest("sineload-1a2b", first, 3)); err != nil {
			t.Fatal(err)
		}
	}
	export(1)
	if snap := c.Snapshot(); len(snap.Containers) != 0 || c.dropped(DropUnknownService) != 3 {
		t.Fatalf("before the directory knew it: %+v, %g unknown", snap.Containers, c.dropped(DropUnknownService))
	}
	d.Update([]state.Container{{ID: "shield/victim", App: "shield", Name: "victim", GUID: "sineload-1a2b"}})
	export(10)
	if got := c.Snapshot().Containers["shield/victim"].Count; got != 3 {
		t.Errorf("victim count = %d, want 3", got)
	}
}
