package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// addOutputFlag gives a command the -o flag every listing takes.
func addOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "table", "output format: table or json")
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

// render writes value as indented JSON, or as a table drawn by fill.
func render(w io.Writer, output string, value any, fill func(*table)) error {
	switch output {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(value)
	case "table", "":
		t := &table{w: tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)}
		fill(t)
		return t.w.Flush()
	default:
		return fmt.Errorf("-o %s: unknown output format (want table or json)", output)
	}
}
