package state

import (
	"context"
	"encoding/json"
)

// AppTransitions reads app's lifecycle on node, up to revision upTo, from
// the history of its status key: every write of it is one transition.
// Compacted history is not an error: the older transitions are gone. An
// empty node (no node has taken the app up yet) has none.
func AppTransitions(ctx context.Context, store Store, node, app string, upTo int64) ([]Transition, error) {
	if node == "" {
		return []Transition{}, nil
	}
	events, err := History(ctx, store, Keys.Status(node, app), upTo)
	if err != nil {
		return nil, err
	}
	out := []Transition{}
	for _, ev := range events {
		var status AppStatus
		if ev.Deleted || json.Unmarshal(ev.Value, &status) != nil || status.Transition == nil {
			continue
		}
		out = append(out, *status.Transition)
	}
	return out, nil
}
