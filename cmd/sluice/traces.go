package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/state"
)

// appTraces is what `sluice traces` shows of one app.
type appTraces struct {
	App        string                `json:"app"`
	Node       string                `json:"node"`
	Time       time.Time             `json:"time"`
	EndToEnd   *state.LatencyStats   `json:"end_to_end,omitempty"`
	Containers []containerLatency    `json:"containers"`
	Recent     []traces.TraceSummary `json:"recent"`
	// RecentError says why the recent traces could not be read.
	RecentError string `json:"recent_error,omitempty"`
}

type containerLatency struct {
	ID      string              `json:"id"`
	Latency *state.LatencyStats `json:"latency"`
}

func newTracesCommand(opts *globalOptions) *cobra.Command {
	var output, agent string
	var limit int
	cmd := &cobra.Command{
		Use:   "traces APP",
		Short: "Show an app's latency over the last tick and its recent traces",
		Long: `traces shows the latency of the app's server spans per container and of
its whole traces over the last observed tick (from the store), and the
app's most recent traces, which the agent serves beside its metrics.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var out appTraces
			if err := opts.withAppView(cmd.Context(), args[0], "", func(_ state.Store, view *state.View) error {
				var err error
				out, err = latencyOf(view, args[0])
				return err
			}); err != nil {
				return err
			}
			out.Recent, out.RecentError = recentTraces(cmd.Context(), agent, args[0], limit)
			return render(opts.stdout, output, out, func(t *table) { fillTraces(t, out) })
		},
	}
	cmd.Flags().StringVar(&agent, "agent", "http://127.0.0.1:9464", "the agent's metrics address, which also serves recent traces")
	cmd.Flags().IntVar(&limit, "limit", 10, "how many recent traces")
	addOutputFlag(cmd, &output)
	return cmd
}

// latencyOf reads the app's latency from the latest observation of the
// node its status names.
func latencyOf(view *state.View, app string) (appTraces, error) {
	status, ok := view.Statuses[app]
	if !ok {
		return appTraces{}, fmt.Errorf("app %s: no status yet (is it applied, and is an agent running?)", app)
	}
	obs, ok := view.Observations[status.Node]
	if !ok {
		return appTraces{}, fmt.Errorf("app %s: node %s has not reported an observation yet", app, status.Node)
	}
	out := appTraces{App: app, Node: status.Node, Time: obs.Time, Containers: []containerLatency{}, Recent: []traces.TraceSummary{}}
	for _, c := range obs.Containers {
		if c.App == app {
			out.Containers = append(out.Containers, containerLatency{ID: c.ID, Latency: c.Latency})
		}
	}
	if a, ok := obs.Apps[app]; ok {
		out.EndToEnd = a.Latency
	}
	return out, nil
}

// recentTraces asks the agent; an agent that does not answer leaves the
// latency from the store to be shown on its own.
func recentTraces(ctx context.Context, agent, app string, limit int) ([]traces.TraceSummary, string) {
	u := agent + traces.RecentPath + "?" + url.Values{"app": {app}, "limit": {strconv.Itoa(limit)}}.Encode()
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return []traces.TraceSummary{}, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return []traces.TraceSummary{}, fmt.Sprintf("the agent at %s does not answer: %v", agent, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return []traces.TraceSummary{}, fmt.Sprintf("the agent at %s serves no traces (%s): is it on the Docker runtime with --traces?", agent, resp.Status)
	}
	var recent []traces.TraceSummary
	if err := json.NewDecoder(resp.Body).Decode(&recent); err != nil {
		return []traces.TraceSummary{}, fmt.Sprintf("decode the agent's traces: %v", err)
	}
	return recent, ""
}

func fillTraces(t *table, a appTraces) {
	t.row("APP", a.App, "NODE", a.Node, "AT", a.Time.Format("15:04:05.000"))
	t.row("CONTAINER", "REQUESTS", "ERRORS", "P50 MS", "P95 MS", "P99 MS", "MAX MS")
	for _, c := range a.Containers {
		latencyRow(t, c.ID, c.Latency)
	}
	latencyRow(t, "end to end", a.EndToEnd)
	if a.RecentError != "" {
		t.row("recent traces:", a.RecentError)
		return
	}
	t.row("TRACE", "START", "DURATION MS", "SPANS", "CONTAINERS")
	for _, tr := range a.Recent {
		t.row(tr.TraceID, tr.Start.Format("15:04:05.000"), fmt.Sprintf("%.2f", tr.DurationMs), tr.Spans, fmt.Sprint(tr.Containers))
	}
}

func latencyRow(t *table, name string, l *state.LatencyStats) {
	if l == nil {
		t.row(name, 0, "-", "-", "-", "-", "-")
		return
	}
	t.row(name, l.Count, l.Errors, fmt.Sprintf("%.2f", l.P50Ms), fmt.Sprintf("%.2f", l.P95Ms),
		fmt.Sprintf("%.2f", l.P99Ms), fmt.Sprintf("%.2f", l.MaxMs))
}
