package ui

import "github.com/sluice-io/sluice/agent"

// ForAgent builds an agent's pages (agent.WithPages), with the experiment
// runs under experimentsDir (empty: none).
func ForAgent(experimentsDir string) func(agent.PageSources) (agent.Pages, error) {
	return func(src agent.PageSources) (agent.Pages, error) {
		cfg := Config{Node: src.Node, Views: src.Views, Store: src.Store, ExperimentsDir: experimentsDir,
			Interval: src.Interval, StoreTimeout: src.StoreTimeout}
		if traces, ok := src.Traces.(TraceSource); ok {
			cfg.Traces = traces
		}
		if logs, ok := src.Runtime.(LogSource); ok {
			cfg.Logs = logs
		}
		return New(cfg)
	}
}
