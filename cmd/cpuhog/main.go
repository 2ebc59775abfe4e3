// Command cpuhog is the best-effort neighbour of sluice's experiments: it
// keeps --threads threads busy on the CPU until it receives SIGTERM or
// SIGINT, then exits 0.
package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/sluice-io/sluice/internal/workload"
)

func parseFlags(args []string, stderr io.Writer) (threads int, err error) {
	fs := workload.NewFlagSet("cpuhog", stderr)
	fs.IntVar(&threads, "threads", 1, "threads to keep busy, one core each")
	if err := workload.Parse(fs, args); err != nil {
		return 0, err
	}
	if threads < 1 {
		return 0, fmt.Errorf("--threads %d must be at least 1", threads)
	}
	return threads, nil
}

func main() {
	workload.Main("cpuhog", func(ctx context.Context, args []string, _, stderr io.Writer) error {
		threads, err := parseFlags(args, stderr)
		if err != nil {
			return err
		}
		hog(ctx, threads)
		return nil
	})
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
