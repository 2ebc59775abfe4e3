package cfs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"

	"sigs.k8s.io/yaml"
)

// Profile is what the timed CPU model knows of one machine: the kernel's
// scheduler settings and the few free parameters that calibration fits from
// a real run. A zero field takes its default (Defaults); docs/simulator.md
// documents every field.
type Profile struct {
	// Name says which machine the profile describes.
	Name string `json:"name,omitempty"`
	// Source says where the fitted values came from (a real run's directory).
	Source string `json:"source,omitempty"`
	// Scheduler is the kernel's fair scheduler: "eevdf" (Linux 6.6 and
	// later) or "cfs" (before).
	Scheduler string `json:"scheduler,omitempty"`
	// PeriodMs is the CFS bandwidth period (cpu.cfs_period_us), in ms.
	PeriodMs float64 `json:"period_ms,omitempty"`
	// TargetLatencyMs is CFS's target latency (sched_latency_ns): the span
	// over which every runnable task of a CPU runs once, split by weight
	// into slices. EEVDF has none.
	TargetLatencyMs float64 `json:"target_latency_ms,omitempty"`
	// MinGranularityMs is EEVDF's base slice (base_slice_ns), or CFS's
	// shortest slice (sched_min_granularity_ns). Like the kernel, the model
	// scales it, and the target latency and wake-up granularity, by
	// 1 + log2(CPUs) (at most 8 CPUs counted).
	MinGranularityMs float64 `json:"min_granularity_ms,omitempty"`
	// WakeupGranularityMs is how far behind the running task a waking
	// task's virtual runtime must be for CFS to preempt it at once
	// (sched_wakeup_granularity_ns). EEVDF protects the running task's
	// slice instead.
	WakeupGranularityMs float64 `json:"wakeup_granularity_ms,omitempty"`
	// SchedTickMs is the scheduler tick (1000/HZ): a task whose slice is
	// over gives up its CPU at the next tick, not sooner.
	SchedTickMs float64 `json:"sched_tick_ms,omitempty"`
	// WakeupLatencyMs is the scheduling latency: from a task having work
	// again (a request arriving at an idle service) to it being runnable
	// (timer slack, the service's own polling, the wake-up path). Fitted.
	WakeupLatencyMs float64 `json:"wakeup_latency_ms,omitempty"`
	// NoiseCores is the background load on each CPU, in cores, from
	// everything outside the experiment (kernel threads, the agent, Docker,
	// other processes); 0 is a silent machine. Fitted.
	NoiseCores float64 `json:"noise_cores,omitempty"`
	// NoiseBurstMs is the mean length of one burst of background load,
	// which takes its CPU ahead of every container while it lasts.
	NoiseBurstMs float64 `json:"noise_burst_ms,omitempty"`
	// VictimOverhead is the CPU a request costs beyond its nominal size,
	// as a fraction (0.05: a 1 ms request takes 1.05 ms of CPU): the
	// service's runtime, system calls, tracing. Fitted.
	VictimOverhead float64 `json:"victim_overhead,omitempty"`
	// StartLatencyMs is the time from a container's start to its workload
	// running (the runtime's start path, the process's own start-up); no
	// work arrives at it before.
	StartLatencyMs float64 `json:"start_latency_ms,omitempty"`
	// StepMs is the model's time step; finer is slower and no different
	// once well below the granularities.
	StepMs float64 `json:"step_ms,omitempty"`
}

// The schedulers the model knows.
const (
	SchedulerEEVDF = "eevdf"
	SchedulerCFS   = "cfs"
)

// Defaults are the settings of a stock Linux kernel before their scaling
// by the number of CPUs (EEVDF, base slice 0.75 ms; for CFS, latency 6 ms,
// min granularity 0.75 ms, wake-up granularity 1 ms; HZ 250), no noise and
// no overhead.
var Defaults = Profile{
	Scheduler: SchedulerEEVDF, PeriodMs: 100, TargetLatencyMs: 6, MinGranularityMs: 0.75, WakeupGranularityMs: 1,
	SchedTickMs: 4, WakeupLatencyMs: 0.05, NoiseBurstMs: 2, StepMs: 0.1,
}

// WithDefaults returns p with every unset field taken from Defaults.
func (p Profile) WithDefaults() Profile {
	if p.Scheduler == "" {
		p.Scheduler = Defaults.Scheduler
	}
	fill := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	fill(&p.PeriodMs, Defaults.PeriodMs)
	fill(&p.TargetLatencyMs, Defaults.TargetLatencyMs)
	fill(&p.MinGranularityMs, Defaults.MinGranularityMs)
	fill(&p.WakeupGranularityMs, Defaults.WakeupGranularityMs)
	fill(&p.SchedTickMs, Defaults.SchedTickMs)
	fill(&p.WakeupLatencyMs, Defaults.WakeupLatencyMs)
	fill(&p.NoiseBurstMs, Defaults.NoiseBurstMs)
	fill(&p.StepMs, Defaults.StepMs)
	return p
}

// Validate reports the first field out of its range.
func (p Profile) Validate() error {
	if p.Scheduler != SchedulerEEVDF && p.Scheduler != SchedulerCFS {
		return fmt.Errorf("profile %s: scheduler %q, must be %q or %q", p.Name, p.Scheduler, SchedulerEEVDF, SchedulerCFS)
	}
	fields := []struct {
		name     string
		value    float64
		min, max float64
	}{
		{"period_ms", p.PeriodMs, 1, 1000},
		{"target_latency_ms", p.TargetLatencyMs, 0.1, 100},
		{"min_granularity_ms", p.MinGranularityMs, 0.05, 100},
		{"wakeup_granularity_ms", p.WakeupGranularityMs, 0, 100},
		{"sched_tick_ms", p.SchedTickMs, 0.1, 100},
		{"wakeup_latency_ms", p.WakeupLatencyMs, 0, 100},
		{"noise_cores", p.NoiseCores, 0, 0.9},
		{"noise_burst_ms", p.NoiseBurstMs, 0.01, 1000},
		{"victim_overhead", p.VictimOverhead, 0, 10},
		{"start_latency_ms", p.StartLatencyMs, 0, 10000},
		{"step_ms", p.StepMs, 0.01, 1},
	}
	for _, f := range fields {
		if math.IsNaN(f.value) || f.value < f.min || f.value > f.max {
			return fmt.Errorf("profile %s: %s is %g, must be within [%g, %g]", p.Name, f.name, f.value, f.min, f.max)
		}
	}
	if p.StepMs > p.MinGranularityMs {
		return fmt.Errorf("profile %s: step_ms %g is coarser than min_granularity_ms %g", p.Name, p.StepMs, p.MinGranularityMs)
	}
	return nil
}

// LoadProfile reads a profile (YAML or JSON), fills its defaults and checks
// it. Unknown fields are an error, so a misspelt one is not silently the
// default.
func LoadProfile(path string) (Profile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, fmt.Errorf("read node profile: %w", err)
	}
	doc, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return Profile{}, fmt.Errorf("node profile %s: not valid YAML: %w", path, err)
	}
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return Profile{}, fmt.Errorf("node profile %s: %w", path, err)
	}
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return Profile{}, fmt.Errorf("node profile %s: %w", path, err)
	}
	return p, nil
}

// WriteYAML writes the profile with every field, defaults included, so the
// file says what the model ran with.
func (p Profile) WriteYAML(w io.Writer) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return err
	}
	out, err := yaml.JSONToYAML(doc)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}
