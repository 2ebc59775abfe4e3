package docker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/actuators/docker/dockertest"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/state"
)

// resync is far longer than the tests wait for a death to show, so only
// Docker's die and oom events can explain a failure that shows in time.
const resync = time.Minute

// deathDeadline is how soon after a death the app's status must say so.
const deathDeadline = 5 * time.Second

// TestIntegrationKilledContainerFailsItsAppAtOnce kills an app's container
// with SIGKILL five times in a row, under a reconciler that resyncs only
// once a minute: each death must fail the app, with the kill's exit code,
// within seconds, carried there by the die event alone.
func TestIntegrationKilledContainerFailsItsAppAtOnce(t *testing.T) {
	rt := dockertest.Runtime(t)
	image := dockertest.Image(t, rt, docker.Sineload)
	statuses, _ := runApp(t, rt, state.AppSpec{Name: "web", Containers: []state.ContainerSpec{quietSineload(image)}})

	for kill := range 5 {
		ready := nextStatus(t, statuses, 30*time.Second, func(s state.AppStatus) bool { return s.Phase == state.Ready })
		victim := state.Container{ID: "web/server", RuntimeID: ready.Containers[0].RuntimeID}
		killed := time.Now()
		if err := rt.Kill(t.Context(), victim, "KILL"); err != nil {
			t.Fatal(err)
		}
		failed := nextStatus(t, statuses, deathDeadline, func(s state.AppStatus) bool { return s.Phase != state.Ready })
		t.Logf("kill %d: %s after %v", kill+1, failed.Phase, time.Since(killed).Round(time.Millisecond))
		if failed.Phase != state.Failed || failed.Transition.Event != reconciler.EventContainerFailed {
			t.Fatalf("kill %d: status after the kill is %s by %s, want failed by %s", kill+1, failed.Phase, failed.Transition.Event, reconciler.EventContainerFailed)
		}
		if c := failed.Containers[0]; c.RuntimeID != victim.RuntimeID || c.Running || c.ExitCode != 137 {
			t.Fatalf("kill %d: failed status shows container %+v, want %s stopped with exit code 137", kill+1, c, victim.RuntimeID)
		}
	}
}

// TestIntegrationOOMKilledContainerFailsItsAppAtOnce gives a running app a
// new spec whose container touches more memory than its limit: the kernel
// kills it and the app's status says so, OOM and all, within seconds.
func TestIntegrationOOMKilledContainerFailsItsAppAtOnce(t *testing.T) {
	rt := dockertest.Runtime(t)
	image := dockertest.Image(t, rt, docker.CPUHog)
	limit := int64(32 << 20)
	hog := state.ContainerSpec{
		Name: "hog", Image: image, Class: state.BestEffort,
		Cmd:       []string{"--hold-mib", "1"},
		Resources: state.Resources{CPUQuotaCores: ptr(0.05), MemoryBytes: &limit},
	}
	app := state.AppSpec{Name: "greedy", Containers: []state.ContainerSpec{hog}}
	statuses, apply := runApp(t, rt, app)
	// Ready first: the runner follows Docker's events by then.
	nextStatus(t, statuses, 30*time.Second, func(s state.AppStatus) bool { return s.Phase == state.Ready })

	greedy := hog
	greedy.Cmd = []string{"--hold-mib", "128"}
	apply(state.AppSpec{Name: "greedy", Containers: []state.ContainerSpec{greedy}})
	failed := nextStatus(t, statuses, deathDeadline, func(s state.AppStatus) bool { return s.Phase == state.Failed })
	if want := "greedy/hog was OOM-killed (exit code 137)"; failed.Transition.Reason != "container "+want {
		t.Errorf("failed because %q, want: container %s", failed.Transition.Reason, want)
	}
}

// runApp runs a reconciler for rt's node, over a store of its own, that
// resyncs only once a minute, and gives it app. It returns every status
// the reconciler records for the app, in order, and a func that writes a
// new spec. The reconciler stops when the test ends.
func runApp(t *testing.T, rt *docker.Runtime, app state.AppSpec) (statuses <-chan state.AppStatus, apply func(state.AppSpec)) {
	t.Helper()
	store := state.NewMemoryStore()
	t.Cleanup(func() { store.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	statuses = watchStatuses(ctx, t, store, rt.Node(), app.Name)
	follower := state.NewFollower(store, rt.Node(), state.FollowerConfig{})
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		follower.Run(ctx)
	}()
	runner := reconciler.NewRunner(reconciler.RunnerConfig{
		Node: rt.Node(), Store: store, Follower: follower, Runtime: rt, Logger: dockertest.Logger(t),
		ResyncInterval: resync,
		RestartBackoff: state.Backoff{Initial: 100 * time.Millisecond, Max: 100 * time.Millisecond},
	})
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
		<-followed
	})
	apply = func(spec state.AppSpec) {
		t.Helper()
		value, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Txn(ctx, state.Put(state.Keys.App(rt.Node(), spec.Name), value)); err != nil {
			t.Fatalf("put the spec of %s: %v", spec.Name, err)
		}
	}
	apply(app)
	return statuses, apply
}

// watchStatuses passes on every status the store records for app on node.
func watchStatuses(ctx context.Context, t *testing.T, store state.Store, node, app string) <-chan state.AppStatus {
	out := make(chan state.AppStatus, 64)
	go func() {
		for response := range store.Watch(ctx, state.Keys.Status(node, app), 1) {
			for _, ev := range response.Events {
				var status state.AppStatus
				if err := json.Unmarshal(ev.Value, &status); err != nil {
					t.Errorf("status of %s at revision %d: %v", app, ev.Revision, err)
					return
				}
				select {
				case out <- status:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// nextStatus waits at most within for the next status that matches.
func nextStatus(t *testing.T, statuses <-chan state.AppStatus, within time.Duration, match func(state.AppStatus) bool) state.AppStatus {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case status := <-statuses:
			if match(status) {
				return status
			}
		case <-deadline:
			t.Fatalf("no matching status of the app within %v", within)
		}
	}
}
