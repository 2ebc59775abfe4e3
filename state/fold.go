package state

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// View is the state of the world as of Revision: the fold of every event up
// to it. Maps are keyed by name; iterate them through SortedKeys where order
// can be observed.
type View struct {
	Revision int64               `json:"revision"`
	Nodes    map[string]NodeInfo `json:"nodes"`
	Apps     map[string]AppSpec  `json:"apps"`
	// AppRevisions holds the revision of each app's current spec.
	AppRevisions map[string]int64       `json:"app_revisions"`
	Observations map[string]Observation `json:"observations"`
	Decisions    map[string]Decision    `json:"decisions"`
	Statuses     map[string]AppStatus   `json:"statuses"`
	PolicyErrors map[string]PolicyError `json:"policy_errors"`
	// Policies holds policy files stored under PoliciesPrefix, by file name.
	Policies map[string][]byte `json:"policies"`
	// Errors holds, per key, why its latest value was rejected. The last good
	// value of the key stays in the maps above (for apps: none, since a
	// malformed spec must not run).
	Errors map[string]string `json:"errors"`
}

// NewView returns the empty view at revision 0.
func NewView() View {
	return View{
		Nodes:        map[string]NodeInfo{},
		Apps:         map[string]AppSpec{},
		AppRevisions: map[string]int64{},
		Observations: map[string]Observation{},
		Decisions:    map[string]Decision{},
		Statuses:     map[string]AppStatus{},
		PolicyErrors: map[string]PolicyError{},
		Policies:     map[string][]byte{},
		Errors:       map[string]string{},
	}
}

// Fold applies events in order to a new view.
func Fold(events ...Event) View {
	v := NewView()
	for _, ev := range events {
		v.Apply(ev)
	}
	return v
}

// Apply folds one event into the view. Events must come in revision order;
// one older than the view's revision is ignored, which makes re-delivery
// after a reconnect harmless.
func (v *View) Apply(ev Event) {
	if ev.Revision < v.Revision {
		return
	}
	v.Revision = ev.Revision
	kind, name := ParseKey(ev.Key)
	if ev.Deleted {
		v.remove(kind, name)
		delete(v.Errors, ev.Key)
		return
	}
	if err := v.put(kind, name, ev); err != nil {
		v.Errors[ev.Key] = err.Error()
		return
	}
	delete(v.Errors, ev.Key)
}

func (v *View) remove(kind Kind, name string) {
	switch kind {
	case KindNode:
		delete(v.Nodes, name)
	case KindApp:
		delete(v.Apps, name)
		delete(v.AppRevisions, name)
	case KindObservation:
		delete(v.Observations, name)
	case KindDecision:
		delete(v.Decisions, name)
	case KindStatus:
		delete(v.Statuses, name)
	case KindPolicyError:
		delete(v.PolicyErrors, name)
	case KindPolicy:
		delete(v.Policies, name)
	}
}

func (v *View) put(kind Kind, name string, ev Event) error {
	switch kind {
	case KindNode:
		return decodeInto(ev, v.Nodes, name)
	case KindApp:
		return v.putApp(name, ev)
	case KindObservation:
		return decodeInto(ev, v.Observations, name)
	case KindDecision:
		return decodeInto(ev, v.Decisions, name)
	case KindStatus:
		return decodeInto(ev, v.Statuses, name)
	case KindPolicyError:
		return decodeInto(ev, v.PolicyErrors, name)
	case KindPolicy:
		v.Policies[name] = append([]byte(nil), ev.Value...)
	}
	return nil
}

// putApp accepts only specs that decode and validate; a rejected spec
// removes the app's previous spec too, so the reconciler stops running an
// app whose intent it can no longer read, instead of running a stale one.
func (v *View) putApp(name string, ev Event) error {
	var spec AppSpec
	err := decodeStrict(ev.Value, &spec)
	if err == nil {
		err = spec.Validate()
	}
	if err == nil && spec.Name != name {
		err = fmt.Errorf("name %q does not match the key's %q", spec.Name, name)
	}
	if err != nil {
		delete(v.Apps, name)
		delete(v.AppRevisions, name)
		return fmt.Errorf("app spec at %s (revision %d): %w", ev.Key, ev.Revision, err)
	}
	v.Apps[name] = spec
	v.AppRevisions[name] = ev.Revision
	return nil
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

// AppsOn returns the specs of the apps that run on node, sorted by name. An
// app without a node runs on every node that asks, which on a single-node
// setup is the node.
func (v *View) AppsOn(node string) []AppSpec {
	var apps []AppSpec
	for _, name := range SortedKeys(v.Apps) {
		if app := v.Apps[name]; app.Node == "" || app.Node == node {
			apps = append(apps, app)
		}
	}
	return apps
}
