package policies

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/sluice-io/sluice/state"
)

// ReplayResult is what an open-loop replay found: every recorded decision
// re-derived from the view it was made on.
type ReplayResult struct {
	Events    int            `json:"events"`
	Decisions int            `json:"decisions"`
	Identical int            `json:"identical"`
	Differing []DecisionDiff `json:"differing"`
	// PolicyDigest is the digest of the bundle the replay evaluated.
	PolicyDigest string `json:"policy_digest"`
}

// DecisionDiff is one decision the replay did not reproduce byte for byte.
type DecisionDiff struct {
	Segment      string            `json:"segment"`
	Node         string            `json:"node"`
	ViewRevision int64             `json:"view_revision"`
	Time         string            `json:"time"`
	Changes      []ContainerChange `json:"changes"`
	// Error is set when the policy failed on this view instead of deciding.
	Error    string          `json:"error,omitempty"`
	Recorded json.RawMessage `json:"recorded"`
	Replayed json.RawMessage `json:"replayed,omitempty"`
}

// ContainerChange is one container whose desired CPU quota or shares moved.
type ContainerChange struct {
	Container string `json:"container"`
	Recorded  string `json:"recorded"`
	Replayed  string `json:"replayed"`
}

// recordedDecision is a decision event of a recording, with the view
// revision it was made on.
type recordedDecision struct {
	raw      []byte
	decision state.Decision
}

// Replay re-evaluates every decision of rec with engine on the view folded
// from the recorded events up to the decision's revision. The policy's
// inputs all come from the log (its carry state too), so with the
// recording's own bundle every decision must come out identical.
func Replay(ctx context.Context, engine *Engine, rec state.Recording) (ReplayResult, error) {
	result := ReplayResult{Differing: []DecisionDiff{}, PolicyDigest: engine.Digest()}
	for _, seg := range rec.Segments {
		if err := replaySegment(ctx, engine, seg, &result); err != nil {
			return ReplayResult{}, fmt.Errorf("segment %s: %w", seg.Name, err)
		}
	}
	return result, nil
}

func replaySegment(ctx context.Context, engine *Engine, seg state.Segment, result *ReplayResult) error {
	decisions, err := decisionsOf(seg)
	if err != nil {
		return err
	}
	result.Events += len(seg.Events)
	// Each node's decisions are made on that node's view, and views only
	// move forward: fold up to the revision the decision was made on,
	// which later events in the log may already pass.
	views := map[string]*nodeReplay{}
	for _, rd := range decisions {
		node := rd.decision.Node
		replay, ok := views[node]
		if !ok {
			view := state.NewView(node)
			replay = &nodeReplay{view: &view}
			views[node] = replay
		}
		for ; replay.next < len(seg.Events) && seg.Events[replay.next].Revision <= rd.decision.Revision; replay.next++ {
			replay.view.Apply(seg.Events[replay.next])
		}
		replay.view.Revision = rd.decision.Revision
		result.Decisions++
		diff, same := compareDecision(ctx, engine, replay.view, rd)
		if same {
			result.Identical++
			continue
		}
		diff.Segment = seg.Name
		result.Differing = append(result.Differing, diff)
	}
	return nil
}

// nodeReplay is one node's view during a replay and the next event to fold.
type nodeReplay struct {
	view *state.View
	next int
}

// decisionsOf returns the segment's decisions in the order of the views
// they were made on.
func decisionsOf(seg state.Segment) ([]recordedDecision, error) {
	var out []recordedDecision
	for _, ev := range seg.Events {
		if ev.Deleted || ev.Kind() != state.KindDecision {
			continue
		}
		var d state.Decision
		if err := json.Unmarshal(ev.Value, &d); err != nil {
			return nil, fmt.Errorf("decision at revision %d: %w", ev.Revision, err)
		}
		out = append(out, recordedDecision{raw: ev.Value, decision: d})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].decision.Revision < out[j].decision.Revision })
	return out, nil
}

func compareDecision(ctx context.Context, engine *Engine, view *state.View, rd recordedDecision) (DecisionDiff, bool) {
	recorded := rd.decision
	diff := DecisionDiff{Node: recorded.Node, ViewRevision: recorded.Revision,
		Time: recorded.Time.Format("2006-01-02T15:04:05.000Z07:00"), Recorded: rd.raw}
	replayed, err := engine.Decide(ctx, view, recorded.Node)
	if err != nil {
		diff.Error = err.Error()
		if errors.Is(err, ErrNoObservation) {
			diff.Error = "the recording has no observation before this decision"
		}
		return diff, false
	}
	raw, err := json.Marshal(replayed)
	if err != nil {
		diff.Error = err.Error()
		return diff, false
	}
	if bytes.Equal(raw, rd.raw) {
		return DecisionDiff{}, true
	}
	diff.Replayed = raw
	diff.Changes = containerChanges(recorded, replayed)
	return diff, false
}

// containerChanges lists the containers whose CPU settings differ; a diff
// with none differs only in its reasons or carry state.
func containerChanges(recorded, replayed state.Decision) []ContainerChange {
	ids := map[string]bool{}
	for id := range recorded.Containers {
		ids[id] = true
	}
	for id := range replayed.Containers {
		ids[id] = true
	}
	var changes []ContainerChange
	for _, id := range state.SortedKeys(ids) {
		was, now := describeCPU(recorded.Containers[id]), describeCPU(replayed.Containers[id])
		if was != now {
			changes = append(changes, ContainerChange{Container: id, Recorded: was, Replayed: now})
		}
	}
	return changes
}

func describeCPU(c state.ContainerDecision) string {
	quota := "unlimited"
	if c.CPUQuotaCores != nil {
		quota = fmt.Sprintf("%.3f", *c.CPUQuotaCores)
	}
	if c.CPUShares != nil {
		return fmt.Sprintf("quota %s, shares %d", quota, *c.CPUShares)
	}
	return "quota " + quota
}
