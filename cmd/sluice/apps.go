package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/sluice-io/sluice/state"
)

func newApplyCommand(opts *globalOptions) *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|-...",
		Short: "Create or update apps from spec files (JSON or YAML)",
		Long: `Create or update apps from spec files (JSON or YAML).

-f takes a file, a directory (its *.json, *.yaml and *.yml files, in name
order, not its subdirectories) or - for standard input. A YAML file or
input may hold several specs as documents separated by --- lines. Every
spec is read and validated before anything is written. The specs then
go to etcd in as few transactions as its limits allow (128 apps and 1.5 MiB
per transaction). Each transaction is atomic: its apps are applied all or
none, and share one revision. A larger set is not atomic as a whole: if a
write fails, the apps reported applied stay applied and the rest are not;
applying the same files again is safe.`,
		Example: `  sluice apply -f examples/apps/web.json
  sluice apply -f examples/apps/
  cat web.yaml | sluice apply -f -
  # the same, with the pinned etcdctl:
  go tool etcdctl put /sluice/apps/web "$(cat examples/apps/web.json)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return errors.New("-f: give at least one spec file")
			}
			specs, err := readSpecFiles(files, cmd.InOrStdin())
			if err != nil {
				return err
			}
			return applySpecs(cmd.Context(), opts, specs)
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "app spec files, directories of them, or - for standard input")
	return cmd
}

// maxSpecInput bounds what one -f reads: far more than any set of specs.
const maxSpecInput = 16 << 20

// readSpecFiles parses and validates every spec before anything is written,
// so one bad file does not leave half of a set applied.
func readSpecFiles(files []string, stdin io.Reader) ([]state.AppSpec, error) {
	var specs []state.AppSpec
	for _, file := range files {
		paths, err := specPaths(file)
		if err != nil {
			return nil, err
		}
		for _, path := range paths {
			raw, err := readSpecInput(path, stdin)
			if err != nil {
				return nil, err
			}
			for i, doc := range yamlDocuments(raw) {
				name := path
				if i > 0 {
					name = fmt.Sprintf("%s (document %d)", path, i+1)
				}
				spec, err := parseSpec(name, doc)
				if err != nil {
					return nil, err
				}
				specs = append(specs, spec)
			}
		}
	}
	return specs, nil
}

// specPaths expands a directory into its spec files, in name order.
func specPaths(file string) ([]string, error) {
	if file == "-" {
		return []string{file}, nil
	}
	info, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	if !info.IsDir() {
		return []string{file}, nil
	}
	entries, err := os.ReadDir(file)
	if err != nil {
		return nil, fmt.Errorf("read spec dir: %w", err)
	}
	var paths []string
	for _, entry := range entries {
		switch filepath.Ext(entry.Name()) {
		case ".json", ".yaml", ".yml":
			if !entry.IsDir() {
				paths = append(paths, filepath.Join(file, entry.Name()))
			}
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: no *.json, *.yaml or *.yml spec files", file)
	}
	return paths, nil
}

func readSpecInput(path string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("read spec: %w", err)
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxSpecInput+1))
	if err != nil {
		return nil, fmt.Errorf("read spec %s: %w", path, err)
	}
	if len(raw) > maxSpecInput {
		return nil, fmt.Errorf("%s: over %d MiB of specs", path, maxSpecInput>>20)
	}
	return raw, nil
}

// yamlDocuments splits YAML input at its "---" lines, leaving out empty
// documents; JSON never has such a line, so it stays whole.
func yamlDocuments(raw []byte) [][]byte {
	var docs [][]byte
	var doc []byte
	for line := range bytes.Lines(raw) {
		if bytes.HasPrefix(line, []byte("---")) && len(bytes.TrimSpace(line[3:])) == 0 {
			docs, doc = appendDocument(docs, doc), nil
			continue
		}
		doc = append(doc, line...)
	}
	return appendDocument(docs, doc)
}

func appendDocument(docs [][]byte, doc []byte) [][]byte {
	if len(bytes.TrimSpace(doc)) == 0 {
		return docs
	}
	return append(docs, doc)
}

func parseSpec(file string, raw []byte) (state.AppSpec, error) {
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
			key, done, err := deletionOf(view, name)
			if err != nil {
				return err
			}
			if _, err := store.Txn(ctx, state.Delete(key)); err != nil {
				return fmt.Errorf("delete app %s: %w", name, err)
			}
			fmt.Fprintf(opts.stdout, "app/%s %s\n", printable(name), done)
		}
		return nil
	})
}

// deletionOf is the key whose delete removes app: its spec, or, for an
// app that already terminated, its status, which purges it from listings
// before the agent's retention would.
func deletionOf(view *state.View, app string) (key, done string, err error) {
	if spec, ok := view.Apps[app]; ok {
		return state.Keys.App(spec.Node, app), "deleted", nil
	}
	status, ok := view.Statuses[app]
	if ok && status.Phase == state.Terminated {
		return state.Keys.Status(view.Node, app), "purged", nil
	}
	if ok {
		return "", "", fmt.Errorf("app %s: no spec to delete; it is %s", app, status.Phase)
	}
	return "", "", fmt.Errorf("app %s: no spec to delete", app)
}

// containerNames lists an app's containers for a table cell.
func containerNames(spec state.AppSpec) string {
	names := make([]string, len(spec.Containers))
	for i, c := range spec.Containers {
		names[i] = c.Name
	}
	return strings.Join(names, ",")
}
