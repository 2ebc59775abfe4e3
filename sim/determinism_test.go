package sim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/sluice-io/sluice/sim/cfs"
	"github.com/sluice-io/sluice/state"
)

// recordRun drives a node through a scripted run (containers starting,
// quotas changing, a crash) and returns every observation and every tick's
// ground truth as JSON lines.
func recordRun(t *testing.T, seed uint64, ticks int) []byte {
	return recordRunOn(t, NodeConfig{Name: "sim-1", CPUs: 2, Epoch: epoch, Seed: seed, DemandNoise: 0.05}, ticks)
}

func recordRunOn(t *testing.T, cfg NodeConfig, ticks int) []byte {
	t.Helper()
	n, err := NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	create(t, n, "victim", victimSpec())
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	var hog state.Container
	for k := range ticks {
		switch {
		case k == 20:
			hog = create(t, n, "hog", hogSpec())
		case k > 40 && k%10 == 0:
			quota := 0.1 + 0.05*float64(k%7)
			if err := n.SetCPU(ctx, hog, state.CPUResources{QuotaCores: &quota}); err != nil {
				t.Fatal(err)
			}
		}
		if k == ticks/2 {
			if err := n.Kill("hog/cpuhog"); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Encode(n.Tick(tick)); err != nil {
			t.Fatal(err)
		}
		if err := enc.Encode(n.LastTick()); err != nil {
			t.Fatal(err)
		}
	}
	return out.Bytes()
}

func TestSameSeedSameBytes(t *testing.T) {
	const ticks = 4000 // 1000 s of virtual time
	first, second := recordRun(t, 42, ticks), recordRun(t, 42, ticks)
	if !bytes.Equal(first, second) {
		t.Fatalf("two runs with seed 42 differ: %s vs %s", digest(first), digest(second))
	}
	// The victim's latency is part of what must replay, and it varies.
	if bytes.Count(first, []byte(`"p99_ms"`)) < ticks || !bytes.Contains(first, []byte(`"p99_ms":1,`)) ||
		bytes.Count(first, []byte(`"p99_ms":1,`)) == bytes.Count(first, []byte(`"p99_ms"`)) {
		t.Fatal("the run's latency is missing, or never leaves the service time of 1 ms")
	}
	if other := recordRun(t, 43, ticks); bytes.Equal(first, other) {
		t.Fatal("seeds 42 and 43 gave identical runs: the demand noise does not depend on the seed")
	}
}

func digest(b []byte) string { return fmt.Sprintf("%x (%d bytes)", sha256.Sum256(b), len(b)) }

func TestSameSeedSameBytesOnTheTimedModel(t *testing.T) {
	const ticks = 400 // 100 s of virtual time
	profile := cfs.Profile{NoiseCores: 0.02, WakeupLatencyMs: 0.3, VictimOverhead: 0.05, StartLatencyMs: 100}.WithDefaults()
	run := func(seed uint64) []byte {
		return recordRunOn(t, NodeConfig{Name: "sim-1", CPUs: 2, Epoch: epoch, Seed: seed, Profile: &profile}, ticks)
	}
	first, second := run(42), run(42)
	if !bytes.Equal(first, second) {
		t.Fatalf("two timed runs with seed 42 differ: %s vs %s", digest(first), digest(second))
	}
	if bytes.Count(first, []byte(`"p99_ms"`)) < ticks {
		t.Fatal("the timed run's latency is missing")
	}
	if other := run(43); bytes.Equal(first, other) {
		t.Fatal("seeds 42 and 43 gave identical timed runs: the background load does not depend on the seed")
	}
}
