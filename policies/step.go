package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sluice-io/sluice/state"
)

// Step is the policy step of the control loop: decide for node on view and
// return the one write that records the outcome. That is the decision, or,
// when the policy fails, a PolicyError, which leaves the last good decision
// in force because nothing overwrites it. ok is false when there is nothing
// to decide on yet (no observation); err is set only when the outcome
// cannot be encoded, never for a failing policy.
func Step(ctx context.Context, engine *Engine, view *state.View, node string) (op state.Op, ok bool, err error) {
	decision, err := engine.Decide(ctx, view, node)
	var policyErr *Error
	switch {
	case errors.Is(err, ErrNoObservation):
		return state.Op{}, false, nil
	case errors.As(err, &policyErr):
		at := view.Observations[node].Time
		return putJSON(state.Keys.PolicyError(node), policyErr.PolicyError(node, view.Revision, at))
	case err != nil:
		return state.Op{}, false, err
	}
	return putJSON(state.Keys.Decision(node), decision)
}

func putJSON(key string, value any) (state.Op, bool, error) {
	data, err := json.Marshal(value)
	if err != nil {
		return state.Op{}, false, fmt.Errorf("encode %s: %w", key, err)
	}
	return state.Put(key, data), true, nil
}
