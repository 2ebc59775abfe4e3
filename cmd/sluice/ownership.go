package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-io/sluice/state"
)

// storeIDTimeout bounds the agent's read or creation of the store identity.
const storeIDTimeout = 10 * time.Second

// agentStoreID returns the identity of the agent's store, creating it on
// a store that has none yet. The runtime labels every container with it,
// and the reconciler leaves alone the containers of any other.
func agentStoreID(ctx context.Context, store state.Store) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, storeIDTimeout)
	defer cancel()
	id, err := state.EnsureClusterID(ctx, store, time.Now())
	if err != nil {
		return "", fmt.Errorf("agent: %w", err)
	}
	return id, nil
}
