// Command cpuhog is the best-effort neighbour of sluice's experiments: it
// keeps --threads threads busy on the CPU, holding --hold-mib MiB of memory
// it has touched, until it receives SIGTERM or SIGINT, then exits 0.
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

type config struct {
	threads int
	holdMiB int
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := workload.NewFlagSet("cpuhog", stderr)
	fs.IntVar(&c.threads, "threads", 1, "threads to keep busy, one core each")
	fs.IntVar(&c.holdMiB, "hold-mib", 0, "MiB of memory to touch and hold while spinning")
	if err := workload.Parse(fs, args); err != nil {
		return config{}, err
	}
	switch {
	case c.threads < 1:
		return config{}, fmt.Errorf("--threads %d must be at least 1", c.threads)
	case c.holdMiB < 0:
		return config{}, fmt.Errorf("--hold-mib %d must not be negative", c.holdMiB)
	}
	return c, nil
}

func main() {
	workload.Main("cpuhog", func(ctx context.Context, args []string, _, stderr io.Writer) error {
		c, err := parseFlags(args, stderr)
		if err != nil {
			return err
		}
		held := touch(c.holdMiB << 20)
		hog(ctx, c.threads)
		runtime.KeepAlive(held)
		return nil
	})
}

// pageSize is the smallest page a kernel maps; touching one byte in each
// is what makes memory resident.
const pageSize = 4096

// touch allocates n bytes and writes to every page of them, so that they
// count against the container's memory limit: the runtime's fresh memory
// is mapped but not resident until written.
func touch(n int) []byte {
	held := make([]byte, n)
	for i := 0; i < len(held); i += pageSize {
		held[i] = 1
	}
	return held
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
