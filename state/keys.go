package state

import "strings"

// Root is the prefix of every key sluice owns. docs/keyspace.md documents the
// layout; this file is its single source in code.
const Root = "/sluice/"

// The key space has two scopes. Cluster keys are few and change rarely:
// every agent follows them. Node keys live under NodeScope(node), one
// contiguous range per node, so that an agent follows its own node with one
// watch and its reads do not grow with the number of other nodes.
const (
	// NodesPrefix holds each node's registration, on its heartbeat lease.
	NodesPrefix = Root + "nodes/"
	// UnpinnedAppsPrefix holds the specs of apps that name no node.
	UnpinnedAppsPrefix = Root + "apps/"
	// PoliciesPrefix holds policy files that override an agent's own.
	PoliciesPrefix = Root + "policies/"
	// ClusterPrefix holds facts about the store itself (its identity).
	ClusterPrefix = Root + "cluster/"
	// OnPrefix holds every node's own keys, under OnPrefix + node + "/".
	OnPrefix = Root + "on/"
)

// Names of the keys and prefixes inside a node's scope.
const (
	scopeApps        = "apps/"
	scopeStatus      = "status/"
	scopeObservation = "observation"
	scopeDecision    = "decision"
	scopePolicyError = "policy-error"
	scopeClaim       = "claim"
)

// ClusterPrefixes are the cluster keys every agent follows besides its own
// node's scope.
var ClusterPrefixes = []string{NodesPrefix, UnpinnedAppsPrefix, PoliciesPrefix, ClusterPrefix}

// Kind names what an event's key holds.
type Kind string

// Kinds of events, one per kind of key.
const (
	KindNode        Kind = "node"
	KindApp         Kind = "app"
	KindObservation Kind = "observation"
	KindDecision    Kind = "decision"
	KindStatus      Kind = "status"
	KindPolicyError Kind = "policy-error"
	KindPolicy      Kind = "policy"
	KindCluster     Kind = "cluster"
	KindClaim       Kind = "claim"
	KindUnknown     Kind = "unknown"
)

// NodeScope is the prefix of every key of one node.
func NodeScope(node string) string { return OnPrefix + node + "/" }

// Keys builds the keys of the key space.
var Keys = struct {
	Node func(node string) string
	// App is the spec of app on node; an empty node is an unpinned app.
	App         func(node, app string) string
	Status      func(node, app string) string
	Observation func(node string) string
	Decision    func(node string) string
	PolicyError func(node string) string
	// Claim is the operator's claim of node (`sluice node reset`): its
	// agent takes every container on it as this store's.
	Claim  func(node string) string
	Policy func(file string) string
}{
	Node: func(n string) string { return NodesPrefix + n },
	App: func(n, a string) string {
		if n == "" {
			return UnpinnedAppsPrefix + a
		}
		return NodeScope(n) + scopeApps + a
	},
	Status:      func(n, a string) string { return NodeScope(n) + scopeStatus + a },
	Observation: func(n string) string { return NodeScope(n) + scopeObservation },
	Decision:    func(n string) string { return NodeScope(n) + scopeDecision },
	PolicyError: func(n string) string { return NodeScope(n) + scopePolicyError },
	Claim:       func(n string) string { return NodeScope(n) + scopeClaim },
	Policy:      func(f string) string { return PoliciesPrefix + f },
}

// KeyRef is what a key names: its kind, the node it belongs to (empty for
// cluster keys other than a registration), and the name within its kind
// (an app, a policy file).
type KeyRef struct {
	Kind Kind
	Node string
	Name string
}

// ParseKey says what a key names. A key that fits no kind, or names an
// empty node or name, is KindUnknown.
func ParseKey(key string) KeyRef {
	if rest, ok := strings.CutPrefix(key, OnPrefix); ok {
		return parseScoped(rest)
	}
	for _, p := range []struct {
		prefix string
		kind   Kind
	}{{NodesPrefix, KindNode}, {UnpinnedAppsPrefix, KindApp}, {PoliciesPrefix, KindPolicy}, {ClusterPrefix, KindCluster}} {
		name, ok := strings.CutPrefix(key, p.prefix)
		if !ok || name == "" {
			continue
		}
		if p.kind == KindNode {
			return KeyRef{Kind: KindNode, Node: name, Name: name}
		}
		return KeyRef{Kind: p.kind, Name: name}
	}
	return KeyRef{Kind: KindUnknown, Name: strings.TrimPrefix(key, Root)}
}

// parseScoped reads "<node>/<rest>" of a node-scoped key.
func parseScoped(scoped string) KeyRef {
	node, rest, ok := strings.Cut(scoped, "/")
	unknown := KeyRef{Kind: KindUnknown, Name: "on/" + scoped}
	if !ok || node == "" {
		return unknown
	}
	switch {
	case rest == scopeObservation:
		return KeyRef{Kind: KindObservation, Node: node}
	case rest == scopeDecision:
		return KeyRef{Kind: KindDecision, Node: node}
	case rest == scopePolicyError:
		return KeyRef{Kind: KindPolicyError, Node: node}
	case rest == scopeClaim:
		return KeyRef{Kind: KindClaim, Node: node}
	}
	for _, p := range []struct {
		prefix string
		kind   Kind
	}{{scopeApps, KindApp}, {scopeStatus, KindStatus}} {
		if name, ok := strings.CutPrefix(rest, p.prefix); ok && name != "" && !strings.Contains(name, "/") {
			return KeyRef{Kind: p.kind, Node: node, Name: name}
		}
	}
	return unknown
}
