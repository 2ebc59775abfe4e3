// Command cpuhog is the best-effort neighbour of sluice's experiments: it
// keeps --threads threads busy on the CPU until it receives SIGTERM or
// SIGINT, then exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

func parseFlags(args []string, stderr io.Writer) (threads int, err error) {
	fs := flag.NewFlagSet("cpuhog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&threads, "threads", 1, "threads to keep busy, one core each")
	if err := fs.Parse(args); err != nil {
		return 0, err
	}
	if fs.NArg() > 0 {
		return 0, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if threads < 1 {
		return 0, fmt.Errorf("--threads %d must be at least 1", threads)
	}
	return threads, nil
}

func main() {
	// As PID 1 of a container, a process that installs no handler ignores
	// SIGTERM and docker stop has to wait for its timeout; handle it.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	threads, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpuhog:", err)
		os.Exit(1)
	}
	hog(ctx, threads)
}

// hog spins on threads OS threads until ctx ends and returns the number of
// spin rounds done, which proves the threads ran.
func hog(ctx context.Context, threads int) uint64 {
	var stopped atomic.Bool
	go func() {
		<-ctx.Done()
		stopped.Store(true)
	}()
	var rounds atomic.Uint64
	var wg sync.WaitGroup
	for range threads {
		wg.Go(func() {
			runtime.LockOSThread()
			rounds.Add(spin(&stopped))
		})
	}
	wg.Wait()
	return rounds.Load()
}

// spin burns CPU until stopped is set, checking it between rounds short
// enough (microseconds) that SIGTERM takes effect at once.
func spin(stopped *atomic.Bool) uint64 {
	var rounds uint64
	x := uint64(1)
	for !stopped.Load() {
		for range 4096 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		rounds++
	}
	spinSink.Store(x)
	return rounds
}

// spinSink keeps the compiler from discarding the spin loop's result.
var spinSink atomic.Uint64
