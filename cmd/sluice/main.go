// Command sluice is the node agent and the operator's tool: it runs the
// control loop (agent), edits and shows intent and state (apply, get,
// describe, delete), and runs, records and replays experiments.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand(os.Stdout, os.Stderr).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "sluice:", err)
		os.Exit(1)
	}
}
