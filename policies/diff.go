package policies

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"

	"github.com/sluice-io/sluice/state"
)

// maxLargestChanges bounds PolicyDiff.Largest.
const maxLargestChanges = 10

// PolicyDiff summarises a replay with another bundle: what that bundle
// would have changed in the recorded decisions.
type PolicyDiff struct {
	Decisions int `json:"decisions"`
	// Differing counts the decisions whose container settings differ;
	// Errors those on which the new bundle failed instead of deciding. A
	// decision that differs only in its reasons, carried state or digest
	// sets the same and counts in neither.
	Differing    int    `json:"differing"`
	Errors       int    `json:"errors"`
	PolicyDigest string `json:"policy_digest"`
	// Containers has one entry per container whose settings would change,
	// the most changed first.
	Containers []ContainerDiff `json:"containers"`
	// Largest are the largest single changes, at most maxLargestChanges.
	Largest []SettingChange `json:"largest"`
}

// ContainerDiff is what a bundle would change for one container.
type ContainerDiff struct {
	Container string `json:"container"`
	// Decisions counts the decisions that would set it differently.
	Decisions int `json:"decisions"`
	// Largest is its largest change.
	Largest SettingChange `json:"largest"`
}

// SettingChange is one container's CPU setting in one decision, recorded
// and replayed. DeltaQuotaCores is replayed minus recorded, nil when one of
// them is unlimited; LimitChanged says a quota was lifted or imposed, which
// ranks above any numeric change.
type SettingChange struct {
	Container       string   `json:"container"`
	ViewRevision    int64    `json:"view_revision"`
	Recorded        string   `json:"recorded"`
	Replayed        string   `json:"replayed"`
	DeltaQuotaCores *float64 `json:"delta_quota_cores,omitempty"`
	LimitChanged    bool     `json:"limit_changed,omitempty"`
	DeltaShares     int64    `json:"delta_shares,omitempty"`
}

// magnitude orders changes: a limit lifted or imposed first, then by the
// quota moved, then by the shares.
func (c SettingChange) magnitude() (bool, float64, int64) {
	quota := 0.0
	if c.DeltaQuotaCores != nil {
		quota = math.Abs(*c.DeltaQuotaCores)
	}
	return c.LimitChanged, quota, abs(c.DeltaShares)
}

func larger(a, b SettingChange) bool {
	flipA, quotaA, sharesA := a.magnitude()
	flipB, quotaB, sharesB := b.magnitude()
	if flipA != flipB {
		return flipA
	}
	if quotaA != quotaB {
		return quotaA > quotaB
	}
	return sharesA > sharesB
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// Summarise turns a replay with another bundle into what that bundle
// would have changed.
func Summarise(result ReplayResult) (PolicyDiff, error) {
	diff := PolicyDiff{Decisions: result.Decisions, PolicyDigest: result.PolicyDigest,
		Containers: []ContainerDiff{}, Largest: []SettingChange{}}
	byContainer := map[string]*ContainerDiff{}
	var all []SettingChange
	for _, d := range result.Differing {
		switch {
		case d.Error != "":
			diff.Errors++
			continue
		case len(d.Changes) == 0:
			continue
		}
		diff.Differing++
		changes, err := settingChanges(d)
		if err != nil {
			return PolicyDiff{}, err
		}
		for _, c := range changes {
			entry, ok := byContainer[c.Container]
			if !ok {
				entry = &ContainerDiff{Container: c.Container, Largest: c}
				byContainer[c.Container] = entry
			}
			entry.Decisions++
			if larger(c, entry.Largest) {
				entry.Largest = c
			}
			all = append(all, c)
		}
	}
	for _, name := range state.SortedKeys(byContainer) {
		diff.Containers = append(diff.Containers, *byContainer[name])
	}
	sort.SliceStable(diff.Containers, func(i, j int) bool { return larger(diff.Containers[i].Largest, diff.Containers[j].Largest) })
	sort.SliceStable(all, func(i, j int) bool { return larger(all[i], all[j]) })
	diff.Largest = append(diff.Largest, all[:min(len(all), maxLargestChanges)]...)
	return diff, nil
}

// settingChanges measures the changes of one differing decision.
func settingChanges(d DecisionDiff) ([]SettingChange, error) {
	var recorded, replayed state.Decision
	if err := json.Unmarshal(d.Recorded, &recorded); err != nil {
		return nil, fmt.Errorf("decision at revision %d: %w", d.ViewRevision, err)
	}
	if err := json.Unmarshal(d.Replayed, &replayed); err != nil {
		return nil, fmt.Errorf("replayed decision at revision %d: %w", d.ViewRevision, err)
	}
	out := make([]SettingChange, len(d.Changes))
	for i, c := range d.Changes {
		was, now := recorded.Containers[c.Container], replayed.Containers[c.Container]
		out[i] = SettingChange{Container: c.Container, ViewRevision: d.ViewRevision, Recorded: c.Recorded, Replayed: c.Replayed}
		if was.CPUQuotaCores != nil && now.CPUQuotaCores != nil {
			delta := *now.CPUQuotaCores - *was.CPUQuotaCores
			out[i].DeltaQuotaCores = &delta
		}
		out[i].LimitChanged = (was.CPUQuotaCores == nil) != (now.CPUQuotaCores == nil)
		out[i].DeltaShares = int64(valueOr(now.CPUShares)) - int64(valueOr(was.CPUShares))
	}
	return out, nil
}

func valueOr(p *uint64) uint64 {
	if p == nil {
		return 0
	}
	return *p
}
