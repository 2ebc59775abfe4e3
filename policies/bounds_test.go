package policies

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/testenv"
)

// Runaway policies an operator might push: one that loops 16M times, one
// that builds a 3M-element array. Each makes a decision once it is done,
// so only a bound stops it.
var runawayPolicies = map[string]string{
	"16M iterations": `package sluice.shield

misses := count([1 | some i in numbers.range(1, 4000); some j in numbers.range(1, 4000); i == j + 100000])

decision := {"containers": {}, "reasons": [{"rule": "loop", "message": sprintf("%d", [misses])}]}
`,
	"3M-element array": `package sluice.shield

values := numbers.range(1, 3000000)

decision := {"containers": {}, "reasons": [{"rule": "array", "message": sprintf("%d", [count(values)])}]}
`,
}

func runawayEngine(t testing.TB, policy string) *Engine {
	t.Helper()
	b, err := LoadFiles(map[string][]byte{"runaway.rego": []byte(policy)})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := NewEngine(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	return engine
}

// An evaluation stops at its deadline or its heap bound, whichever comes
// first, with an error that says it was bounded.
func TestRunawayPoliciesStopAtABound(t *testing.T) {
	for name, policy := range runawayPolicies {
		t.Run(name, func(t *testing.T) {
			engine := runawayEngine(t, policy)
			ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
			defer cancel()
			_, err := engine.Decide(ctx, contendedView(), testNode)
			var failure *Error
			if !errors.As(err, &failure) || failure.Stage != StageEval || !Bounded(err) {
				t.Fatalf("Decide = %v, want an eval error stopped at a bound", err)
			}
		})
	}
}

// A bundle stopped at a bound is taken out of force: the one it replaced
// is back, and the failure is kept until the bundle changes.
func TestReloaderRejectsABoundedBundle(t *testing.T) {
	ctx := context.Background()
	r, err := NewReloader(ctx, ".", discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	good := r.Engine()
	view := contendedView()
	view.Policies["runaway.rego"] = []byte(runawayPolicies["3M-element array"])
	runaway, loadErr := r.SyncView(ctx, view)
	if loadErr != nil || runaway == good {
		t.Fatalf("the runaway bundle was not put in force: %v", loadErr)
	}
	_, err = runaway.Decide(ctx, view, testNode)
	var failure *Error
	if !errors.As(err, &failure) || !r.Reject(runaway, failure) {
		t.Fatalf("Decide = %v; the bundle was not rejected", err)
	}
	engine, syncErr := r.SyncView(ctx, view)
	if engine != good || !errors.Is(syncErr, ErrMemory) {
		t.Fatalf("after the rejection: engine %s, error %v; want the good %s and the memory bound", engine.Digest(), syncErr, good.Digest())
	}
	if _, err := engine.Decide(ctx, contendedView(), testNode); err != nil {
		t.Fatalf("the good bundle no longer decides: %v", err)
	}
}

// BenchmarkRunawayPolicy evaluates each runaway policy under a 250 ms
// deadline and reports the process's peak resident set (VmHWM): the heap
// bound must keep it below 128 MiB. Run one at a time, so that the peak is
// this benchmark's:
//
//	go test -run XXX -bench RunawayPolicy/3M ./policies/
func BenchmarkRunawayPolicy(b *testing.B) {
	for name, policy := range runawayPolicies {
		b.Run(strings.ReplaceAll(name, " ", "-"), func(b *testing.B) {
			engine := runawayEngine(b, policy)
			view := contendedView()
			for b.Loop() {
				ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
				_, err := engine.Decide(ctx, view, testNode)
				cancel()
				if !Bounded(err) {
					b.Fatalf("Decide = %v, want it stopped at a bound", err)
				}
			}
			peak := testenv.PeakRSSMiB(b)
			b.ReportMetric(peak, "peak-rss-MiB")
			if peak >= 128 {
				b.Fatalf("peak RSS %.0f MiB, want < 128", peak)
			}
		})
	}
}

// A bundle that has decided is proven: one evaluation stopped at its
// deadline (a starved CPU) fails that decision, and the bundle stays.
func TestReloaderKeepsAProvenBundle(t *testing.T) {
	ctx := context.Background()
	r, err := NewReloader(ctx, ".", discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	view := contendedView()
	b, err := LoadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range b.Files {
		view.Policies[name] = data
	}
	view.Policies["extra.rego"] = []byte("package sluice.extra\n\nx := 1\n")
	pushed, loadErr := r.SyncView(ctx, view)
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	if _, err := pushed.Decide(ctx, view, testNode); err != nil {
		t.Fatal(err)
	}
	expired, cancel := context.WithTimeout(ctx, 0)
	defer cancel()
	_, err = pushed.Decide(expired, view, testNode)
	var failure *Error
	if !errors.As(err, &failure) || !Bounded(err) {
		t.Fatalf("Decide past its deadline = %v, want it stopped at a bound", err)
	}
	if r.Reject(pushed, failure) || r.Engine() != pushed {
		t.Fatal("a proven bundle was rejected for one slow evaluation")
	}
}
