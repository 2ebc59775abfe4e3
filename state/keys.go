package state

import "strings"

// Root is the prefix of every key sluice owns. docs/keyspace.md documents the
// layout; this file is its single source in code.
const Root = "/sluice/"

// Prefixes of the key space, one per kind of event.
const (
	NodesPrefix        = Root + "nodes/"
	AppsPrefix         = Root + "apps/"
	ObservationsPrefix = Root + "observations/"
	DecisionsPrefix    = Root + "decisions/"
	StatusPrefix       = Root + "status/apps/"
	PolicyErrorsPrefix = Root + "status/policy/"
	PoliciesPrefix     = Root + "policies/"
)

// Kind names what an event's key holds.
type Kind string

// Kinds of events, one per prefix.
const (
	KindNode        Kind = "node"
	KindApp         Kind = "app"
	KindObservation Kind = "observation"
	KindDecision    Kind = "decision"
	KindStatus      Kind = "status"
	KindPolicyError Kind = "policy-error"
	KindPolicy      Kind = "policy"
	KindUnknown     Kind = "unknown"
)

// kindPrefixes is ordered longest-first where prefixes nest (status/apps/
// and status/policy/ both sit under status/).
var kindPrefixes = []struct {
	prefix string
	kind   Kind
}{
	{NodesPrefix, KindNode},
	{AppsPrefix, KindApp},
	{ObservationsPrefix, KindObservation},
	{DecisionsPrefix, KindDecision},
	{StatusPrefix, KindStatus},
	{PolicyErrorsPrefix, KindPolicyError},
	{PoliciesPrefix, KindPolicy},
}

// Keys builds the keys of the key space.
var Keys = struct {
	Node        func(node string) string
	App         func(app string) string
	Observation func(node string) string
	Decision    func(node string) string
	Status      func(app string) string
	PolicyError func(node string) string
	Policy      func(file string) string
}{
	Node:        func(n string) string { return NodesPrefix + n },
	App:         func(a string) string { return AppsPrefix + a },
	Observation: func(n string) string { return ObservationsPrefix + n },
	Decision:    func(n string) string { return DecisionsPrefix + n },
	Status:      func(a string) string { return StatusPrefix + a },
	PolicyError: func(n string) string { return PolicyErrorsPrefix + n },
	Policy:      func(f string) string { return PoliciesPrefix + f },
}

// ParseKey splits a key into its kind and the name after the kind's prefix.
func ParseKey(key string) (Kind, string) {
	for _, p := range kindPrefixes {
		if name, ok := strings.CutPrefix(key, p.prefix); ok && name != "" {
			return p.kind, name
		}
	}
	return KindUnknown, strings.TrimPrefix(key, Root)
}
