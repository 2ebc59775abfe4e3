package ui

import (
	"context"
	"math"
	"net/http"

	"github.com/sluice-io/sluice/state"
)

// appPage is one app: its lifecycle, containers, charts and decisions.
type appPage struct {
	Name   string
	Node   string
	Spec   *state.AppSpec
	Status *state.AppStatus
	// Error is why the app's spec was rejected, if it was.
	Error            string
	Transitions      []state.Transition
	TransitionsError string
	Containers       []containerRow
	Charts           []chart
	Decisions        []appDecision
	PolicyError      *state.PolicyError
	HasTraces        bool
	HasLogs          bool
}

// containerRow is a container's spec, runtime state, settings in force
// and the decision about it.
type containerRow struct {
	Name, ID, Image, Class string
	SLOMs                  *float64
	Running                bool
	GUID                   string
	UsedCores              float64
	QuotaCores             *float64
	Shares                 uint64
	Decided                state.ContainerDecision
}

// appDecision is a decision's part about one app.
type appDecision struct {
	decisionRecord
	Reasons []state.Reason
}

func (s *Server) app(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("app")
	view := s.view()
	page := appPage{Name: name, Node: s.cfg.Node, HasTraces: s.cfg.Traces != nil, HasLogs: s.cfg.Logs != nil}
	if spec, ok := view.Apps[name]; ok {
		page.Spec = &spec
	}
	if status, ok := view.Statuses[name]; ok {
		page.Status = &status
	}
	for _, key := range []string{state.Keys.App(s.cfg.Node, name), state.Keys.App("", name)} {
		if err, ok := view.Errors[key]; ok {
			page.Error = err
		}
	}
	if page.Spec == nil && page.Status == nil && page.Error == "" {
		http.Error(w, "app "+name+": not on node "+s.cfg.Node, http.StatusNotFound)
		return
	}
	page.Transitions, page.TransitionsError = s.transitions(r.Context(), view, name)
	page.Containers = containerRows(view, s.cfg.Node, page.Spec, page.Status)
	samples := s.history.samples(name)
	page.Charts = appCharts(samples, page.Spec)
	page.Decisions = decisionsAbout(s.history.recentDecisions(), name)
	if e, ok := view.PolicyErrors[s.cfg.Node]; ok {
		page.PolicyError = &e
	}
	s.pages.render(w, r, "app", layout{Title: "app " + name, Agent: true, Live: true, Page: page})
}

// transitions reads the app's lifecycle from the store; a store that does
// not answer costs the timeline, not the page.
func (s *Server) transitions(ctx context.Context, view *state.View, app string) ([]state.Transition, string) {
	if s.cfg.Store == nil {
		return nil, "no store to read the lifecycle from"
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
	defer cancel()
	transitions, err := state.AppTransitions(ctx, s.cfg.Store, s.cfg.Node, app, view.Revision)
	if err != nil {
		return nil, err.Error()
	}
	return transitions, ""
}

func containerRows(view *state.View, node string, spec *state.AppSpec, status *state.AppStatus) []containerRow {
	if spec == nil {
		return nil
	}
	observed := map[string]state.ContainerObservation{}
	for _, c := range view.Observations[node].Containers {
		observed[c.ID] = c
	}
	running := map[string]state.ContainerStatus{}
	if status != nil {
		for _, c := range status.Containers {
			running[c.Name] = c
		}
	}
	decision := view.Decisions[node]
	rows := make([]containerRow, 0, len(spec.Containers))
	for _, c := range spec.Containers {
		id := state.ContainerID(spec.Name, c.Name)
		row := containerRow{Name: c.Name, ID: id, Image: c.Image, Class: string(c.Class),
			Running: running[c.Name].Running, GUID: running[c.Name].GUID, Decided: decision.Containers[id]}
		if c.SLO != nil {
			row.SLOMs = &c.SLO.LatencyP99Ms
		}
		if o, ok := observed[id]; ok {
			row.UsedCores, row.QuotaCores, row.Shares = o.CPUUsageCores, o.CPUQuotaCores, o.CPUShares
		}
		rows = append(rows, row)
	}
	return rows
}

// appCharts draws, over the app's samples: each container's CPU used,
// wanted and decided quota; the weights decided and in force; the app's
// latency against its SLO; and each container's egress against its limit.
func appCharts(samples []sample, spec *state.AppSpec) []chart {
	ids := containerIDs(samples)
	n := len(samples)
	var charts []chart
	for _, id := range ids {
		charts = append(charts, chart{Title: "CPU of " + id, Unit: "cores", Points: n, Lines: []line{
			{Name: "used", Class: "used", Values: series(samples, id, func(c containerSample) float64 { return c.UsedCores })},
			{Name: "wanted", Class: "wanted", Values: series(samples, id, func(c containerSample) float64 { return c.WantedCores })},
			{Name: "decided quota", Class: "decided", Values: series(samples, id, func(c containerSample) float64 { return value(c.Decided.CPUQuotaCores) })},
		}})
	}
	weights := chart{Title: "CPU weight", Unit: "shares", Points: n}
	egress := chart{Title: "egress", Unit: "Mbit/s", Points: n}
	for i, id := range ids {
		class := "series" + string(rune('a'+i%6))
		weights.Lines = append(weights.Lines,
			line{Name: id + " in force", Class: class, Values: series(samples, id, func(c containerSample) float64 { return float64(c.Shares) })},
			line{Name: id + " decided", Class: class + " dashed", Values: series(samples, id, func(c containerSample) float64 {
				if c.Decided.CPUShares == nil {
					return math.NaN()
				}
				return float64(*c.Decided.CPUShares)
			})})
		egress.Lines = append(egress.Lines,
			line{Name: id, Class: class, Values: series(samples, id, func(c containerSample) float64 { return c.TxMbit })},
			line{Name: id + " limit", Class: class + " dashed", Values: series(samples, id, func(c containerSample) float64 { return value(c.Decided.NetMbit) })})
	}
	return append(charts, weights, latencyChart(samples, spec), egress)
}

func latencyChart(samples []sample, spec *state.AppSpec) chart {
	p50, p99, slo := make([]float64, len(samples)), make([]float64, len(samples)), make([]float64, len(samples))
	bound := math.NaN()
	if spec != nil {
		for _, c := range spec.Containers {
			if c.SLO != nil {
				bound = c.SLO.LatencyP99Ms
			}
		}
	}
	for i, s := range samples {
		p50[i], p99[i], slo[i] = math.NaN(), math.NaN(), bound
		if s.Latency != nil && s.Latency.Count > 0 {
			p50[i], p99[i] = s.Latency.P50Ms, s.Latency.P99Ms
		}
	}
	return chart{Title: "latency", Unit: "ms", Points: len(samples), Lines: []line{
		{Name: "p50", Class: "used", Values: p50}, {Name: "p99", Class: "wanted", Values: p99}, {Name: "SLO p99", Class: "slo", Values: slo},
	}}
}

// containerIDs are the containers the samples hold, sorted.
func containerIDs(samples []sample) []string {
	seen := map[string]bool{}
	for _, s := range samples {
		for id := range s.Containers {
			seen[id] = true
		}
	}
	return state.SortedKeys(seen)
}

// series is one value per sample of container id; NaN where it is absent.
func series(samples []sample, id string, of func(containerSample) float64) []float64 {
	out := make([]float64, len(samples))
	for i, s := range samples {
		c, ok := s.Containers[id]
		if !ok {
			out[i] = math.NaN()
			continue
		}
		out[i] = of(c)
	}
	return out
}

func value(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}

// decisionsAbout keeps the reasons that concern app: all of a decision's
// when it sets something for one of app's containers (a neighbour's
// reason is why), else those about its containers or about none.
func decisionsAbout(decisions []decisionRecord, app string) []appDecision {
	var out []appDecision
	for _, d := range decisions {
		reasons := d.Reasons
		if !setsApp(d, app) {
			reasons = nil
			for _, r := range d.Reasons {
				if r.Container == "" || state.AppOf(r.Container) == app {
					reasons = append(reasons, r)
				}
			}
		}
		out = append(out, appDecision{decisionRecord: d, Reasons: reasons})
	}
	return out
}

func setsApp(d decisionRecord, app string) bool {
	for id, c := range d.Containers {
		if state.AppOf(id) == app && (c.CPUQuotaCores != nil || c.NetMbit != nil) {
			return true
		}
	}
	return false
}
