package state

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// clusterIDName is the name of the identity under ClusterPrefix, as
// View.Cluster holds it.
const clusterIDName = "id"

// ClusterIDKey holds the store's identity, written once by the first agent
// that finds it absent. Every container sluice creates carries it, so an
// agent can tell its store's containers from another store's.
//
// It is sluice's own key rather than etcd's cluster ID: etcd derives that
// from the member names, peer URLs and cluster token alone, so two embedded
// stores started from fresh data directories with the default settings
// share one ID, which is the very case to tell apart; and restoring a
// snapshot can give the same data a new etcd ID, which would disown every
// container the restored store describes. A key is data: it survives a
// snapshot and restore, and a fresh data directory does not have it.
const ClusterIDKey = ClusterPrefix + clusterIDName

// ClusterID is the value at ClusterIDKey.
type ClusterID struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// NodeClaim is the value at Keys.Claim(node): from Time on, the agent of
// Node owns every container on the node, whichever store created it.
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
	if _, _, err := store.PutIf(ctx, ClusterIDKey, value, 0); err != nil {
		return "", fmt.Errorf("create the store identity at %s: %w", ClusterIDKey, err)
	}
	kv, found, _, err := store.Get(ctx, ClusterIDKey)
	if err != nil {
		return "", fmt.Errorf("read the store identity: %w", err)
	}
	if !found {
		return "", fmt.Errorf("the store identity at %s was deleted as it was created", ClusterIDKey)
	}
	return decodeClusterID(kv.Value)
}

// ClusterID returns the identity of the store the view comes from; an
// absent or malformed key is an error, since containers cannot be told
// apart without it.
func (v *View) ClusterID() (string, error) {
	value, found := v.Cluster[clusterIDName]
	if !found {
		return "", fmt.Errorf("the store has no identity at %s yet: start an agent on it first", ClusterIDKey)
	}
	return decodeClusterID(value)
}

func decodeClusterID(value []byte) (string, error) {
	var id ClusterID
	if err := decodeStrict(value, &id); err != nil {
		return "", fmt.Errorf("the store identity at %s: %w", ClusterIDKey, err)
	}
	if _, err := uuid.Parse(id.ID); err != nil {
		return "", fmt.Errorf("the store identity at %s: id %q: %w", ClusterIDKey, id.ID, err)
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
	rev, err := store.Txn(ctx, Put(Keys.Claim(claim.Node), value))
	if err != nil {
		return 0, fmt.Errorf("write the claim of node %s: %w", claim.Node, err)
	}
	return rev, nil
}

// decodeClaim decodes the claim at ev's key, which must name ref's node.
func decodeClaim(ref KeyRef, ev Event) (NodeClaim, error) {
	var claim NodeClaim
	if err := decodeStrict(ev.Value, &claim); err != nil {
		return NodeClaim{}, fmt.Errorf("claim at %s (revision %d): %w", ev.Key, ev.Revision, err)
	}
	if claim.Node != ref.Node {
		return NodeClaim{}, fmt.Errorf("claim at %s (revision %d) names node %q", ev.Key, ev.Revision, claim.Node)
	}
	return claim, nil
}
