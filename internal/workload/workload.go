// Package workload holds what sluice's workload programs (cpuhog, netload,
// sineload) share. Each runs as PID 1 of a FROM-scratch container, built
// with CGO_ENABLED=0, so this package uses the standard library alone.
package workload

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// RunFunc is a workload's body: args are the command-line arguments after
// the program name. It returns when ctx ends or its work is done.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// Main runs the workload named name with a SignalContext and exits the
// process with the status Run gives.
func Main(name string, run RunFunc) {
	ctx, stop := SignalContext(context.Background())
	code := Run(ctx, name, os.Args[1:], os.Stdout, os.Stderr, run)
	stop()
	os.Exit(code)
}

// SignalContext returns a context that ends on SIGTERM (docker stop) or
// SIGINT (a terminal's ^C). As PID 1 of a container, a process that
// installs no handler ignores SIGTERM, and docker stop would have to wait
// for its timeout before killing it.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, syscall.SIGTERM, syscall.SIGINT)
}

// Run calls run and turns its error into an exit status: 0 for none or for
// flag.ErrHelp (the flag package already printed the usage asked for), 1
// for any other, printed on stderr after the program's name.
func Run(ctx context.Context, name string, args []string, stdout, stderr io.Writer, run RunFunc) int {
	err := run(ctx, args, stdout, stderr)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return 1
}

// NewFlagSet returns a flag set named name that prints its usage and
// errors on stderr and returns errors rather than exiting, so the caller's
// Run decides the exit status.
func NewFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// Parse parses args with fs and refuses positional arguments, which no
// workload takes.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}
