package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/sluice-io/sluice/state"
)

// An hour of a 20-container node at a 1 s interval is 3,600 observations
// and as many decisions. The benchmark writes them as fast as etcd takes
// them, under the keys of a node of their own so that the agent's policy
// step does not act on them.
const (
	historyNode       = "history-writer"
	historyContainers = 20
	historyRevisions  = 2 * 3600
	historySettle     = 10 * time.Second
	historyStretch    = 30 * time.Second
	// The revision compactor runs five minutes after the start, the
	// defragmenter within a minute of it.
	historyCompactWait = 8 * time.Minute
)

// BenchmarkAgentHistoryRSS runs `sluice agent --runtime sim` on a fresh
// data dir, writes an hour's worth of observations and decisions into its
// embedded etcd, and reports the agent's peak resident memory over 30 s
// once etcd has compacted and defragmented (rss-MiB), the database size
// (db-MiB), and the peak resident memory of an agent restarted on that data
// dir (restart-rss-MiB). history=1200 keeps what the default five minutes
// keep at most on such a node (two writes a second for ten minutes);
// history=1h, the former default, keeps all of it. Target for the default:
// ≤ 64 MiB, running and restarted. One measurement per history, whatever
// b.N.
func BenchmarkAgentHistoryRSS(b *testing.B) {
	for _, history := range []string{"1200", "1h"} {
		b.Run("history="+history, func(b *testing.B) {
			retention, err := state.ParseRetention(history)
			if err != nil {
				b.Fatal(err)
			}
			rssMiB, dbMiB, restartRSSMiB := measureHistoryAgent(b, retention)
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(rssMiB, "rss-MiB")
			b.ReportMetric(dbMiB, "db-MiB")
			b.ReportMetric(restartRSSMiB, "restart-rss-MiB")
		})
	}
}

func measureHistoryAgent(b *testing.B, retention state.Retention) (rssMiB, dbMiB, restartRSSMiB float64) {
	bin, policies := sluiceBinary(b), snapshotPolicies(b, "../../policies")
	dataDir, endpoint, peerURL := b.TempDir(), "http://"+freeTCPAddr(b), "http://"+freeTCPAddr(b)
	// The client's own log would repeat every compacted read of the wait.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	defer cli.Close()
	start := func() (int, func()) {
		cmd, stop := startProcess(b, bin, []string{"agent", "--runtime", "sim", "--node", "history-bench",
			"--data-dir", dataDir, "--listen-client", endpoint, "--listen-peer", peerURL,
			"--interval", time.Second.String(), "--policy-dir", policies, "--metrics-addr", "", "--traces=false",
			"--history", retention.String()},
			"the agent process to register its node", func() bool { return nodeRegistered(cli, "history-bench") })
		return cmd.Process.Pid, stop
	}
	pid, stop := start()
	peak := writeHistory(b, cli, endpoint)
	if retention.Revisions > 0 {
		waitCompactedAndDefragmented(b, cli, endpoint, peak)
	}
	time.Sleep(historySettle)
	_, rssMiB = measureProcess(b, pid, historyStretch)
	dbMiB = float64(dbStatus(b, cli, endpoint).DbSize) / (1 << 20)
	stop()

	pid, _ = start()
	time.Sleep(historySettle)
	_, restartRSSMiB = measureProcess(b, pid, historyStretch)
	return rssMiB, dbMiB, restartRSSMiB
}

// writeHistory writes the hour of observations and decisions, and returns
// the database size once the backend has committed them.
func writeHistory(b *testing.B, cli *clientv3.Client, endpoint string) int64 {
	observation, decision := historyValues(b)
	for i := range historyRevisions / 2 {
		put(b, cli, state.Keys.Observation(historyNode), observation)
		put(b, cli, state.Keys.Decision(historyNode), decision)
		if i == 0 {
			b.Logf("%d revisions: observations of %d bytes, decisions of %d", historyRevisions, len(observation), len(decision))
		}
	}
	var size int64
	waitUntil(b, time.Minute, "the backend to commit the history", func() bool {
		size = dbStatus(b, cli, endpoint).DbSize
		return size > int64(historyRevisions/2*len(observation))
	})
	return size
}

func put(b *testing.B, cli *clientv3.Client, key string, value []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, key, string(value)); err != nil {
		b.Fatalf("put %s: %v", key, err)
	}
}

// waitCompactedAndDefragmented waits until a read of the first revision
// fails as compacted and the database has shrunk to under half its peak.
func waitCompactedAndDefragmented(b *testing.B, cli *clientv3.Client, endpoint string, peak int64) {
	waitUntil(b, historyCompactWait, "etcd to compact and defragment the history", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := cli.Get(ctx, state.Keys.Observation(historyNode), clientv3.WithRev(1))
		return errors.Is(err, rpctypes.ErrCompacted) && 2*dbStatus(b, cli, endpoint).DbSize < peak
	})
}

func dbStatus(b *testing.B, cli *clientv3.Client, endpoint string) *clientv3.StatusResponse {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	status, err := cli.Status(ctx, endpoint)
	if err != nil {
		b.Fatalf("status of %s: %v", endpoint, err)
	}
	return status
}

func nodeRegistered(cli *clientv3.Client, node string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, state.Keys.Node(node), clientv3.WithCountOnly())
	return err == nil && resp.Count == 1
}

// historyValues are an observation and a decision of a node of 20 idle
// containers: no spans, so no latency, and no quota.
func historyValues(b *testing.B) (observation, decision []byte) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	shares := uint64(2)
	obs := state.Observation{Node: historyNode, Time: at, IntervalSeconds: 1, Host: state.HostObservation{
		CPUs: 2, CPUUsageCores: 1.234567, MemoryTotalBytes: 8 << 30, MemoryUsedBytes: 3 << 30,
		NetRxBytes: 123456789, NetTxBytes: 987654321, DiskReadBytes: 1234567, DiskWriteBytes: 7654321,
	}}
	dec := state.Decision{Node: historyNode, Revision: 123456, Time: at, BundleDigest: fmt.Sprintf("%064x", 42),
		Containers: map[string]state.ContainerDecision{}}
	for i := range historyContainers {
		name := fmt.Sprintf("app-%02d-frontend", i)
		obs.Containers = append(obs.Containers, state.ContainerObservation{
			ID: fmt.Sprintf("%064x", i), App: fmt.Sprintf("app-%02d", i), Name: name, GUID: name + "-3f9a2c",
			Class: state.BestEffort, CPUSet: "0-1", CPUUsageCores: 0.0012345678901234, RunQueueWaitCores: 0.00012345678901234,
			CPUShares: shares, MemoryBytes: 12345678, NetRxBytes: 1234567, NetTxBytes: 7654321,
		})
		dec.Containers[name] = state.ContainerDecision{CPUShares: &shares}
		dec.Reasons = append(dec.Reasons, state.Reason{Rule: "best_effort_weight", Container: name,
			Message: "best-effort containers run at the lowest weight", Values: map[string]float64{"shares": 2}})
	}
	observation, err := json.Marshal(obs)
	if err != nil {
		b.Fatal(err)
	}
	decision, err = json.Marshal(dec)
	if err != nil {
		b.Fatal(err)
	}
	return observation, decision
}
