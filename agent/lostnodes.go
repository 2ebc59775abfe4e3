package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"time"

	"github.com/sluice-io/sluice/reconciler"
	"github.com/sluice-io/sluice/state"
)

// lostNodes marks the apps of another node lost when that node's
// registration goes: its heartbeat lease expired (a crash, a partition) or
// its agent revoked it on the way out. A dead node writes nothing, so
// without this its apps would show their last phase forever.
//
// Of the nodes still registered, only the dead one's successor in name
// order (wrapping around) marks it, so a death costs one listing of the
// node's statuses however many nodes there are. Each status is written
// with PutIf on the revision it was read at: if the node's own agent wrote
// meanwhile (it came back), that write stands. When the node comes back,
// its agent adopts its apps from the lost statuses and brings them back.
//
// A node that was gone before this agent saw it registered is not
// marked: finding it would take a listing of every node's keys.
type lostNodes struct {
	store   state.Store
	self    string
	timeout time.Duration
	clock   reconciler.Clock
	log     *slog.Logger
	// registered are the nodes of the last view.
	registered []string
}

// run marks lost nodes as the follower's views show registrations go,
// until ctx ends.
func (l *lostNodes) run(ctx context.Context, follower *state.Follower) error {
	sub := follower.Subscribe()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sub.C():
		}
		view, changes := sub.Next()
		if view == nil || !changes.Has(state.KindNode) {
			continue
		}
		now := state.SortedKeys(view.Nodes)
		for _, gone := range l.gone(now) {
			l.mark(ctx, gone)
		}
		l.registered = now
	}
}

// gone are the nodes registered before and not now whose successor among
// the nodes registered now is this one.
func (l *lostNodes) gone(now []string) []string {
	var out []string
	for _, node := range l.registered {
		if _, still := slices.BinarySearch(now, node); !still && successor(now, node) == l.self {
			out = append(out, node)
		}
	}
	return out
}

// successor is the first of nodes (sorted) after name, wrapping around.
func successor(nodes []string, name string) string {
	if len(nodes) == 0 {
		return ""
	}
	i, _ := slices.BinarySearch(nodes, name)
	return nodes[i%len(nodes)]
}

// mark writes lost over every status of node that can become lost. A
// failure is logged: the statuses then keep their last phase until the
// node's own agent returns, which is what happened before anyone marked.
func (l *lostNodes) mark(ctx context.Context, node string) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	kvs, _, err := l.store.List(ctx, state.Keys.Status(node, ""))
	if err != nil {
		l.log.Warn("cannot read the statuses of a lost node", "lost_node", node, "err", err)
		return
	}
	now := l.clock.Now()
	marked := 0
	for _, kv := range kvs {
		var status state.AppStatus
		if err := json.Unmarshal(kv.Value, &status); err != nil {
			continue // the fold reports a malformed status to its readers
		}
		lost, ok := reconciler.MarkLost(status, node, l.self, now)
		if !ok {
			continue
		}
		value, err := json.Marshal(lost)
		if err != nil {
			continue
		}
		put, _, err := l.store.PutIf(ctx, kv.Key, value, kv.ModRevision)
		if err != nil {
			l.log.Warn("cannot mark an app of a lost node", "lost_node", node, "app", status.App, "err", err)
			return
		}
		if put {
			marked++
		}
	}
	l.log.Info("node lost: its heartbeat lease is gone", "lost_node", node, "apps_marked_lost", marked)
}
