package docker

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/sluice-io/sluice/state"
)

func TestUpdateResources(t *testing.T) {
	shares := uint64(2)
	got := updateResources(state.CPUResources{QuotaCores: new(0.05), Shares: &shares, CPUSet: "0"})
	want := container.Resources{CPUPeriod: 100_000, CPUQuota: 5000, CPUShares: 2, CpusetCpus: "0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("quota 0.05, shares 2, cpuset 0: %+v, want %+v", got, want)
	}
	got = updateResources(state.CPUResources{})
	if want := (container.Resources{CPUPeriod: 100_000, CPUQuota: -1}); !reflect.DeepEqual(got, want) {
		t.Errorf("no quota: %+v, want %+v (-1 lifts the engine's quota; 0 would leave it)", got, want)
	}
}

// recordingEngine records the updates it is sent; the first fails fail.
type recordingEngine struct {
	mu      sync.Mutex
	fail    int
	updates map[string][]int64
}

func (e *recordingEngine) ContainerUpdate(_ context.Context, id string, opts client.ContainerUpdateOptions) (client.ContainerUpdateResult, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id == "gone" {
		return client.ContainerUpdateResult{}, cerrdefs.ErrNotFound
	}
	if e.fail > 0 {
		e.fail--
		return client.ContainerUpdateResult{}, errors.New("engine busy")
	}
	e.updates[id] = append(e.updates[id], opts.Resources.CPUQuota)
	return client.ContainerUpdateResult{}, nil
}

func (e *recordingEngine) quotas(id string) []int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int64(nil), e.updates[id]...)
}

// Settings noted before Run sends them collapse to the newest; a failed
// update is sent again; a removed container is dropped.
func TestCPURecordSendsTheNewestSettings(t *testing.T) {
	engine := &recordingEngine{fail: 1, updates: map[string][]int64{}}
	record := newCPURecord(engine, slog.New(slog.DiscardHandler))
	for _, cores := range []float64{0.1, 0.2, 0.3} {
		record.Record(state.Container{RuntimeID: "abc"}, state.CPUResources{QuotaCores: new(cores)})
	}
	record.Record(state.Container{RuntimeID: "gone"}, state.CPUResources{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- record.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(engine.quotas("abc")) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := engine.quotas("abc"); len(got) != 1 || got[0] != 30_000 {
		t.Fatalf("engine got quotas %v, want the newest alone, [30000], after one failure", got)
	}
}
