package main

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/sluice-io/sluice/state"
)

// dialTimeout bounds how long a command waits for etcd before it says so.
const dialTimeout = 5 * time.Second

// openStore connects to the etcd endpoints and checks that one answers, so
// that a command fails with a clear message instead of hanging.
func (o *globalOptions) openStore(ctx context.Context) (state.Store, error) {
	cli, err := state.Dial(state.ClientConfig{Endpoints: o.endpoints, DialTimeout: dialTimeout})
	if err != nil {
		return nil, err
	}
	probe, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if _, err := cli.Get(probe, state.Root, clientv3.WithCountOnly()); err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcd at %v does not answer (is `sluice agent` running, or is --etcd-endpoints right?): %w", o.endpoints, err)
	}
	return state.NewEtcdStore(cli), nil
}

// withView runs fn on the current view of the store.
func (o *globalOptions) withView(ctx context.Context, fn func(state.View) error) error {
	return o.withStoreView(ctx, func(_ state.Store, view state.View) error { return fn(view) })
}

// withStoreView runs fn with an open store and its current view, for
// commands that read further (history) after the view.
func (o *globalOptions) withStoreView(ctx context.Context, fn func(state.Store, state.View) error) error {
	store, err := o.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	view, err := state.LoadView(ctx, store)
	if err != nil {
		return err
	}
	return fn(store, view)
}
