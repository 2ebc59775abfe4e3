package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/sluice-io/sluice/state"
)

func newApplyCommand(opts *globalOptions) *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "apply -f FILE...",
		Short: "Create or update apps from spec files (JSON or YAML)",
		Long: `Create or update apps from spec files (JSON or YAML).

Every file is read and validated before anything is written. The specs then
go to etcd in as few transactions as its limits allow (128 apps and 1.5 MiB
per transaction). Each transaction is atomic: its apps are applied all or
none, and share one revision. A larger set is not atomic as a whole: if a
write fails, the apps reported applied stay applied and the rest are not;
applying the same files again is safe.`,
		Example: `  sluice apply -f examples/apps/web.json
  # the same, with the pinned etcdctl:
  go tool etcdctl put /sluice/apps/web "$(cat examples/apps/web.json)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return errors.New("-f: give at least one spec file")
			}
			specs, err := readSpecFiles(files)
			if err != nil {
				return err
			}
			return applySpecs(cmd.Context(), opts, specs)
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "app spec files")
	return cmd
}

// readSpecFiles parses and validates every file before anything is written,
// so one bad file does not leave half of a set applied.
func readSpecFiles(files []string) ([]state.AppSpec, error) {
	var specs []state.AppSpec
	for _, file := range files {
		spec, err := readSpecFile(file)
		if err != nil {
			return nil, err
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

func readSpecFile(file string) (state.AppSpec, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return state.AppSpec{}, fmt.Errorf("read spec: %w", err)
	}
	data, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return state.AppSpec{}, fmt.Errorf("%s: not JSON or YAML: %w", file, err)
	}
	spec, err := state.ParseAppSpec(data, state.Capacity{})
	if err != nil {
		return state.AppSpec{}, fmt.Errorf("%s: %w", file, err)
	}
	return spec, nil
}

// checkOnNodes validates each pinned spec against its node's registered
// capacity, as that node's agent will: a spec its node would reject is
// not written. An unregistered node, or an unpinned spec, is checked by
// the agent that takes it up.
func checkOnNodes(ctx context.Context, store state.Store, specs []state.AppSpec) error {
	for _, spec := range specs {
		if spec.Node == "" {
			continue
		}
		kv, found, _, err := store.Get(ctx, state.Keys.Node(spec.Node))
		if err != nil {
			return fmt.Errorf("read the registration of node %s: %w", spec.Node, err)
		}
		var info state.NodeInfo
		if !found || json.Unmarshal(kv.Value, &info) != nil {
			continue
		}
		if err := spec.ValidateFor(info.Capacity); err != nil {
			return fmt.Errorf("on node %s: %w", spec.Node, err)
		}
	}
	return nil
}

// applySpecs writes the specs in transactions within etcd's limits and
// reports each app with the revision of the transaction that carried it.
func applySpecs(ctx context.Context, opts *globalOptions, specs []state.AppSpec) error {
	store, err := opts.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := checkOnNodes(ctx, store, specs); err != nil {
		return err
	}
	ops := make([]state.Op, 0, len(specs))
	for _, spec := range specs {
		value, err := json.Marshal(spec)
		if err != nil {
			return fmt.Errorf("encode app %s: %w", spec.Name, err)
		}
		ops = append(ops, state.Put(state.Keys.App(spec.Node, spec.Name), value))
	}
	applied, txns := 0, 0
	err = state.TxnBatched(ctx, store, ops, func(batch []state.Op, rev int64) {
		for _, spec := range specs[applied : applied+len(batch)] {
			fmt.Fprintf(opts.stdout, "app/%s applied (revision %d)\n", spec.Name, rev)
		}
		applied += len(batch)
		txns++
	})
	if err != nil {
		return fmt.Errorf("write specs: %d of %d apps applied (listed above), the rest not: %w", applied, len(specs), err)
	}
	if txns > 1 {
		fmt.Fprintf(opts.stdout, "%d apps applied in %d transactions, each atomic: apps of one revision went together\n", applied, txns)
	}
	return nil
}

func newDeleteCommand(opts *globalOptions) *cobra.Command {
	var node string
	cmd := &cobra.Command{
		Use:   "delete app NAME...",
		Short: "Delete apps: their containers are stopped and removed",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "app" && args[0] != "apps" {
				return fmt.Errorf("delete %s: only apps can be deleted", args[0])
			}
			return deleteApps(cmd.Context(), opts, node, args[1:])
		},
	}
	addNodeFlag(cmd, &node)
	return cmd
}

func deleteApps(ctx context.Context, opts *globalOptions, node string, names []string) error {
	return opts.withStoreCluster(ctx, func(store state.Store, cluster state.ClusterView) error {
		for _, name := range names {
			view, err := appNodeView(cluster, name, node)
			if err != nil {
				return err
			}
			spec, ok := view.Apps[name]
			if !ok {
				return fmt.Errorf("app %s: no spec to delete", name)
			}
			if _, err := store.Txn(ctx, state.Delete(state.Keys.App(spec.Node, name))); err != nil {
				return fmt.Errorf("delete app %s: %w", name, err)
			}
			fmt.Fprintf(opts.stdout, "app/%s deleted\n", printable(name))
		}
		return nil
	})
}

// containerNames lists an app's containers for a table cell.
func containerNames(spec state.AppSpec) string {
	names := make([]string, len(spec.Containers))
	for i, c := range spec.Containers {
		names[i] = c.Name
	}
	return strings.Join(names, ",")
}
