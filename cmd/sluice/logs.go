package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/state"
)

func newLogsCommand(opts *globalOptions) *cobra.Command {
	var follow bool
	var container string
	var tail int
	cmd := &cobra.Command{
		Use:   "logs APP",
		Short: "Print (or follow) the logs of an app's containers on this host's Docker engine",
		Example: `  sluice logs victim -f --tail 20
  sluice logs web --container frontend`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return appLogs(cmd.Context(), opts, args[0], container, tail, follow)
		},
	}
	cmd.Flags().IntVar(&tail, "tail", -1, "only the last N lines of each container's output (-1: all)")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until interrupted")
	cmd.Flags().StringVar(&container, "container", "", "only this container of the app")
	return cmd
}

func appLogs(ctx context.Context, opts *globalOptions, app, only string, tail int, follow bool) error {
	var node string
	if err := opts.withAppView(ctx, app, "", func(_ state.Store, view *state.View) error {
		status, ok := view.Statuses[app]
		if !ok {
			return fmt.Errorf("app %s: no status yet (is it applied, and is an agent running?)", app)
		}
		node = status.Node
		return nil
	}); err != nil {
		return err
	}
	rt, err := docker.New(ctx, docker.Config{Node: node}, opts.logger())
	if err != nil {
		return fmt.Errorf("logs are read from this host's Docker engine: %w", err)
	}
	defer rt.Close()
	containers, err := rt.AppContainers(ctx, app, only)
	if err != nil {
		return err
	}
	// Following several containers at once would interleave them.
	if follow && len(containers) > 1 {
		return fmt.Errorf("app %s has %d containers: pick the one to follow with --container", app, len(containers))
	}
	for _, c := range containers {
		if len(containers) > 1 {
			fmt.Fprintf(opts.stdout, "==> %s (%s) <==\n", printable(c.ID), printable(c.GUID))
		}
		if err := rt.TailLogs(ctx, c, tail, follow, opts.stdout); err != nil {
			return err
		}
	}
	return nil
}
