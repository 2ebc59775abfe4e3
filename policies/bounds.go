package policies

import (
	"context"
	"errors"
	"fmt"
	"runtime/metrics"
	"time"
)

// DefaultEvalHeapBytes bounds how much the heap may grow while one
// evaluation runs: a decision for twenty containers allocates a few
// hundred KiB (BenchmarkDecide), and a policy that builds millions of
// values is stopped before the agent's memory grows by more.
const DefaultEvalHeapBytes = 32 << 20

// heapPoll is how often an evaluation's heap growth is sampled: at the
// rate OPA allocates, a few MiB between samples at most.
const heapPoll = time.Millisecond

// heapMetric counts the bytes of heap objects, live or not yet swept: what
// an evaluation's allocations add before a collection.
const heapMetric = "/memory/classes/heap/objects:bytes"

// ErrTimeout and ErrMemory say an evaluation was stopped at one of its
// bounds: its deadline, or DefaultEvalHeapBytes of heap growth. A bundle
// stopped so is rejected (Reloader.Reject) like one that fails to compile.
var (
	ErrTimeout = errors.New("evaluation stopped at its deadline")
	ErrMemory  = fmt.Errorf("evaluation stopped after the heap grew by %d MiB", DefaultEvalHeapBytes>>20)
)

// Bounded reports whether err is an evaluation stopped at a bound.
func Bounded(err error) bool { return errors.Is(err, ErrTimeout) || errors.Is(err, ErrMemory) }

// withHeapBound returns a context that is cancelled, with ErrMemory as its
// cause, once the heap has grown by limit bytes since the call; stop ends
// the watch and releases the context.
func withHeapBound(ctx context.Context, limit uint64) (bounded context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	sample := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(sample)
	ceiling := sample[0].Value.Uint64() + limit
	go func() {
		ticker := time.NewTicker(heapPoll)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
			if metrics.Read(sample); sample[0].Value.Uint64() > ceiling {
				cancel(ErrMemory)
				return
			}
		}
	}()
	return ctx, func() {
		close(done)
		cancel(nil)
	}
}

// boundError says which bound stopped an evaluation, if one did: err is
// what OPA returned, ctx the evaluation's context.
func boundError(ctx context.Context, err error) error {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, ErrMemory):
		return fmt.Errorf("%w: %v", ErrMemory, err)
	case errors.Is(cause, context.DeadlineExceeded):
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	return err
}
