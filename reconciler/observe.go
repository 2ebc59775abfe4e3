package reconciler

import (
	"sort"
	"strings"

	"github.com/sluice-io/sluice/state"
)

// appView is one app as a Step sees it: its desired spec, if any, and the
// containers the runtime reports for it.
type appView struct {
	name string
	// spec is the desired spec on this node; nil when the app has none here.
	spec         *state.AppSpec
	specRevision int64
	// rejected is why the latest value of the app's spec key was refused;
	// spec, if set, is the last good one, which stays in force.
	rejected *state.SpecRejection
	// kept is the one container per spec name that the core works with.
	kept map[string]state.Container
	// extras are duplicates and containers whose name the spec lacks.
	extras []state.Container
	// all is every container of the app, sorted by ID then runtime ID.
	all []state.Container
	// hashes holds SpecHash of each container of the spec, by name,
	// computed once per Step.
	hashes map[string]string
}

type world struct {
	names []string
	apps  map[string]*appView
}

// observe groups the actual containers by app and joins them with the
// desired specs, the rejections of their keys, the apps the core tracks and the
// node's statuses.
func (c *Core) observe(in Input) world {
	w := world{apps: map[string]*appView{}}
	get := func(name string) *appView {
		if app, ok := w.apps[name]; ok {
			return app
		}
		app := &appView{name: name, kept: map[string]state.Container{}}
		w.apps[name] = app
		w.names = append(w.names, name)
		return app
	}
	view := in.View
	unpinnedRefused := unpinnedRefusal(view)
	for _, spec := range view.AppsOn() {
		app := get(spec.Name)
		if spec.Node == "" && unpinnedRefused != "" {
			// Refused like a spec that fails validation: whatever runs
			// of it is held as it is, and nothing more is started.
			app.rejected = &state.SpecRejection{Key: state.Keys.App("", spec.Name), Revision: view.AppRevisions[spec.Name], Error: unpinnedRefused}
			continue
		}
		app.spec = &spec
		app.specRevision = view.AppRevisions[spec.Name]
	}
	for _, name := range state.SortedKeys(view.Rejections) {
		rejected := view.Rejections[name]
		get(name).rejected = &rejected
	}
	for _, container := range sortedContainers(in.Containers) {
		app := get(appOf(container))
		app.all = append(app.all, container)
	}
	for _, name := range state.SortedKeys(c.apps) {
		get(name)
	}
	for _, name := range state.SortedKeys(view.Statuses) {
		get(name)
	}
	sort.Strings(w.names)
	for _, name := range w.names {
		w.apps[name].pickKept()
	}
	return w
}

func appOf(container state.Container) string {
	if container.App != "" {
		return container.App
	}
	app, _, _ := strings.Cut(container.ID, "/")
	return app
}

func nameOf(container state.Container) string {
	if container.Name != "" {
		return container.Name
	}
	_, name, _ := strings.Cut(container.ID, "/")
	return name
}

func sortedContainers(containers []state.Container) []state.Container {
	sorted := append([]state.Container(nil), containers...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].ID != sorted[j].ID {
			return sorted[i].ID < sorted[j].ID
		}
		return sorted[i].RuntimeID < sorted[j].RuntimeID
	})
	return sorted
}

// pickKept chooses one container per spec name; the rest are extras. Of two
// containers with one ID, the one that runs the desired spec wins, so that
// removing the extra never interrupts the good one.
func (app *appView) pickKept() {
	app.hashes = map[string]string{}
	if app.spec != nil {
		for _, spec := range app.spec.Containers {
			app.hashes[spec.Name] = SpecHash(spec)
		}
	}
	for _, container := range app.all {
		name := nameOf(container)
		want, inSpec := app.hashes[name]
		if app.spec != nil && !inSpec {
			app.extras = append(app.extras, container)
			continue
		}
		current, seen := app.kept[name]
		if !seen {
			app.kept[name] = container
			continue
		}
		if keepScore(container, want) > keepScore(current, want) {
			app.kept[name] = container
			current, container = container, current
		}
		app.extras = append(app.extras, container)
	}
	sortedByRuntime := app.extras
	sort.SliceStable(sortedByRuntime, func(i, j int) bool { return sortedByRuntime[i].RuntimeID < sortedByRuntime[j].RuntimeID })
}

func keepScore(container state.Container, wantHash string) int {
	score := 0
	if container.Running {
		score += 2
	}
	if container.SpecHash == wantHash {
		score++
	}
	return score
}

// duplicated reports container IDs the runtime lists more than once. Their
// settings cannot be read unambiguously until the extras are gone.
func duplicated(containers []state.Container) map[string]bool {
	count := map[string]int{}
	for _, container := range containers {
		count[container.ID]++
	}
	dups := map[string]bool{}
	for id, n := range count {
		if n > 1 {
			dups[id] = true
		}
	}
	return dups
}

// errUnpinned is why an app that names no node runs nowhere once more than
// one node is registered: such an app means "the only node there is". sluice
// does not schedule; every node reports the refusal in its own status, and
// the operator pins the app. The text names no nodes, so that a node coming
// or going rewrites no status.
const errUnpinned = `the app names no node and more than one node is registered: sluice does not schedule, so pin the app to one with "node" in its spec`

// unpinnedRefusal is errUnpinned when the view's store has more than one
// node registered, or empty when an unpinned app may run here.
func unpinnedRefusal(view *state.View) string {
	if len(view.Nodes) <= 1 {
		return ""
	}
	return errUnpinned
}
