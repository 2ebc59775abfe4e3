package policies

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// step runs Step and checks it did not fail.
func step(t *testing.T, engine *Engine, view *state.View) []state.Op {
	t.Helper()
	ops, _, err := Step(context.Background(), engine, view, testNode)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// firstDecision is what the engine decides on the contended view, as the
// log holds it.
func firstDecision(t *testing.T, engine *Engine) state.Decision {
	t.Helper()
	ops := step(t, engine, contendedView())
	if len(ops) != 1 || ops[0].Key != state.Keys.Decision(testNode) || ops[0].Delete {
		t.Fatalf("first step = %s, want one put of %s", describeOps(ops), state.Keys.Decision(testNode))
	}
	var d state.Decision
	if err := json.Unmarshal(ops[0].Value, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// fixedEngine decides the same whatever its input: the hog at 0.3 cores.
// (The shield carries state that moves from tick to tick.)
func fixedEngine(t *testing.T) *Engine {
	t.Helper()
	engine, err := compileFiles(t, map[string]string{"p.rego": policyWithQuota("300")})
	if err != nil {
		t.Fatal(err)
	}
	return engine
}

// A decision that asks for what the previous one asked for is not written,
// whatever its time, revision and reasons; one that asks for anything else
// is.
func TestStepWritesADecisionOnlyWhenItChanges(t *testing.T) {
	engine := fixedEngine(t)
	decided := firstDecision(t, engine)
	if len(decided.Containers) == 0 {
		t.Fatalf("the decision %+v sets nothing: the test needs one that does", decided)
	}
	later := func(previous state.Decision) *state.View {
		view := contendedView()
		view.Revision += 10
		view.Decisions[testNode] = previous
		return view
	}
	stale := decided
	stale.Revision, stale.Time = 7, testTime.Add(-time.Hour)
	stale.Reasons = []state.Reason{{Rule: "old", Message: "an older reason"}}
	if ops := step(t, engine, later(stale)); len(ops) != 0 {
		t.Fatalf("step on an unchanged decision = %s, want no write", describeOps(ops))
	}

	changes := map[string]func(d *state.Decision){
		"a container's quota": func(d *state.Decision) {
			for id, c := range d.Containers {
				c.CPUQuotaCores = ptr(0.123)
				d.Containers[id] = c
				return
			}
		},
		"one container more": func(d *state.Decision) {
			d.Containers["shop/other"] = state.ContainerDecision{CPUShares: ptr(uint64(2))}
		},
		"the carry":  func(d *state.Decision) { d.Carry = map[string]any{"x": 1.0} },
		"the bundle": func(d *state.Decision) { d.BundleDigest = "sha256:other" },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			previous := cloneDecision(t, decided)
			change(&previous)
			ops := step(t, engine, later(previous))
			if len(ops) != 1 || ops[0].Key != state.Keys.Decision(testNode) || ops[0].Delete {
				t.Fatalf("step after a change of %s = %s, want one put of the decision", name, describeOps(ops))
			}
		})
	}
}

func cloneDecision(t *testing.T, d state.Decision) state.Decision {
	t.Helper()
	data, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var clone state.Decision
	if err := json.Unmarshal(data, &clone); err != nil {
		t.Fatal(err)
	}
	return clone
}

// A good decision ends a policy failure: the node's PolicyError goes, in
// the same writes, whether or not the decision itself changed.
func TestStepClearsThePolicyErrorAfterAGoodDecision(t *testing.T) {
	engine := fixedEngine(t)
	decided := firstDecision(t, engine)
	failed := state.PolicyError{Node: testNode, Stage: StageEval, Error: "boom"}
	deleteError := state.Delete(state.Keys.PolicyError(testNode))

	view := contendedView()
	view.PolicyErrors[testNode] = failed
	ops := step(t, engine, view)
	if len(ops) != 2 || ops[0].Key != state.Keys.Decision(testNode) || !reflect.DeepEqual(ops[1], deleteError) {
		t.Fatalf("step with a policy error and no decision = %s, want the decision and the error's delete", describeOps(ops))
	}

	view = contendedView()
	view.Decisions[testNode] = decided
	view.PolicyErrors[testNode] = failed
	if ops := step(t, engine, view); !reflect.DeepEqual(ops, []state.Op{deleteError}) {
		t.Fatalf("step with a policy error and an unchanged decision = %s, want the error's delete alone", describeOps(ops))
	}
}

// A failing policy writes its PolicyError and leaves the decision in force
// alone.
func TestStepRecordsAFailingPolicy(t *testing.T) {
	engine, err := compileFiles(t, map[string]string{"p.rego": "package sluice.shield\n\ndecision := [1]\n"})
	if err != nil {
		t.Fatal(err)
	}
	view := contendedView()
	view.Decisions[testNode] = state.Decision{Node: testNode}
	ops := step(t, engine, view)
	if len(ops) != 1 || ops[0].Key != state.Keys.PolicyError(testNode) || ops[0].Delete {
		t.Fatalf("step on a failing policy = %s, want one put of %s", describeOps(ops), state.Keys.PolicyError(testNode))
	}
	var recorded state.PolicyError
	if err := json.Unmarshal(ops[0].Value, &recorded); err != nil {
		t.Fatal(err)
	}
	if recorded.Stage != StageValidate || recorded.Revision != view.Revision || !recorded.Time.Equal(testTime) {
		t.Fatalf("recorded %+v, want the validate stage at the view's revision %d and time", recorded, view.Revision)
	}
}

func TestStepWithoutObservationWritesNothing(t *testing.T) {
	view := contendedView()
	delete(view.Observations, testNode)
	if ops := step(t, defaultEngine(t), view); len(ops) != 0 {
		t.Fatalf("step without an observation = %s, want nothing", describeOps(ops))
	}
}

// A decision read back from the log carries float64 numbers where a fresh
// one may hold other types: the same carry is no change.
func TestChangedComparesTheCarryAsTheLogHoldsIt(t *testing.T) {
	fresh := state.Decision{Carry: map[string]any{"n": 3, "nested": map[string]any{"f": float32(0.5)}}}
	logged := state.Decision{Carry: map[string]any{"n": 3.0, "nested": map[string]any{"f": 0.5}}}
	if Changed(logged, fresh) {
		t.Fatal("the same carry in other Go types counts as a change")
	}
	if !Changed(logged, state.Decision{Carry: map[string]any{"n": 4}}) {
		t.Fatal("another carry does not count as a change")
	}
	if Changed(state.Decision{}, state.Decision{Carry: map[string]any{}}) {
		t.Fatal("no carry and an empty carry count as a change")
	}
}

func describeOps(ops []state.Op) string {
	parts := make([]string, len(ops))
	for i, op := range ops {
		if op.Delete {
			parts[i] = "delete " + op.Key
		} else {
			parts[i] = "put " + op.Key + "=" + string(op.Value)
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
