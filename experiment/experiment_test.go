package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/sluice-io/sluice/policies"
	"github.com/sluice-io/sluice/sim/report"
	"github.com/sluice-io/sluice/sim/scenario"
	"github.com/sluice-io/sluice/state"
)

const (
	shieldSine = "../examples/experiments/shield-sine.yaml"
	policyDir  = "../policies"
)

func loadShieldSine(t testing.TB, scale float64) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load(shieldSine)
	if err != nil {
		t.Fatal(err)
	}
	scaled := sc.Scaled(scale)
	return &scaled
}

func loadBundle(t testing.TB) *policies.Bundle {
	t.Helper()
	bundle, err := policies.LoadDir(policyDir)
	if err != nil {
		t.Fatal(err)
	}
	return bundle
}

func run(t testing.TB, sc *scenario.Scenario, bundle *policies.Bundle, stores StoreFactory) *Result {
	t.Helper()
	res, err := Run(context.Background(), Config{Scenario: sc, Bundle: bundle, Stores: stores})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// outputs renders what a run writes to disk, for byte comparison.
func outputs(t testing.TB, sc *scenario.Scenario, res *Result) (csv, events []byte) {
	t.Helper()
	var csvBuf, eventsBuf bytes.Buffer
	if err := report.WriteCSV(&csvBuf, res.Rows); err != nil {
		t.Fatal(err)
	}
	if err := state.WriteRecording(&eventsBuf, res.Recording); err != nil {
		t.Fatal(err)
	}
	return csvBuf.Bytes(), eventsBuf.Bytes()
}

// TestShieldSineMeetsItsTargets runs the full-length headline experiment
// and checks the bounds the project promises for the simulator.
func TestShieldSineMeetsItsTargets(t *testing.T) {
	sc := loadShieldSine(t, 1)
	res := run(t, sc, loadBundle(t), MemoryStores)
	phases := map[string]report.PhaseSummary{}
	for _, p := range res.Summary.Phases {
		phases[p.Name] = p
	}
	check := func(what string, got float64, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s = %.4f, out of bounds", what, got)
		}
	}
	check("alone satisfaction", phases["alone"].VictimCPUSatisfaction, phases["alone"].VictimCPUSatisfaction >= 0.99)
	check("contended satisfaction", phases["contended"].VictimCPUSatisfaction, phases["contended"].VictimCPUSatisfaction <= 0.75)
	shielded := phases["shielded"]
	check("shielded satisfaction", shielded.VictimCPUSatisfaction, shielded.VictimCPUSatisfaction >= 0.98)
	if shielded.HogShareOfFreeCPU == nil || *shielded.HogShareOfFreeCPU < 0.90 {
		t.Errorf("shielded hog share of free CPU = %v, want ≥ 0.90", shielded.HogShareOfFreeCPU)
	}
	if shielded.TimeToShieldSeconds == nil || *shielded.TimeToShieldSeconds > 1.0 {
		t.Errorf("shielded time to shield = %v, want ≤ 1.0 s", shielded.TimeToShieldSeconds)
	}
	split := phases["static-split"]
	if split.HogShareOfFreeCPU == nil || *split.HogShareOfFreeCPU >= *shielded.HogShareOfFreeCPU {
		t.Errorf("static-split hog share %v should fall below the policy's %v: a fixed split wastes CPU",
			split.HogShareOfFreeCPU, *shielded.HogShareOfFreeCPU)
	}
}

func TestSameSeedSameBytes(t *testing.T) {
	sc := loadShieldSine(t, 0.25)
	bundle := loadBundle(t)
	first := run(t, sc, bundle, MemoryStores)
	csv1, events1 := outputs(t, sc, first)
	csv2, events2 := outputs(t, sc, run(t, sc, bundle, MemoryStores))
	if !bytes.Equal(csv1, csv2) {
		t.Error("two runs with the same seed wrote different timeseries.csv")
	}
	if !bytes.Equal(events1, events2) {
		t.Error("two runs with the same seed wrote different events.jsonl")
	}
	if countEvents(first.Recording, state.KindDecision) == 0 {
		t.Fatal("the recording holds no decisions")
	}
}

// countEvents counts the recorded writes of keys of kind.
func countEvents(rec state.Recording, kind state.Kind) int {
	n := 0
	for _, segment := range rec.Segments {
		for _, ev := range segment.Events {
			if state.ParseKey(ev.Key).Kind == kind && !ev.Deleted {
				n++
			}
		}
	}
	return n
}

// TestEtcdStoreMakesIdenticalDecisions runs the loop on real embedded etcd
// servers and compares the whole recording with the in-memory run's.
func TestEtcdStoreMakesIdenticalDecisions(t *testing.T) {
	sc := loadShieldSine(t, 0.1)
	bundle := loadBundle(t)
	_, inMemory := outputs(t, sc, run(t, sc, bundle, MemoryStores))
	_, onEtcd := outputs(t, sc, run(t, sc, bundle, embeddedStores(t)))
	if !bytes.Equal(inMemory, onEtcd) {
		t.Fatal("the run on embedded etcd recorded different events than the run in memory")
	}
}

func embeddedStores(t *testing.T) StoreFactory {
	return func(string) (state.Store, func() error, error) {
		server, err := state.StartEmbedded(state.EmbeddedConfig{
			DataDir: t.TempDir(), ClientURL: "http://127.0.0.1:0", PeerURL: "http://127.0.0.1:0",
		})
		if err != nil {
			return nil, nil, err
		}
		cli, err := server.Client()
		if err != nil {
			server.Close()
			return nil, nil, err
		}
		store := state.NewEtcdStore(cli)
		return store, func() error {
			store.Close()
			cli.Close()
			return server.Close()
		}, nil
	}
}

func TestReplayReproducesEveryDecision(t *testing.T) {
	sc := loadShieldSine(t, 0.25)
	bundle := loadBundle(t)
	res := run(t, sc, bundle, MemoryStores)
	_, events := outputs(t, sc, res)
	rec, err := state.ReadRecording(bytes.NewReader(events))
	if err != nil {
		t.Fatal(err)
	}
	result := replay(t, bundle, rec)
	if result.Decisions == 0 || result.Identical != result.Decisions || len(result.Differing) != 0 {
		t.Fatalf("replay: %d decisions, %d identical, %d differing: %+v",
			result.Decisions, result.Identical, len(result.Differing), result.Differing)
	}
}

// TestReplayWithAnotherPolicyShowsWhatChanges replays a recording through a
// copy of the policy with a larger headroom: the quotas it would have set
// are lower, and the replay must say so.
func TestReplayWithAnotherPolicyShowsWhatChanges(t *testing.T) {
	sc := loadShieldSine(t, 0.25)
	bundle := loadBundle(t)
	rec := run(t, sc, bundle, MemoryStores).Recording
	changed := changedHeadroom(t, bundle, 0.3)
	result := replay(t, changed, rec)
	if len(result.Differing) == 0 {
		t.Fatal("a policy with a different headroom reproduced every decision")
	}
	quotaChanges := 0
	for _, d := range result.Differing {
		for _, c := range d.Changes {
			if c.Container == sc.Hog {
				quotaChanges++
			}
		}
	}
	if quotaChanges == 0 {
		t.Fatalf("no differing decision changed the hog's quota: %+v", result.Differing[0])
	}
}

func replay(t testing.TB, bundle *policies.Bundle, rec state.Recording) policies.ReplayResult {
	t.Helper()
	engine, err := policies.NewEngine(context.Background(), bundle)
	if err != nil {
		t.Fatal(err)
	}
	result, err := policies.Replay(context.Background(), engine, rec)
	if err != nil {
		t.Fatal(err)
	}
	return result
}

// changedHeadroom copies the bundle with its headroom threshold set to
// cores, in whichever unit data.json keeps it.
func changedHeadroom(t *testing.T, bundle *policies.Bundle, cores float64) *policies.Bundle {
	t.Helper()
	var data map[string]any
	if err := json.Unmarshal(bundle.Files["data.json"], &data); err != nil {
		t.Fatal(err)
	}
	if !setNumber(data, "headroom_cores", cores) && !setNumber(data, "headroom_millicores", cores*1000) {
		t.Fatalf("data.json has no headroom threshold: %s", bundle.Files["data.json"])
	}
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for name, content := range bundle.Files {
		files[name] = content
	}
	files["data.json"] = raw
	changed, err := policies.LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	return changed
}

// setNumber sets the first numeric field named key, at any depth.
func setNumber(doc map[string]any, key string, v float64) bool {
	for k, value := range doc {
		if _, isNumber := value.(float64); isNumber && k == key {
			doc[k] = v
			return true
		}
		if nested, ok := value.(map[string]any); ok && setNumber(nested, key, v) {
			return true
		}
	}
	return false
}

// BenchmarkReplay measures open-loop replay of a recorded shield-sine run.
func BenchmarkReplay(b *testing.B) {
	sc := loadShieldSine(b, 1)
	bundle := loadBundle(b)
	rec := run(b, sc, bundle, MemoryStores).Recording
	engine, err := policies.NewEngine(context.Background(), bundle)
	if err != nil {
		b.Fatal(err)
	}
	events := 0
	b.ResetTimer()
	for b.Loop() {
		result, err := policies.Replay(context.Background(), engine, rec)
		if err != nil {
			b.Fatal(err)
		}
		events += result.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
}
