package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"

	"github.com/sluice-io/sluice/state"
)

// Step is the policy step of the control loop: decide for node on view and
// return the writes that record the outcome, for one Txn.
//
//   - A decision is written only when it changes what the node's previous
//     decision asks for: the containers' settings, the carried state or the
//     bundle. Its reasons then explain the change; an unchanged decision
//     would cost a write and wake every reader of the key every tick.
//   - A good decision deletes the node's PolicyError, if any: the failure
//     is over.
//   - A failing policy writes a PolicyError, which leaves the last good
//     decision in force because nothing overwrites it.
//
// No ops and a nil error mean there is nothing to write: no observation
// yet, or nothing changed. failure is the policy's failure, which the ops
// record; err is set only when the outcome cannot be encoded, never for a
// failing policy.
func Step(ctx context.Context, engine *Engine, view *state.View, node string) (ops []state.Op, failure *Error, err error) {
	decision, err := engine.Decide(ctx, view, node)
	switch {
	case errors.Is(err, ErrNoObservation):
		return nil, nil, nil
	case errors.As(err, &failure):
		op, err := PolicyErrorOp(node, failure.PolicyError(node, view.Revision, view.Observations[node].Time))
		return []state.Op{op}, failure, err
	case err != nil:
		return nil, nil, err
	}
	if previous, ok := view.Decisions[node]; !ok || Changed(previous, decision) {
		op, err := putJSON(state.Keys.Decision(node), decision)
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, op)
	}
	if _, failed := view.PolicyErrors[node]; failed {
		ops = append(ops, state.Delete(state.Keys.PolicyError(node)))
	}
	return ops, nil, nil
}

// Changed reports whether next asks for something previous does not: other
// container settings, other carried state, another bundle or the same
// bundle from another revision. The time, the
// revision and the reasons do not count.
func Changed(previous, next state.Decision) bool {
	return previous.BundleDigest != next.BundleDigest || previous.BundleRevision != next.BundleRevision ||
		!maps.EqualFunc(previous.Containers, next.Containers, sameContainerDecision) ||
		!reflect.DeepEqual(normalCarry(previous.Carry), normalCarry(next.Carry))
}

func sameContainerDecision(a, b state.ContainerDecision) bool {
	return equalPtr(a.CPUQuotaCores, b.CPUQuotaCores) && equalPtr(a.CPUShares, b.CPUShares) && equalPtr(a.NetMbit, b.NetMbit)
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// normalCarry compares carried state as the log holds it, in JSON: a
// decision read back from the store has float64 numbers where a fresh one
// may hold other Go types.
func normalCarry(carry map[string]any) any {
	if len(carry) == 0 {
		return nil
	}
	data, err := json.Marshal(carry)
	if err != nil {
		return carry
	}
	var normal any
	if err := json.Unmarshal(data, &normal); err != nil {
		return carry
	}
	return normal
}

// PolicyErrorOp is the write that records a policy failure of node.
func PolicyErrorOp(node string, failure state.PolicyError) (state.Op, error) {
	return putJSON(state.Keys.PolicyError(node), failure)
}

func putJSON(key string, value any) (state.Op, error) {
	data, err := json.Marshal(value)
	if err != nil {
		return state.Op{}, fmt.Errorf("encode %s: %w", key, err)
	}
	return state.Put(key, data), nil
}
