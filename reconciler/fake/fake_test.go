package fake_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/reconciler/fake"
	"github.com/sluice-io/sluice/state"
)

func TestRuntimeRecordsAndBehavesLikeDocker(t *testing.T) {
	ctx := context.Background()
	rt := fake.NewRuntime()
	cpu := fake.NewCPU(rt)
	quota := 0.5
	spec := state.ContainerSpec{Name: "api", Image: "nginx", CPUSet: "1", Resources: state.Resources{CPUQuotaCores: &quota}}

	rt.Fail("create", "web/api", errors.New("no such image"), 1)
	if _, err := rt.Create(ctx, "web", spec, "nginx-1", "h1"); err == nil || !strings.Contains(err.Error(), "no such image") {
		t.Fatalf("injected failure not returned: %v", err)
	}
	created, err := rt.Create(ctx, "web", spec, "nginx-1", "h1")
	if err != nil {
		t.Fatal(err)
	}
	settings, err := cpu.CPU(ctx, created)
	if err != nil || *settings.QuotaCores != 0.5 || settings.CPUSet != "1" {
		t.Fatalf("create did not apply the spec's resources: %s, %v", settings, err)
	}
	if err := rt.Remove(ctx, created); err == nil {
		t.Fatal("removing a running container succeeded")
	}

	events := rt.Events(ctx)
	if err := rt.Kill("web/api", 137, true); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if ev != (state.ContainerEvent{ContainerID: "web/api", Action: "oom", ExitCode: 137}) {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(time.Second):
		t.Fatal("no event for the kill")
	}
	listed, _ := rt.List(ctx)
	if len(listed) != 1 || listed[0].Running || !listed[0].OOMKilled {
		t.Fatalf("after the kill: %+v", listed)
	}
	if err := rt.Remove(ctx, listed[0]); err != nil {
		t.Fatal(err)
	}
	want := "create web/api image=nginx guid=nginx-1 hash=h1 -> error: no such image\n" +
		"create web/api image=nginx guid=nginx-1 hash=h1\n" +
		"remove web/api rt-1 -> error: remove web/api (rt-1): container is running\n" +
		"remove web/api rt-1"
	if got := fake.FormatCalls(rt.Calls()); got != want {
		t.Fatalf("calls:\n%s\nwant:\n%s", got, want)
	}
}
