package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/state"
)

// dialTimeout bounds how long a command waits for etcd before it says so.
const dialTimeout = 5 * time.Second

// openStore connects to the etcd endpoints and checks that one answers, so
// that a command fails with a clear message instead of hanging; each later
// call but a watch has a deadline, for the same reason.
func (o *globalOptions) openStore(ctx context.Context) (state.Store, error) {
	cli, err := state.Dial(state.ClientConfig{Endpoints: o.endpoints, TLS: o.tls, DialTimeout: dialTimeout})
	if err != nil {
		return nil, err
	}
	probe, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if _, err := cli.Get(probe, state.Root, clientv3.WithCountOnly()); err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcd at %v does not answer (is `sluice agent` running, or is --etcd-endpoints right?): %w", o.endpoints, err)
	}
	return state.Bounded(state.NewEtcdStore(cli), state.DefaultCallTimeout), nil
}

// withCluster runs fn on the current view of every node.
func (o *globalOptions) withCluster(ctx context.Context, fn func(state.ClusterView) error) error {
	return o.withStoreCluster(ctx, func(_ state.Store, cluster state.ClusterView) error { return fn(cluster) })
}

// withStoreCluster runs fn with an open store and every node's current
// view, for commands that read further (history) after the view.
func (o *globalOptions) withStoreCluster(ctx context.Context, fn func(state.Store, state.ClusterView) error) error {
	store, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	cluster, err := state.LoadCluster(ctx, store)
	if err != nil {
		return err
	}
	return fn(store, cluster)
}

// withAppView runs fn on the view of the node that app belongs to: the
// node named, or else the one node where the app is pinned or has a status.
func (o *globalOptions) withAppView(ctx context.Context, app, node string, fn func(state.Store, *state.View) error) error {
	return o.withStoreCluster(ctx, func(store state.Store, cluster state.ClusterView) error {
		view, err := appNodeView(cluster, app, node)
		if err != nil {
			return err
		}
		return fn(store, view)
	})
}

func appNodeView(cluster state.ClusterView, app, node string) (*state.View, error) {
	if node != "" {
		view, ok := cluster.Views[node]
		if !ok {
			return nil, fmt.Errorf("node %s: not found (sluice get nodes lists them)", node)
		}
		return view, nil
	}
	var found []string
	for _, name := range cluster.Nodes() {
		if hasApp(cluster.Views[name], app) {
			found = append(found, name)
		}
	}
	switch len(found) {
	case 0:
		if _, ok := cluster.Unscoped.Apps[app]; ok {
			return cluster.Unscoped, nil
		}
		return nil, fmt.Errorf("app %s: not found", app)
	case 1:
		return cluster.Views[found[0]], nil
	}
	return nil, fmt.Errorf("app %s runs on nodes %s: pick one with --node", app, strings.Join(found, ", "))
}

// hasApp says whether app belongs to the view's node: pinned to it, or
// with a status or a rejected spec there.
func hasApp(view *state.View, app string) bool {
	_, hasStatus := view.Statuses[app]
	_, rejected := view.Errors[state.Keys.App(view.Node, app)]
	return view.Apps[app].Node == view.Node && view.Node != "" || hasStatus || rejected
}

// addNodeFlag adds --node, for commands about one app.
func addNodeFlag(cmd *cobra.Command, node *string) {
	cmd.Flags().StringVar(node, "node", "", "the app's node, where apps of that name run on several")
}
