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

var quickKeys = []string{
	state.Keys.Node("a"),
	state.Keys.Node("b"),
	state.Keys.App("web"),
	state.Keys.App("db"),
	state.Keys.Observation("a"),
	state.Keys.Policy("shield.rego"),
	"/sluice/elsewhere/x",
}

func candidatesFor(key string) []candidate {
	kind, name := state.ParseKey(key)
	broken := []candidate{{raw: `{"name":`}, {raw: `{"name":"x","bogus":1}`}, {raw: `null`}, {raw: `[]`}}
	var good []any
	switch kind {
	case state.KindNode:
		for cpus := 1; cpus <= 3; cpus++ {
			good = append(good, state.NodeInfo{Name: name, Capacity: state.Capacity{CPUs: cpus}})
		}
	case state.KindObservation:
		for i := 1; i <= 3; i++ {
			good = append(good, state.Observation{Node: name, Time: time.Unix(int64(i), 0).UTC(), IntervalSeconds: float64(i)})
		}
	case state.KindApp:
		for i := 1; i <= 3; i++ {
			good = append(good, state.AppSpec{Name: name, Containers: []state.ContainerSpec{
				{Name: "c", Image: fmt.Sprintf("img%d", i), Class: state.BestEffort},
			}})
		}
		broken = append(broken,
			candidate{raw: `{"name":"` + name + `","containers":[]}`},
			candidate{raw: `{"name":"other","containers":[{"name":"c","image":"i","class":"best-effort"}]}`})
	default:
		// Policies are kept as they are and other keys are skipped, so any
		// bytes are fine; want is the raw value.
		return []candidate{{raw: "package a", want: "package a"}, {raw: "{not json", want: "{not json"}}
	}
	cands := broken
	for _, value := range good {
		raw, err := json.Marshal(value)
		if err != nil {
			panic(err)
		}
		cands = append(cands, candidate{raw: string(raw), want: value})
	}
	return cands
}

type scriptEvent struct {
	state.Event
	cand candidate
}

// script is a random event sequence: mostly rising revisions, some events
// sharing one (a Txn), some older than the last (a re-delivery).
type script []scriptEvent

func (script) Generate(r *rand.Rand, size int) reflect.Value {
	var s script
	rev := int64(1)
	for range r.Intn(size + 1) {
		switch p := r.Float64(); {
		case p < 0.1 && rev > 2:
			rev -= 1 + r.Int63n(2)
		case p < 0.25:
		default:
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
	view = state.NewView()
	var accepted []scriptEvent
	for _, ev := range s {
		if ev.Revision >= view.Revision {
			accepted = append(accepted, ev)
			view.Revision = ev.Revision
		}
	}
	for _, key := range quickKeys {
		var history []scriptEvent
		for _, ev := range accepted {
			if ev.Key == key {
				history = append(history, ev)
			}
		}
		if len(history) == 0 || history[len(history)-1].Deleted {
			continue
		}
		last := history[len(history)-1]
		kind, name := state.ParseKey(key)
		switch kind {
		case state.KindPolicy:
			view.Policies[name] = []byte(last.cand.want.(string))
			continue
		case state.KindUnknown:
			continue
		case state.KindApp:
			if last.cand.want != nil {
				view.Apps[name] = last.cand.want.(state.AppSpec)
				view.AppRevisions[name] = last.Revision
			}
		default:
			for i := len(history) - 1; i >= 0 && !history[i].Deleted; i-- {
				if want := history[i].cand.want; want != nil {
					setFact(&view, kind, name, want)
					break
				}
			}
		}
		if last.cand.want == nil {
			errorKeys = append(errorKeys, key)
		}
	}
	return view, errorKeys
}

func setFact(view *state.View, kind state.Kind, name string, value any) {
	switch kind {
	case state.KindNode:
		view.Nodes[name] = value.(state.NodeInfo)
	case state.KindObservation:
		view.Observations[name] = value.(state.Observation)
	}
}

func TestFoldMatchesReference(t *testing.T) {
	check := func(s script) bool {
		events := make([]state.Event, len(s))
		for i, ev := range s {
			events[i] = ev.Event
		}
		got := state.Fold(events...)
		want, wantErrorKeys := referenceView(s)
		gotErrorKeys := state.SortedKeys(got.Errors)
		for _, key := range gotErrorKeys {
			if !strings.Contains(got.Errors[key], key) {
				t.Logf("error %q does not name its key %s", got.Errors[key], key)
				return false
			}
		}
		want.Errors = got.Errors
		if !reflect.DeepEqual(got, want) || strings.Join(gotErrorKeys, " ") != strings.Join(sortedCopy(wantErrorKeys), " ") {
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
