package docker_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/actuators/docker/dockertest"
	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/state"
)

// An agent started on a fresh store (another data directory) finds the
// running containers of the node's first store. It must leave them all in
// place until the node is claimed, then adopt the one its spec matches and
// remove the other.
func TestIntegrationAFreshStoreRemovesNothingUntilClaimed(t *testing.T) {
	node := dockertest.NodeName(t)
	ctx := t.Context()

	storeA, idA := newIdentifiedStore(t)
	rtA := dockertest.RuntimeWith(t, docker.Config{Node: node, Store: idA})
	image := dockertest.Image(t, rtA, docker.Sineload)
	hogImage := dockertest.Image(t, rtA, docker.CPUHog)
	web := state.AppSpec{Name: "web", Node: node, Containers: []state.ContainerSpec{quietSineload(image)}}
	batch := state.AppSpec{Name: "batch", Node: node, Containers: []state.ContainerSpec{cappedHog(hogImage)}}
	putApps(t, storeA, web, batch)
	runnerA := newOwnershipRunner(t, node, storeA, idA, rtA)
	reconcileUntil(t, runnerA, func() bool { return len(running(t, rtA)) == 2 })
	before := running(t, rtA)

	storeB, idB := newIdentifiedStore(t)
	rtB := dockertest.RuntimeWith(t, docker.Config{Node: node, Store: idB})
	runnerB := newOwnershipRunner(t, node, storeB, idB, rtB)
	for range 3 {
		reconcile(t, runnerB)
	}
	if after := running(t, rtB); !slices.Equal(runtimeIDs(after), runtimeIDs(before)) {
		t.Fatalf("store B changed the node before a claim: %v, was %v", describe(after), describe(before))
	}

	putApps(t, storeB, web)
	if _, err := state.PutClaim(ctx, storeB, state.NodeClaim{Node: node, Time: time.Now(), Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	reconcileUntil(t, runnerB, func() bool {
		phase, _ := runnerB.Phase("web")
		return phase == state.Ready && len(list(t, rtB)) == 1
	})
	after := list(t, rtB)
	if server := findID(before, "web/server"); after[0].RuntimeID != server.RuntimeID || !after[0].Running {
		t.Fatalf("after the claim: %v, want %s adopted as it was", describe(after), server.RuntimeID)
	}
}

// newIdentifiedStore starts a fresh embedded etcd and gives it an identity,
// as an agent does at start.
func newIdentifiedStore(t *testing.T) (*state.EtcdStore, string) {
	t.Helper()
	_, store := etcdtest.Embedded(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	id, err := state.EnsureClusterID(ctx, store, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return store, id
}

func newOwnershipRunner(t *testing.T, node string, store state.Store, id string, rt *docker.Runtime) *reconciler.Runner {
	return reconciler.NewRunner(reconciler.RunnerConfig{
		Node: node, Store: store, Runtime: rt, StoreID: id, Logger: dockertest.Logger(t),
	})
}

func putApps(t *testing.T, store state.Store, apps ...state.AppSpec) {
	t.Helper()
	for _, app := range apps {
		value, err := json.Marshal(app)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Txn(t.Context(), state.Put(state.Keys.App(app.Node, app.Name), value)); err != nil {
			t.Fatal(err)
		}
	}
}

func reconcile(t *testing.T, runner *reconciler.Runner) {
	t.Helper()
	if err := runner.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := runner.ReconcileOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// reconcileUntil runs passes until done holds, at most ten.
func reconcileUntil(t *testing.T, runner *reconciler.Runner, done func() bool) {
	t.Helper()
	for range 10 {
		reconcile(t, runner)
		if done() {
			return
		}
	}
	t.Fatal("the node did not converge in 10 passes")
}

func running(t *testing.T, rt *docker.Runtime) []state.Container {
	t.Helper()
	var out []state.Container
	for _, c := range list(t, rt) {
		if c.Running {
			out = append(out, c)
		}
	}
	return out
}

func runtimeIDs(containers []state.Container) []string {
	ids := make([]string, len(containers))
	for i, c := range containers {
		ids[i] = c.RuntimeID
	}
	slices.Sort(ids)
	return ids
}

func findID(containers []state.Container, id string) state.Container {
	for _, c := range containers {
		if c.ID == id {
			return c
		}
	}
	return state.Container{}
}

func describe(containers []state.Container) []string {
	out := make([]string, len(containers))
	for i, c := range containers {
		out[i] = c.ID + "@" + c.RuntimeID[:12] + " store=" + c.Store
	}
	return out
}
