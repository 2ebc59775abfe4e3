package reconciler_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/reconciler/fake"
	"github.com/sluice-io/sluice/state"
)

// TestRunnerReportsEachActionDone checks the hook the agent times its loop
// with: one call per action carried out, in order, with the view the pass
// acted on, and none for an action that failed.
func TestRunnerReportsEachActionDone(t *testing.T) {
	store := state.NewMemoryStore()
	runtime := fake.NewRuntime()
	var done []string
	var revisions []int64
	runner := reconciler.NewRunner(reconciler.RunnerConfig{
		Node: "n1", Store: store, Runtime: runtime,
		CPU: fake.NewCPU(runtime), Clock: &manualClock{now: scriptStart},
		ActionDone: func(action reconciler.Action, view *state.View) {
			done = append(done, string(action.Kind)+" "+action.ContainerID)
			revisions = append(revisions, view.Revision)
		},
	})
	put(t, store, state.Keys.App("", "web"), webSpec)
	ctx := context.Background()
	if err := runner.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := runner.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(done, ", "), "create web/api, create web/hog"; got != want {
		t.Fatalf("actions reported done: %s\nwant %s", got, want)
	}

	done, revisions = nil, nil
	put(t, store, state.Keys.Decision("n1"), `{"node":"n1","revision":1,"containers":{"web/hog":{"cpu_quota_cores":0.25}}}`)
	if err := runner.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := runner.ReconcileOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(done, ", "), "set-cpu web/hog"; got != want {
		t.Fatalf("actions reported done after a decision: %s\nwant %s", got, want)
	}
	for _, rev := range revisions {
		if rev != runner.Revision() {
			t.Fatalf("hook saw the view at revision %d, the pass acted on %d", rev, runner.Revision())
		}
	}

	done = nil
	runtime.Fail("create", "batch/job", errors.New("engine says no"), 1)
	put(t, store, state.Keys.App("", "batch"), batchSpec)
	if err := runner.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	_ = runner.ReconcileOnce(ctx)
	for _, d := range done {
		if strings.HasPrefix(d, "create batch/") {
			t.Fatalf("a failed create was reported done: %v", done)
		}
	}
}

// TestRunnerReportsFailuresAndTransitions checks the hooks the agent counts
// its metrics with: a refused action is reported with its error, and each
// status written is reported as the transition it records.
func TestRunnerReportsFailuresAndTransitions(t *testing.T) {
	store := state.NewMemoryStore()
	runtime := fake.NewRuntime()
	var failed, transitions []string
	runner := reconciler.NewRunner(reconciler.RunnerConfig{
		Node: "n1", Store: store, Runtime: runtime, Clock: &manualClock{now: scriptStart},
		ActionFailed: func(action reconciler.Action, err error) {
			failed = append(failed, string(action.Kind)+" "+action.ContainerID+": "+err.Error())
		},
		Transitioned: func(status state.AppStatus) {
			transitions = append(transitions, status.App+" "+string(status.Transition.From)+" -> "+string(status.Transition.To))
		},
	})
	runtime.Fail("create", "batch/job", errors.New("engine says no"), 1)
	put(t, store, state.Keys.App("", "batch"), batchSpec)
	ctx := context.Background()
	if err := runner.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	_ = runner.ReconcileOnce(ctx)
	if len(failed) != 1 || !strings.Contains(failed[0], "create batch/job") || !strings.Contains(failed[0], "engine says no") {
		t.Fatalf("failures reported: %q, want the refused create of batch/job", failed)
	}
	if len(transitions) == 0 || !strings.HasPrefix(transitions[0], "batch ") {
		t.Fatalf("transitions reported: %q, want batch's first", transitions)
	}
}
