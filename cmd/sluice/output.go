package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// addOutputFlag gives a command the -o flag every listing takes.
func addOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "table", "output format: table, json or yaml")
}

// isTerminal says whether w is a terminal, where progress may be
// rewritten in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// table writes aligned columns.
type table struct{ w *tabwriter.Writer }

func (t *table) row(cells ...any) {
	parts := make([]string, len(cells))
	for i, c := range cells {
		parts[i] = fmt.Sprint(c)
	}
	fmt.Fprintln(t.w, strings.Join(parts, "\t"))
}

// render writes value as indented JSON, as YAML with the same field names,
// or as a table drawn by fill.
func render(w io.Writer, output string, value any, fill func(*table)) error {
	switch output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(value)
	case "yaml":
		data, err := yaml.Marshal(value)
		if err != nil {
			return fmt.Errorf("-o yaml: %w", err)
		}
		_, err = w.Write(data)
		return err
	case "table", "":
		t := &table{w: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
		fill(t)
		return t.w.Flush()
	default:
		return fmt.Errorf("-o %s: unknown output format (want table, json or yaml)", output)
	}
}
