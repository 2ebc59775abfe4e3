// Command sluice is the node agent and the operator's tool: it runs the
// control loop (agent), edits and shows intent and state (apply, get,
// describe, delete), and runs, records and replays experiments.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	if err := newRootCommand(os.Stdout, os.Stderr).Execute(); err != nil {
		// Multi-line errors (a bundle's compile errors) keep their lines.
		lines := strings.Split(err.Error(), "\n")
		for i, line := range lines {
			lines[i] = printable(line)
		}
		fmt.Fprintln(os.Stderr, "sluice:", strings.Join(lines, "\n"))
		os.Exit(1)
	}
}
