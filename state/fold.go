package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"sort"
	"unicode/utf8"
)

// View is one node's state of the world as of Revision: the fold of every
// event of the node's own keys (NodeScope) and of the cluster keys up to it.
// Other nodes' keys are skipped, so a view is as large as its node, not as
// the cluster. Maps are keyed by name; iterate them through SortedKeys where
// order can be observed.
//
// A View handed out by a Follower is shared: treat it as read-only. Apply
// on a shared view copies each map it changes first (copy on write), so a
// reader holding the old view never sees it move.
type View struct {
	// Node is the node the view is for.
	Node     string              `json:"node"`
	Revision int64               `json:"revision"`
	Nodes    map[string]NodeInfo `json:"nodes"`
	// Apps holds the specs of the apps that run on Node: those pinned to it
	// and the unpinned ones whose name no pinned app of the node takes.
	Apps map[string]AppSpec `json:"apps"`
	// AppRevisions holds the revision of each app's current spec.
	AppRevisions map[string]int64 `json:"app_revisions"`
	// Rejections holds, by app, why the latest value of the app's spec key
	// was refused. The app's last good spec, if the view saw one, stays in
	// Apps: a bad edit leaves the running app as it was (fail static).
	Rejections map[string]SpecRejection `json:"rejections"`
	// Observations, Decisions and PolicyErrors hold Node's, keyed by node.
	Observations map[string]Observation `json:"observations"`
	Decisions    map[string]Decision    `json:"decisions"`
	PolicyErrors map[string]PolicyError `json:"policy_errors"`
	// Statuses holds the lifecycle of Node's apps, by app.
	Statuses map[string]AppStatus `json:"statuses"`
	// StatusRevisions holds the revision of each status, for a writer that
	// must not overwrite a status it has not seen (state.Store.PutIf).
	StatusRevisions map[string]int64 `json:"status_revisions"`
	// Policies holds policy files stored under PoliciesPrefix, by file name.
	Policies map[string][]byte `json:"policies"`
	// Cluster holds the raw values under ClusterPrefix, by name.
	Cluster map[string][]byte `json:"cluster"`
	// Claim is Node's claim (Keys.Claim), if an operator made one. Like a
	// spec it is intent: a malformed claim claims nothing. Never changed in
	// place: Apply replaces it.
	Claim *NodeClaim `json:"claim,omitempty"`
	// Errors holds, per key, why its latest value was rejected. The last good
	// value of the key stays in the maps above.
	Errors map[string]string `json:"errors"`
	// capacity is what Node registered last (kept when the registration
	// lapses): the fold holds specs to it (AppSpec.ValidateFor).
	capacity Capacity

	// pinned and unpinned are the two sources of Apps.
	pinned, unpinned map[string]appEntry
	// owned marks the maps this value may change in place; the others are
	// shared with another View and copied before a change.
	owned viewMaps
}

// appEntry is one spec key of an app: its last good spec (if good), the
// rejection of its latest value (if any), and that value, to check again
// when the node's capacity changes.
type appEntry struct {
	spec     AppSpec
	revision int64
	good     bool
	rejected *SpecRejection
	latest   Event
}

// viewMaps is a set of a View's maps, one bit each.
type viewMaps uint16

const (
	mapNodes viewMaps = 1 << iota
	mapApps
	mapObservations
	mapDecisions
	mapPolicyErrors
	mapStatuses
	mapPolicies
	mapCluster
	mapErrors
	allMaps viewMaps = 1<<iota - 1
)

// NewView returns the empty view of node at revision 0.
func NewView(node string) View {
	return View{
		Node:            node,
		Nodes:           map[string]NodeInfo{},
		Apps:            map[string]AppSpec{},
		AppRevisions:    map[string]int64{},
		Rejections:      map[string]SpecRejection{},
		Observations:    map[string]Observation{},
		Decisions:       map[string]Decision{},
		PolicyErrors:    map[string]PolicyError{},
		Statuses:        map[string]AppStatus{},
		StatusRevisions: map[string]int64{},
		Policies:        map[string][]byte{},
		Cluster:         map[string][]byte{},
		Errors:          map[string]string{},
		pinned:          map[string]appEntry{},
		unpinned:        map[string]appEntry{},
		owned:           allMaps,
	}
}

// Fold applies events in order to a new view of node.
func Fold(node string, events ...Event) View {
	v := NewView(node)
	for _, ev := range events {
		v.Apply(ev)
	}
	return v
}

// Share gives up the view's ownership of its maps and returns a copy that
// shares them: from now on neither changes a map in place.
func (v *View) Share() *View {
	v.owned = 0
	shared := *v
	return &shared
}

// own makes the maps in set safe to change in place, copying the shared ones.
func (v *View) own(set viewMaps) {
	copies := set &^ v.owned
	if copies == 0 {
		return
	}
	cloneIf(copies, mapNodes, &v.Nodes)
	if copies&mapApps != 0 {
		v.Apps, v.AppRevisions, v.Rejections = maps.Clone(v.Apps), maps.Clone(v.AppRevisions), maps.Clone(v.Rejections)
		v.pinned, v.unpinned = maps.Clone(v.pinned), maps.Clone(v.unpinned)
	}
	cloneIf(copies, mapObservations, &v.Observations)
	cloneIf(copies, mapDecisions, &v.Decisions)
	cloneIf(copies, mapPolicyErrors, &v.PolicyErrors)
	cloneIf(copies, mapStatuses, &v.Statuses)
	cloneIf(copies, mapStatuses, &v.StatusRevisions)
	cloneIf(copies, mapPolicies, &v.Policies)
	cloneIf(copies, mapCluster, &v.Cluster)
	cloneIf(copies, mapErrors, &v.Errors)
	v.owned |= copies
}

func cloneIf[T any](copies, which viewMaps, m *map[string]T) {
	if copies&which != 0 {
		*m = maps.Clone(*m)
	}
}

// relevant reports whether a key belongs in node's view: the node's own
// keys and the cluster keys.
func relevant(node string, key string) bool {
	ref := ParseKey(key)
	switch ref.Kind {
	case KindUnknown:
		return false
	case KindNode, KindPolicy, KindCluster:
		return true
	}
	return ref.Node == node || (ref.Kind == KindApp && ref.Node == "")
}

// Apply folds one event into the view; events of other nodes' keys are
// skipped. The view's revision becomes the newest it has seen. Events of
// one key must come in revision order, as a watch delivers them.
func (v *View) Apply(ev Event) {
	v.Revision = max(v.Revision, ev.Revision)
	if !relevant(v.Node, ev.Key) {
		return
	}
	ref := ParseKey(ev.Key)
	v.own(mapErrors)
	if ev.Deleted {
		v.remove(ref)
		delete(v.Errors, ev.Key)
		return
	}
	if err := v.put(ref, ev); err != nil {
		v.Errors[ev.Key] = err.Error()
		return
	}
	delete(v.Errors, ev.Key)
}

func (v *View) remove(ref KeyRef) {
	switch ref.Kind {
	case KindNode:
		v.own(mapNodes)
		delete(v.Nodes, ref.Name)
	case KindApp:
		v.setApp(ref, nil)
	case KindObservation:
		v.own(mapObservations)
		delete(v.Observations, ref.Node)
	case KindDecision:
		v.own(mapDecisions)
		delete(v.Decisions, ref.Node)
	case KindStatus:
		v.own(mapStatuses)
		delete(v.Statuses, ref.Name)
		delete(v.StatusRevisions, ref.Name)
	case KindPolicyError:
		v.own(mapPolicyErrors)
		delete(v.PolicyErrors, ref.Node)
	case KindPolicy:
		v.own(mapPolicies)
		delete(v.Policies, ref.Name)
	case KindCluster:
		v.own(mapCluster)
		delete(v.Cluster, ref.Name)
	case KindClaim:
		v.Claim = nil
	}
}

func (v *View) put(ref KeyRef, ev Event) error {
	switch ref.Kind {
	case KindNode:
		v.own(mapNodes)
		if err := decodeInto(ev, v.Nodes, ref.Name); err != nil {
			return err
		}
		if capacity := v.Nodes[ref.Name].Capacity; ref.Name == v.Node && capacity != v.capacity {
			v.capacity = capacity
			v.recheckApps()
		}
	case KindApp:
		return v.putApp(ref, ev)
	case KindObservation:
		v.own(mapObservations)
		return decodeInto(ev, v.Observations, ref.Node)
	case KindDecision:
		v.own(mapDecisions)
		return decodeInto(ev, v.Decisions, ref.Node)
	case KindStatus:
		v.own(mapStatuses)
		// The revision is the key's even when its value is malformed: a
		// guarded write may replace what it has seen, whatever it was.
		v.StatusRevisions[ref.Name] = ev.Revision
		return decodeInto(ev, v.Statuses, ref.Name)
	case KindPolicyError:
		v.own(mapPolicyErrors)
		return decodeInto(ev, v.PolicyErrors, ref.Node)
	case KindPolicy:
		v.own(mapPolicies)
		v.Policies[ref.Name] = append([]byte(nil), ev.Value...)
	case KindCluster:
		v.own(mapCluster)
		v.Cluster[ref.Name] = append([]byte(nil), ev.Value...)
	case KindClaim:
		return v.putClaim(ref, ev)
	}
	return nil
}

// putApp takes a spec that decodes and validates as the app's new one. A
// rejected spec leaves the key's last good one in force and records why,
// so a bad edit neither stops nor changes a running app.
func (v *View) putApp(ref KeyRef, ev Event) error {
	spec, err := DecodeAppSpec(ref, ev.Value, v.capacity)
	if err != nil {
		entry := v.appSource(ref)[ref.Name]
		entry.rejected = &SpecRejection{Key: ev.Key, Revision: ev.Revision, Error: err.Error()}
		entry.latest = ev
		v.setApp(ref, &entry)
		return fmt.Errorf("app spec at %s (revision %d): %w", ev.Key, ev.Revision, err)
	}
	v.setApp(ref, &appEntry{spec: spec, revision: ev.Revision, good: true, latest: ev})
	return nil
}

// recheckApps checks the latest value of every spec key again, on the
// node's new capacity: a spec the fold took before the node registered
// (while its capacity was unknown) must not stay in force if the node
// cannot give what it asks, whatever order the events came in.
func (v *View) recheckApps() {
	v.own(mapApps)
	for _, source := range []map[string]appEntry{v.pinned, v.unpinned} {
		for _, name := range SortedKeys(source) {
			entry := source[name]
			if entry.rejected == nil {
				// The spec in force is the latest value: it stays only if
				// it passes again, since what it asks the node may lack.
				entry.good = false
				source[name] = entry
			}
			latest := entry.latest
			if err := v.putApp(ParseKey(latest.Key), latest); err != nil {
				v.Errors[latest.Key] = err.Error()
			} else {
				delete(v.Errors, latest.Key)
			}
		}
	}
}

// restoreApp puts an earlier value of an app's spec key, the last good one,
// under the key's rejected latest value, which the view keeps reporting.
func (v *View) restoreApp(ref KeyRef, earlier Event) {
	entry := v.appSource(ref)[ref.Name]
	spec, err := DecodeAppSpec(ref, earlier.Value, v.capacity)
	if entry.good || entry.rejected == nil || err != nil {
		return
	}
	entry.spec, entry.revision, entry.good = spec, earlier.Revision, true
	v.setApp(ref, &entry)
}

// putClaim takes a claim that decodes and names the key's node; a rejected
// one removes the previous claim, as a rejected spec does its app.
func (v *View) putClaim(ref KeyRef, ev Event) error {
	claim, err := decodeClaim(ref, ev)
	if err != nil {
		v.Claim = nil
		return err
	}
	v.Claim = &claim
	return nil
}

// DecodeAppSpec decodes and validates (ParseAppSpec) the spec stored under
// the key ref names: its name must be the key's, and a pinned app's node
// the key's (a spec that leaves it out takes the key's).
func DecodeAppSpec(ref KeyRef, value []byte, capacity Capacity) (AppSpec, error) {
	spec, err := ParseAppSpec(value, capacity)
	if err != nil {
		return AppSpec{}, err
	}
	if spec.Name != ref.Name {
		return AppSpec{}, fmt.Errorf("name %q does not match the key's %q", spec.Name, ref.Name)
	}
	switch {
	case ref.Node == "" && spec.Node != "":
		return AppSpec{}, fmt.Errorf("node %q: an app pinned to a node goes under %s", spec.Node, Keys.App(spec.Node, spec.Name))
	case spec.Node == "":
		spec.Node = ref.Node
	case spec.Node != ref.Node:
		return AppSpec{}, fmt.Errorf("node %q does not match the key's %q", spec.Node, ref.Node)
	}
	return spec, nil
}

// ParseAppSpec decodes a spec strictly and validates it on a node of the
// given capacity (AppSpec.ValidateFor). The value is bounded and must be
// UTF-8 before it is decoded, as JSON decoding would silently turn invalid
// bytes into U+FFFD.
func ParseAppSpec(value []byte, capacity Capacity) (AppSpec, error) {
	switch {
	case len(value) > MaxSpecBytes:
		return AppSpec{}, fmt.Errorf("%d bytes, over the maximum of %d", len(value), MaxSpecBytes)
	case !utf8.Valid(value):
		return AppSpec{}, fmt.Errorf("not valid UTF-8 at byte %d", invalidUTF8At(value))
	}
	var spec AppSpec
	if err := decodeStrict(value, &spec); err != nil {
		return AppSpec{}, err
	}
	if err := spec.ValidateFor(capacity); err != nil {
		return AppSpec{}, err
	}
	return spec, nil
}

// invalidUTF8At is the offset of the first byte of value that is not part
// of valid UTF-8.
func invalidUTF8At(value []byte) int {
	for at := 0; at < len(value); {
		r, size := utf8.DecodeRune(value[at:])
		if r == utf8.RuneError && size <= 1 {
			return at
		}
		at += size
	}
	return len(value)
}

// appSource is the map of the app's spec keys that ref is in: pinned to the
// node, or unpinned.
func (v *View) appSource(ref KeyRef) map[string]appEntry {
	if ref.Node == "" {
		return v.unpinned
	}
	return v.pinned
}

// setApp sets (or with nil, removes) one spec key of an app and works out
// which spec runs and which rejection the app reports: the key pinned to
// the node wins over an unpinned one, for either; while the pinned key has
// no good spec yet, the unpinned one stays in force.
func (v *View) setApp(ref KeyRef, entry *appEntry) {
	v.own(mapApps)
	source := v.appSource(ref)
	if entry == nil {
		delete(source, ref.Name)
	} else {
		source[ref.Name] = *entry
	}
	pinned, hasPinned := v.pinned[ref.Name]
	unpinned := v.unpinned[ref.Name]
	rejected := unpinned.rejected
	if hasPinned {
		rejected = pinned.rejected
	}
	if rejected != nil {
		v.Rejections[ref.Name] = *rejected
	} else {
		delete(v.Rejections, ref.Name)
	}
	effective := unpinned
	if pinned.good {
		effective = pinned
	}
	if !effective.good {
		delete(v.Apps, ref.Name)
		delete(v.AppRevisions, ref.Name)
		return
	}
	v.Apps[ref.Name] = effective.spec
	v.AppRevisions[ref.Name] = effective.revision
}

func decodeInto[T any](ev Event, into map[string]T, name string) error {
	var value T
	if err := decodeStrict(ev.Value, &value); err != nil {
		return fmt.Errorf("%s (revision %d): %w", ev.Key, ev.Revision, err)
	}
	into[name] = value
	return nil
}

// decodeStrict rejects unknown fields: a typo in a hand-written spec
// ("cpuset " or "clas") must be an error, not a silently ignored setting. It
// also rejects an empty value, a bare null (which would decode to a zero
// value and pass for a real one) and anything after the value.
func decodeStrict(data []byte, into any) error {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return fmt.Errorf("decode JSON: the value is empty")
	case bytes.Equal(trimmed, []byte("null")):
		return fmt.Errorf("decode JSON: the value is null (delete the key instead)")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("decode JSON: %w", err)
	}
	// Token, unlike More, also sees a stray closing bracket.
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("decode JSON: trailing data after the value, which ends at byte %d", end)
	}
	return nil
}

// SortedKeys returns a map's keys in order, for iteration whose order shows.
func SortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// AppsOn returns the specs of the apps that run on the view's node, sorted
// by name.
func (v *View) AppsOn() []AppSpec {
	apps := make([]AppSpec, 0, len(v.Apps))
	for _, name := range SortedKeys(v.Apps) {
		apps = append(apps, v.Apps[name])
	}
	return apps
}
