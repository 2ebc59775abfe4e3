package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/sluice-io/sluice/state"
)

// watchApps prints the apps (those named, or all), then each app again
// whenever a write changes how it shows, until ctx ends. It follows one
// watch of the whole key space and re-reads the cluster only after writes
// to specs or statuses; each re-read has the store's deadline.
func watchApps(ctx context.Context, opts *globalOptions, output string, names []string) error {
	return opts.withStoreCluster(ctx, func(store state.Store, cluster state.ClusterView) error {
		return followApps(ctx, opts, output, names, store, cluster)
	})
}

// followApps prints the apps of cluster, then each change of them.
func followApps(ctx context.Context, opts *globalOptions, output string, names []string, store state.Store, cluster state.ClusterView) error {
	shown := map[string]string{}
	if err := printChangedApps(opts, output, cluster, names, shown, true); err != nil {
		return err
	}
	var err error
	for resp := range store.Watch(ctx, state.Root, cluster.Revision+1) {
		if resp.Err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watch %s: %w", state.Root, resp.Err)
		}
		if !slices.ContainsFunc(resp.Events, touchesApps) {
			continue
		}
		if cluster, err = state.LoadCluster(ctx, store); err != nil {
			return err
		}
		if err := printChangedApps(opts, output, cluster, names, shown, false); err != nil {
			return err
		}
	}
	return nil
}

func touchesApps(ev state.Event) bool {
	kind := ev.Kind()
	return kind == state.KindApp || kind == state.KindStatus
}

// printChangedApps prints the rows that differ from what shown says was
// printed last, and remembers them. The table's header goes out once.
func printChangedApps(opts *globalOptions, output string, cluster state.ClusterView, names []string, shown map[string]string, header bool) error {
	var changed []appRow
	for _, row := range appRows(cluster) {
		if len(names) > 0 && !slices.Contains(names, row.Name) {
			continue
		}
		key := row.Node + "/" + row.Name
		encoded, err := json.Marshal(row)
		if err != nil {
			return fmt.Errorf("encode app %s: %w", row.Name, err)
		}
		if shown[key] != string(encoded) {
			shown[key] = string(encoded)
			changed = append(changed, row)
		}
	}
	if output != "table" && output != "" {
		for _, row := range changed {
			if output == "yaml" {
				fmt.Fprintln(opts.stdout, "---") // one document per change
			}
			if err := render(opts.stdout, output, row, nil); err != nil {
				return err
			}
		}
		return nil
	}
	if len(changed) == 0 && !header {
		return nil
	}
	return render(opts.stdout, output, changed, func(t *table) { fillAppRows(t, changed, header) })
}
