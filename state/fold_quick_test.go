package state_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"
	"time"

	"github.com/sluice-io/sluice/state"
)

// The fold is checked against a naive reference that sees the whole script
// at once: per key it looks only at the last accepted event, and for facts
// walks back to the last value that decodes. The fold gets there one event
// at a time, which is where bugs hide.

// candidate is a value the script may put, with what it must fold to: want
// is the decoded value, or nil for a value the fold must reject.
type candidate struct {
	raw  string
	want any
}

// The view is node a's: b's keys must be skipped, a's pinned web must win
// over the unpinned one.
const quickNode = "a"

var quickKeys = []string{
	state.Keys.Node("a"),
	state.Keys.Node("b"),
	state.Keys.App("", "web"),
	state.Keys.App("a", "web"),
	state.Keys.App("", "db"),
	state.Keys.App("b", "db"),
	state.Keys.Observation("a"),
	state.Keys.Observation("b"),
	state.Keys.Status("a", "web"),
	state.Keys.Policy("shield.rego"),
	"/sluice/elsewhere/x",
}

// otherNodesKeys are the keys of quickKeys that belong to another node.
var otherNodesKeys = map[string]bool{state.Keys.App("b", "db"): true, state.Keys.Observation("b"): true}

func candidatesFor(key string) []candidate {
	ref := state.ParseKey(key)
	broken := []candidate{{raw: `{"name":`}, {raw: `{"name":"x","bogus":1}`}, {raw: `null`}, {raw: `[]`}}
	var good []any
	switch ref.Kind {
	case state.KindNode:
		for cpus := 1; cpus <= 3; cpus++ {
			good = append(good, state.NodeInfo{Name: ref.Name, Capacity: state.Capacity{CPUs: cpus}})
		}
	case state.KindObservation:
		for i := 1; i <= 3; i++ {
			good = append(good, state.Observation{Node: ref.Node, Time: time.Unix(int64(i), 0).UTC(), IntervalSeconds: float64(i)})
		}
	case state.KindStatus:
		for _, phase := range []state.Phase{state.Pending, state.Ready, state.Failed} {
			good = append(good, state.AppStatus{App: ref.Name, Node: ref.Node, Phase: phase})
		}
	case state.KindApp:
		return appCandidates(ref, broken)
	default:
		// Policies are kept as they are and other keys are skipped, so any
		// bytes are fine; want is the raw value.
		return []candidate{{raw: "package a", want: "package a"}, {raw: "{not json", want: "{not json"}}
	}
	return append(broken, goodCandidates(good, good)...)
}

// appCandidates are specs for an app key. A pinned spec may leave its node
// out and takes the key's; an unpinned one must name none.
func appCandidates(ref state.KeyRef, broken []candidate) []candidate {
	spec := func(image, node string) state.AppSpec {
		return state.AppSpec{Name: ref.Name, Node: node, Containers: []state.ContainerSpec{
			{Name: "c", Image: image, Class: state.BestEffort},
		}}
	}
	var written, folded []any
	for i := 1; i <= 3; i++ {
		image := fmt.Sprintf("img%d", i)
		node := ref.Node
		if i == 1 {
			node = ""
		}
		written = append(written, spec(image, node))
		folded = append(folded, spec(image, ref.Node))
	}
	otherNode := "z"
	if ref.Node == "" {
		otherNode = quickNode
	}
	broken = append(broken,
		candidate{raw: `{"name":"` + ref.Name + `","containers":[]}`},
		candidate{raw: `{"name":"other","containers":[{"name":"c","image":"i","class":"best-effort"}]}`},
		candidate{raw: `{"name":"` + ref.Name + `","node":"` + otherNode + `","containers":[{"name":"c","image":"i","class":"best-effort"}]}`})
	return append(broken, goodCandidates(written, folded)...)
}

// goodCandidates pairs each value as written with what it folds to.
func goodCandidates(written, folded []any) []candidate {
	var cands []candidate
	for i, value := range written {
		raw, err := json.Marshal(value)
		if err != nil {
			panic(err)
		}
		cands = append(cands, candidate{raw: string(raw), want: folded[i]})
	}
	return cands
}

type scriptEvent struct {
	state.Event
	cand candidate
}

// script is a random event sequence in revision order, as a watch
// delivers it, some events sharing one revision (a Txn).
type script []scriptEvent

func (script) Generate(r *rand.Rand, size int) reflect.Value {
	var s script
	rev := int64(1)
	for range r.Intn(size + 1) {
		if r.Float64() >= 0.25 {
			rev++
		}
		key := quickKeys[r.Intn(len(quickKeys))]
		if r.Float64() < 0.15 {
			s = append(s, scriptEvent{Event: del(rev, key)})
			continue
		}
		cands := candidatesFor(key)
		c := cands[r.Intn(len(cands))]
		s = append(s, scriptEvent{Event: put(rev, key, c.raw), cand: c})
	}
	return reflect.ValueOf(s)
}

func (s script) String() string {
	var b strings.Builder
	for _, ev := range s {
		if ev.Deleted {
			fmt.Fprintf(&b, "%d delete %s\n", ev.Revision, ev.Key)
		} else {
			fmt.Fprintf(&b, "%d put %s %s\n", ev.Revision, ev.Key, ev.Value)
		}
	}
	return b.String()
}

// referenceView is what the fold must produce, computed without the fold:
// the decoded values come from the script's candidates, not from decoding.
func referenceView(s script) (view state.View, errorKeys []string) {
	view = state.NewView(quickNode)
	for _, ev := range s {
		view.Revision = max(view.Revision, ev.Revision)
	}
	for _, key := range quickKeys {
		ref := state.ParseKey(key)
		if otherNodesKeys[key] || ref.Kind == state.KindUnknown {
			continue
		}
		var history []scriptEvent
		for _, ev := range s {
			if ev.Key == key {
				history = append(history, ev)
			}
		}
		if len(history) == 0 || history[len(history)-1].Deleted {
			continue
		}
		last := history[len(history)-1]
		switch ref.Kind {
		case state.KindPolicy:
			view.Policies[ref.Name] = []byte(last.cand.want.(string))
			continue
		case state.KindApp:
			// Apps are worked out below, once both sources are known.
		default:
			for i := len(history) - 1; i >= 0 && !history[i].Deleted; i-- {
				if want := history[i].cand.want; want != nil {
					setFact(&view, ref, want)
					break
				}
			}
		}
		if last.cand.want == nil {
			errorKeys = append(errorKeys, key)
		}
	}
	for _, app := range []string{"web", "db"} {
		setReferenceApp(&view, s, app)
	}
	return view, errorKeys
}

// setReferenceApp puts the app's spec that runs on the node in the view:
// the last good one of the pinned key, else of the unpinned key, since
// each key was last deleted (a rejected value leaves the last good one).
func setReferenceApp(view *state.View, s script, app string) {
	for _, key := range []string{state.Keys.App(quickNode, app), state.Keys.App("", app)} {
		for i := len(s) - 1; i >= 0; i-- {
			if s[i].Key != key {
				continue
			}
			if s[i].Deleted {
				break
			}
			if want := s[i].cand.want; want != nil {
				view.Apps[app] = want.(state.AppSpec)
				view.AppRevisions[app] = s[i].Revision
				return
			}
		}
	}
}

func setFact(view *state.View, ref state.KeyRef, value any) {
	switch ref.Kind {
	case state.KindNode:
		view.Nodes[ref.Name] = value.(state.NodeInfo)
	case state.KindObservation:
		view.Observations[ref.Node] = value.(state.Observation)
	case state.KindStatus:
		view.Statuses[ref.Name] = value.(state.AppStatus)
	}
}

// exported is what a reader sees of a view.
func exported(v state.View) []any {
	return []any{v.Node, v.Revision, v.Nodes, v.Apps, v.AppRevisions, v.Observations, v.Decisions,
		v.PolicyErrors, v.Statuses, v.Policies, v.Cluster}
}

func TestFoldMatchesReference(t *testing.T) {
	check := func(s script) bool {
		events := make([]state.Event, len(s))
		for i, ev := range s {
			events[i] = ev.Event
		}
		got := state.Fold(quickNode, events...)
		want, wantErrorKeys := referenceView(s)
		gotErrorKeys := state.SortedKeys(got.Errors)
		for _, key := range gotErrorKeys {
			if !strings.Contains(got.Errors[key], key) {
				t.Logf("error %q does not name its key %s", got.Errors[key], key)
				return false
			}
		}
		want.Errors = got.Errors
		if !reflect.DeepEqual(exported(got), exported(want)) || strings.Join(gotErrorKeys, " ") != strings.Join(sortedCopy(wantErrorKeys), " ") {
			t.Logf("script:\n%s\nfold:      %+v\nerrors on %v\nreference: %+v\nerrors on %v", s, got, gotErrorKeys, want, wantErrorKeys)
			return false
		}
		return true
	}
	cfg := &quick.Config{MaxCount: 500, Rand: rand.New(rand.NewSource(1))}
	if err := quick.Check(check, cfg); err != nil {
		// quick's own message repeats the input as Go syntax; the script
		// logged above is the readable form.
		var failed *quick.CheckError
		if errors.As(err, &failed) {
			t.Fatalf("fold and reference differ on case %d", failed.Count)
		}
		t.Fatal(err)
	}
}

func sortedCopy(keys []string) []string {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return state.SortedKeys(m)
}
