package state

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// ClusterIDKey holds the store's identity, written once by the first agent
// or tool that finds it absent. Every container sluice creates carries it,
// so an agent can tell its store's containers from another store's.
//
// It is sluice's own key rather than etcd's cluster ID: etcd derives that
// from the member names, peer URLs and cluster token alone, so two embedded
// stores started from fresh data directories with the default settings
// share one ID, which is the very case to tell apart; and restoring a
// snapshot can give the same data a new etcd ID, which would disown every
// container the restored store describes. A key is data: it survives a
// snapshot and restore, and a fresh data directory does not have it.
const ClusterIDKey = Root + "cluster/id"

// ClaimsPrefix holds the claims operators make with `sluice node reset`:
// the node's agent takes every container on the node as this store's.
const ClaimsPrefix = Root + "cluster/claims/"

// ClaimKey is the key of node's claim.
func ClaimKey(node string) string { return ClaimsPrefix + node }

// ClusterID is the value at ClusterIDKey.
type ClusterID struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// NodeClaim is the value at ClaimKey(node): from Time on, the agent of Node
// owns every container on the node, whichever store created it.
type NodeClaim struct {
	Node string    `json:"node"`
	Time time.Time `json:"time"`
	// Reason says why the operator claimed the node, for whoever reads
	// the key later.
	Reason string `json:"reason,omitempty"`
}

// EnsureClusterID returns the store's identity, creating it first if the
// store has none. Of several callers racing on an empty store, one creates
// it and all return that one.
func EnsureClusterID(ctx context.Context, store Store, now time.Time) (string, error) {
	value, err := json.Marshal(ClusterID{ID: uuid.NewString(), Created: now.UTC()})
	if err != nil {
		return "", fmt.Errorf("encode the store identity: %w", err)
	}
	if _, _, err := store.CreateIfAbsent(ctx, ClusterIDKey, value); err != nil {
		return "", fmt.Errorf("create the store identity at %s: %w", ClusterIDKey, err)
	}
	return ReadClusterID(ctx, store)
}

// ReadClusterID returns the store's identity; an absent or malformed key is
// an error, since containers cannot be told apart without it.
func ReadClusterID(ctx context.Context, store Store) (string, error) {
	kv, found, _, err := store.Get(ctx, ClusterIDKey)
	if err != nil {
		return "", fmt.Errorf("read the store identity: %w", err)
	}
	if !found {
		return "", fmt.Errorf("the store has no identity at %s yet: start an agent on it first", ClusterIDKey)
	}
	var id ClusterID
	if err := decodeStrict(kv.Value, &id); err != nil {
		return "", fmt.Errorf("the store identity at %s (revision %d): %w", ClusterIDKey, kv.ModRevision, err)
	}
	if _, err := uuid.Parse(id.ID); err != nil {
		return "", fmt.Errorf("the store identity at %s (revision %d): id %q: %w", ClusterIDKey, kv.ModRevision, id.ID, err)
	}
	return id.ID, nil
}

// PutClaim writes claim at its node's key and returns the revision.
func PutClaim(ctx context.Context, store Store, claim NodeClaim) (int64, error) {
	if claim.Node == "" {
		return 0, fmt.Errorf("claim a node: the node name is empty")
	}
	value, err := json.Marshal(claim)
	if err != nil {
		return 0, fmt.Errorf("encode the claim of node %s: %w", claim.Node, err)
	}
	rev, err := store.Txn(ctx, Put(ClaimKey(claim.Node), value))
	if err != nil {
		return 0, fmt.Errorf("write the claim of node %s: %w", claim.Node, err)
	}
	return rev, nil
}

// ReadClaim returns node's claim, if an operator made one.
func ReadClaim(ctx context.Context, store Store, node string) (NodeClaim, bool, error) {
	key := ClaimKey(node)
	kv, found, _, err := store.Get(ctx, key)
	if err != nil {
		return NodeClaim{}, false, fmt.Errorf("read the claim of node %s: %w", node, err)
	}
	if !found {
		return NodeClaim{}, false, nil
	}
	var claim NodeClaim
	if err := decodeStrict(kv.Value, &claim); err != nil {
		return NodeClaim{}, false, fmt.Errorf("the claim at %s (revision %d): %w", key, kv.ModRevision, err)
	}
	if claim.Node != node {
		return NodeClaim{}, false, fmt.Errorf("the claim at %s (revision %d) names node %q", key, kv.ModRevision, claim.Node)
	}
	return claim, true, nil
}
