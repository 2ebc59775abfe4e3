package state_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/state"
)

// Once compaction has freed most of their databases, every member of a
// cluster sluice owns is defragmented.
func TestDefragmentMembersShrinksTheirDatabases(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Members: 3})
	cli := cluster.Client(t)
	ctx := context.Background()
	value := strings.Repeat("x", 100<<10)
	var rev int64
	for i := range 300 {
		resp, err := cli.Put(ctx, fmt.Sprintf("/sluice/bulk/%d", i%30), value)
		must(t, err)
		rev = resp.Header.Revision
	}
	_, err := cli.Delete(ctx, "/sluice/bulk/", clientv3.WithPrefix())
	must(t, err)
	_, err = cli.Compact(ctx, rev+1, clientv3.WithCompactPhysical())
	must(t, err)
	// A member's free pages show in its status once its backend commits
	// again, which writes after the compaction make it do.
	for i := range 20 {
		_, err := cli.Put(ctx, "/sluice/after", fmt.Sprint(i))
		must(t, err)
		time.Sleep(50 * time.Millisecond)
	}
	before := dbSizes(t, cli, cluster.Endpoints())

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		state.DefragmentMembers(runCtx, cli, cluster.Endpoints(), 100*time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	defer func() { stop(); <-done }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		after := dbSizes(t, cli, cluster.Endpoints())
		shrunk := true
		for i := range after {
			shrunk = shrunk && after[i] < before[i]/2
		}
		if shrunk {
			t.Logf("database sizes %v → %v", before, after)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("database sizes %v → %v after 20 s, want each under half", before, after)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func dbSizes(t *testing.T, cli *clientv3.Client, endpoints []string) []int64 {
	t.Helper()
	sizes := make([]int64, len(endpoints))
	for i, endpoint := range endpoints {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		status, err := cli.Status(ctx, endpoint)
		cancel()
		must(t, err)
		sizes[i] = status.DbSize
	}
	return sizes
}
