package cgroup

import (
	"strings"
	"testing"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/actuators/docker/dockertest"
	"github.com/sluice-io/sluice/internal/testenv"
	"github.com/sluice-io/sluice/state"
)

var _ PIDs = (*docker.Runtime)(nil)

// A real container from the Docker runtime: its cgroup is found through its
// process and at the driver's path alike, and a quota and cpuset set
// through the Controller show in its cgroup and bite.
func TestIntegrationContainerQuotaAndCPUSet(t *testing.T) {
	testenv.RequireCgroups(t)
	rt := dockertest.Runtime(t)
	image := dockertest.Image(t, rt, docker.CPUHog)
	ctx := t.Context()
	hog, err := rt.Create(ctx, "cg", state.ContainerSpec{Name: "hog", Image: image, Class: state.BestEffort}, "cpuhog-c6a1", "h")
	if err != nil {
		t.Fatal(err)
	}

	c, err := New(Config{PIDs: rt, Logger: dockertest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	byProcess, err := c.Locate(ctx, hog)
	if err != nil {
		t.Fatal(err)
	}
	byDriver, err := mustNew(t, Config{}).Locate(ctx, hog)
	if err != nil {
		t.Fatal(err)
	}
	if byProcess.String() != byDriver.String() || !strings.Contains(byProcess.String(), hog.RuntimeID) {
		t.Errorf("found %s through the process and %s at the driver path; want the same group named after %s",
			byProcess, byDriver, hog.RuntimeID)
	}

	quota := 0.3
	if err := c.SetCPU(ctx, hog, state.CPUResources{QuotaCores: &quota, CPUSet: "0"}); err != nil {
		t.Fatal(err)
	}
	got, err := c.CPU(ctx, hog)
	if err != nil {
		t.Fatal(err)
	}
	if got.QuotaCores == nil || *got.QuotaCores != quota || got.CPUSet != "0" {
		t.Errorf("CPU of the container = quota %v cpuset %q, want %v and 0", got.QuotaCores, got.CPUSet, quota)
	}

	assertQuotaBites(t, byProcess, quota)
}

func mustNew(t *testing.T, cfg Config) *Controller {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
