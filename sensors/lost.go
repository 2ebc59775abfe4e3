package sensors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluice-io/sluice/state"
)

// LostNodeWatcher marks the apps of a node lost when the node's
// registration disappears: its lease expired because the node stopped
// renewing, or it was revoked on shutdown (the two look alike in the log).
type LostNodeWatcher struct {
	store   state.Store
	clock   func() time.Time
	metrics *Metrics
	logger  *slog.Logger
	// retry is the pause before watching again after the watch broke.
	retry time.Duration
	// listed, when set, is called after each listing of the nodes; tests
	// use it to know the watch is about to start.
	listed func()
}

// NewLostNodeWatcher returns a watcher; clock stamps the transitions.
func NewLostNodeWatcher(store state.Store, clock func() time.Time, metrics *Metrics, logger *slog.Logger) *LostNodeWatcher {
	if metrics == nil {
		metrics = NewMetrics(nil)
	}
	return &LostNodeWatcher{store: store, clock: clock, metrics: metrics, logger: logger.With("sensor", "lost-nodes"), retry: time.Second}
}

// Run watches the registrations until ctx ends. After a broken watch it
// lists the nodes again and treats every node that vanished in between as
// lost, so a gap (compaction, a reconnect) loses no transition.
func (w *LostNodeWatcher) Run(ctx context.Context) error {
	known := map[string]bool{}
	first := true
	for ctx.Err() == nil {
		err := w.watch(ctx, known, first)
		first = false
		if err != nil && ctx.Err() == nil {
			w.logger.Warn("watch of node registrations broke; listing again", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(w.retry):
			}
		}
	}
	return nil
}

func (w *LostNodeWatcher) watch(ctx context.Context, known map[string]bool, first bool) error {
	kvs, rev, err := w.store.List(ctx, state.NodesPrefix)
	if err != nil {
		return fmt.Errorf("list %s: %w", state.NodesPrefix, err)
	}
	present := map[string]bool{}
	for _, kv := range kvs {
		_, node := state.ParseKey(kv.Key)
		present[node] = true
	}
	for _, node := range state.SortedKeys(known) {
		if !present[node] && !first {
			w.lost(ctx, node)
		}
	}
	clear(known)
	for node := range present {
		known[node] = true
	}
	if w.listed != nil {
		w.listed()
	}
	watchCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp := range w.store.Watch(watchCtx, state.NodesPrefix, rev+1) {
		if resp.Err != nil {
			return resp.Err
		}
		for _, ev := range resp.Events {
			_, node := state.ParseKey(ev.Key)
			if !ev.Deleted {
				known[node] = true
				continue
			}
			delete(known, node)
			w.lost(ctx, node)
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return errors.New("watch ended")
}

func (w *LostNodeWatcher) lost(ctx context.Context, node string) {
	w.metrics.nodesLost.Inc()
	if err := w.MarkLost(ctx, node); err != nil {
		w.logger.Error("could not mark the apps of a lost node", "node", node, "err", err)
	}
}

// MarkLost writes, in one Txn, the lost status of every app on node
// unless the node registered again meanwhile.
func (w *LostNodeWatcher) MarkLost(ctx context.Context, node string) error {
	view, err := state.LoadView(ctx, w.store)
	if err != nil {
		return fmt.Errorf("mark apps of node %s lost: %w", node, err)
	}
	if _, back := view.Nodes[node]; back {
		return nil
	}
	statuses := LostStatuses(view, node, w.clock())
	if len(statuses) == 0 {
		return nil
	}
	ops := make([]state.Op, 0, len(statuses))
	for _, status := range statuses {
		value, err := json.Marshal(status)
		if err != nil {
			return fmt.Errorf("encode status of %s: %w", status.App, err)
		}
		ops = append(ops, state.Put(state.Keys.Status(status.App), value))
	}
	if _, err := w.store.Txn(ctx, ops...); err != nil {
		return fmt.Errorf("mark %d apps of node %s lost: %w", len(ops), node, err)
	}
	w.metrics.appsMarkedLost.Add(float64(len(ops)))
	w.logger.Warn("node lost: apps marked lost", "node", node, "apps", len(ops))
	return nil
}

// LostStatuses is the pure part of MarkLost: the new status of each app
// that was on node (its spec names the node, or its status says it ran
// there), sorted by app, leaving out apps already terminated or lost.
func LostStatuses(view state.View, node string, now time.Time) []state.AppStatus {
	onNode := map[string]bool{}
	for name, spec := range view.Apps {
		if spec.Node == node {
			onNode[name] = true
		}
	}
	for name, status := range view.Statuses {
		if status.Node == node {
			onNode[name] = true
		}
	}
	var statuses []state.AppStatus
	for _, name := range state.SortedKeys(onNode) {
		prev, ok := view.Statuses[name]
		if !ok {
			prev = state.AppStatus{App: name, Phase: state.Pending}
		}
		if prev.Phase == state.Terminated || prev.Phase == state.Lost {
			continue
		}
		next := prev
		next.Node = node
		next.Phase = state.Lost
		next.Transition = &state.Transition{
			From: prev.Phase, To: state.Lost, Event: "node-lost",
			Reason: fmt.Sprintf("node %s stopped heartbeating (its registration lease ended)", node),
			Time:   now,
		}
		statuses = append(statuses, next)
	}
	return statuses
}
