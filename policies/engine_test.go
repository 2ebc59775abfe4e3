package policies

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/state"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func compileFiles(t *testing.T, files map[string]string) (*Engine, error) {
	t.Helper()
	raw := map[string][]byte{}
	for name, content := range files {
		raw[name] = []byte(content)
	}
	b, err := LoadFiles(raw)
	if err != nil {
		return nil, err
	}
	return NewEngine(context.Background(), b)
}

func TestEngineCompilesTheShippedPolicy(t *testing.T) {
	dirEngine := defaultEngine(t)
	if _, ok := dirEngine.Bundle().Modules["shield_test.rego"]; !ok {
		t.Error("LoadDir left out shield_test.rego; tests belong to the bundle")
	}
	b, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewEngine(context.Background(), b); err != nil {
		t.Fatalf("the embedded default bundle does not compile: %v", err)
	}
	if _, ok := b.Modules["shield_test.rego"]; ok {
		t.Error("the embedded bundle carries tests")
	}
}

func TestCapabilitiesRefuseOutsideWorldBuiltins(t *testing.T) {
	for _, call := range []string{
		`http.send({"method": "GET", "url": "http://127.0.0.1:1"})`,
		`net.lookup_ip_addr("localhost")`,
		`opa.runtime()`,
		`rand.intn("seed", 10)`,
		`uuid.rfc4122("seed")`,
	} {
		builtin := call[:strings.Index(call, "(")]
		t.Run(builtin, func(t *testing.T) {
			policy := "package sluice.shield\n\ndecision := {\"containers\": {}, \"reasons\": [], \"carry\": {\"x\": x}} if {\n\tx := " + call + "\n}\n"
			_, err := compileFiles(t, map[string]string{"sneaky.rego": policy})
			if err == nil {
				t.Fatalf("a policy calling %s compiled", builtin)
			}
			var perr *Error
			if !errors.As(err, &perr) || perr.Stage != StageCompile {
				t.Errorf("want a compile-stage *Error, got %T %v", err, err)
			}
			for _, want := range []string{"sneaky.rego:4", builtin} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not name %q: %v", want, err)
				}
			}
		})
	}
}

func TestSyntaxErrorNamesFileAndLine(t *testing.T) {
	_, err := compileFiles(t, map[string]string{
		"ok.rego":     "package sluice.shield\n\ndecision := {}\n",
		"broken.rego": "package sluice.extra\n\nx := 1\n\ny := )\n\nz := 2\n",
	})
	if err == nil || !strings.Contains(err.Error(), "broken.rego:5") {
		t.Fatalf("want an error naming broken.rego:5, got %v", err)
	}
}

func TestDataJSONErrorNamesLine(t *testing.T) {
	_, err := compileFiles(t, map[string]string{
		"p.rego":    "package sluice.shield\n\ndecision := {}\n",
		"data.json": "{\n  \"thresholds\": {\n    \"a\": 1,\n  }\n}\n",
	})
	if err == nil || !strings.Contains(err.Error(), "data.json: line 4") {
		t.Fatalf("want an error naming data.json line 4, got %v", err)
	}
}

func TestBundleWithoutDecisionIsRefused(t *testing.T) {
	_, err := compileFiles(t, map[string]string{"p.rego": "package sluice.other\n\ndecision := {}\n"})
	if err == nil || !strings.Contains(err.Error(), Entrypoint) {
		t.Fatalf("want an error naming %s, got %v", Entrypoint, err)
	}
}

func TestLoadFilesRefusesStrayNames(t *testing.T) {
	_, err := LoadFiles(map[string][]byte{
		"shield.rego": []byte("package sluice.shield\n\ndecision := {}\n"),
		"shield.rgo":  []byte("typo"),
	})
	if err == nil || !strings.Contains(err.Error(), "shield.rgo") {
		t.Fatalf("want an error naming shield.rgo, got %v", err)
	}
}

func TestDigestFollowsContentAndNames(t *testing.T) {
	base := map[string][]byte{"a.rego": []byte("package a\n"), "data.json": []byte("{}")}
	same := map[string][]byte{"data.json": []byte("{}"), "a.rego": []byte("package a\n")}
	edited := map[string][]byte{"a.rego": []byte("package a \n"), "data.json": []byte("{}")}
	renamed := map[string][]byte{"b.rego": []byte("package a\n"), "data.json": []byte("{}")}
	if Digest(base) != Digest(same) {
		t.Error("the digest depends on map order")
	}
	if !strings.HasPrefix(Digest(base), "sha256:") || len(Digest(base)) != len("sha256:")+64 {
		t.Errorf("digest %q is not sha256:<hex>", Digest(base))
	}
	for name, other := range map[string]map[string][]byte{"edited": edited, "renamed": renamed} {
		if Digest(other) == Digest(base) {
			t.Errorf("%s bundle has the same digest", name)
		}
	}
}

// The policy's "now" is the observation's time, never the wall clock.
func TestEvalTimeIsTheObservationTime(t *testing.T) {
	engine, err := compileFiles(t, map[string]string{"clock.rego": `package sluice.shield

decision := {"containers": {}, "reasons": [{"rule": "clock", "message": sprintf("%d", [time.now_ns()])}]}
`})
	if err != nil {
		t.Fatal(err)
	}
	d, err := engine.Decide(context.Background(), contendedView(), testNode)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Reasons[0].Message, strconv.FormatInt(testTime.UnixNano(), 10); got != want {
		t.Errorf("time.now_ns() = %s, want the observation time %s", got, want)
	}
	if !d.Time.Equal(testTime) {
		t.Errorf("decision time %v, want the observation time %v", d.Time, testTime)
	}
}

func TestDecideStampsRevisionAndDigest(t *testing.T) {
	engine := defaultEngine(t)
	view := contendedView()
	d, err := engine.Decide(context.Background(), view, testNode)
	if err != nil {
		t.Fatal(err)
	}
	if d.Revision != view.Revision || d.BundleDigest != engine.Digest() || d.Node != testNode {
		t.Errorf("decision stamped node %q revision %d digest %s, want %q %d %s",
			d.Node, d.Revision, d.BundleDigest, testNode, view.Revision, engine.Digest())
	}
}

// Same view, same bundle: byte-identical decisions, from one engine or
// two, and after the decision went through the log and came back.
func TestDecisionsAreDeterministic(t *testing.T) {
	first, second := defaultEngine(t), defaultEngine(t)
	view := contendedView()
	want := decisionJSON(t, first, view)
	for i := range 20 {
		if got := decisionJSON(t, first, view); !bytes.Equal(got, want) {
			t.Fatalf("evaluation %d differs:\n%s\n%s", i, got, want)
		}
	}
	if got := decisionJSON(t, second, view); !bytes.Equal(got, want) {
		t.Fatalf("a second engine decides differently:\n%s\n%s", got, want)
	}

	// The next tick reads the decision back from the log; deciding on the
	// folded view and on the in-memory one must agree byte for byte.
	var d state.Decision
	if err := json.Unmarshal(want, &d); err != nil {
		t.Fatal(err)
	}
	inMemory := contendedView()
	inMemory.Decisions[testNode] = d
	folded := state.Fold(testNode, state.Event{Revision: 43, Key: state.Keys.Decision(testNode), Value: want})
	logged := contendedView()
	logged.Decisions[testNode] = folded.Decisions[testNode]
	if a, b := decisionJSON(t, first, inMemory), decisionJSON(t, first, logged); !bytes.Equal(a, b) {
		t.Fatalf("decision on the folded view differs:\n%s\n%s", a, b)
	}
}

func TestDecideWithoutObservation(t *testing.T) {
	view := contendedView()
	delete(view.Observations, testNode)
	_, err := defaultEngine(t).Decide(context.Background(), view, testNode)
	if !errors.Is(err, ErrNoObservation) {
		t.Fatalf("want ErrNoObservation, got %v", err)
	}
}

func TestDecideRefusesInvalidOutput(t *testing.T) {
	for name, tc := range map[string]struct{ decision, want string }{
		"unknown container": {`{"containers": {"shop/ghost": {"cpu_quota_millicores": 500}}}`, "shop/ghost"},
		"quota too big":     {`{"containers": {"batch/hog": {"cpu_quota_millicores": 2000}}}`, "cpu_quota_cores 2"},
		"unknown field":     {`{"containers": {"batch/hog": {"cpu_quota_cores": 0.5}}}`, "cpu_quota_cores: unknown field"},
		"shares not whole":  {`{"containers": {"batch/hog": {"cpu_shares": 2.5}}}`, "cpu_shares: want a whole number"},
		"not an object":     {`[1]`, "want an object"},
	} {
		t.Run(name, func(t *testing.T) {
			engine, err := compileFiles(t, map[string]string{"p.rego": "package sluice.shield\n\ndecision := " + tc.decision + "\n"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = engine.Decide(context.Background(), contendedView(), testNode)
			var perr *Error
			if !errors.As(err, &perr) || perr.Stage != StageValidate {
				t.Fatalf("want a validate-stage *Error, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not name %q: %v", tc.want, err)
			}
			record := perr.PolicyError(testNode, 42, testTime)
			if record.Stage != StageValidate || record.BundleDigest != engine.Digest() || record.Error == "" {
				t.Errorf("policy error record %+v lacks stage, digest or message", record)
			}
		})
	}
}

func TestDecideRefusesUndefinedDecision(t *testing.T) {
	engine, err := compileFiles(t, map[string]string{"p.rego": "package sluice.shield\n\ndecision := {} if input.never\n"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.Decide(context.Background(), contendedView(), testNode)
	var perr *Error
	if !errors.As(err, &perr) || perr.Stage != StageEval || !strings.Contains(err.Error(), "undefined") {
		t.Fatalf("want an eval-stage *Error saying undefined, got %v", err)
	}
}

func TestStrictBuiltinErrorsFailTheEvaluation(t *testing.T) {
	engine, err := compileFiles(t, map[string]string{"p.rego": `package sluice.shield

decision := {"containers": {}, "carry": {"n": to_number(input.node.name)}}
`})
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.Decide(context.Background(), contendedView(), testNode)
	var perr *Error
	if !errors.As(err, &perr) || perr.Stage != StageEval || !strings.Contains(err.Error(), "p.rego:3") {
		t.Fatalf("want an eval-stage *Error naming p.rego:3, got %v", err)
	}
}

// The previous decision, carry included, reaches the policy.
func TestPreviousDecisionReachesThePolicy(t *testing.T) {
	engine, err := compileFiles(t, map[string]string{"echo.rego": `package sluice.shield

decision := {"containers": {}, "carry": {"seen": input.previous.carry, "quota": input.previous.containers["batch/hog"].cpu_quota_millicores}}
`})
	if err != nil {
		t.Fatal(err)
	}
	view := contendedView()
	view.Decisions[testNode] = state.Decision{
		Node:       testNode,
		Containers: map[string]state.ContainerDecision{"batch/hog": {CPUQuotaCores: ptr(0.3)}},
		Carry:      map[string]any{"step": 2.0, "nested": map[string]any{"x": []any{1.0, "a"}}},
	}
	d, err := engine.Decide(context.Background(), view, testNode)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(d.Carry)
	want := `{"quota":300,"seen":{"nested":{"x":[1,"a"]},"step":2}}`
	if string(got) != want {
		t.Errorf("carry = %s, want %s", got, want)
	}
}

// The input and decision documents of the headline case, as
// docs/policies.md shows them; run with -update to rewrite them.
func TestDocumentsMatchGoldenFiles(t *testing.T) {
	view := contendedView()
	hogSpec := &view.Apps["batch"].Containers[0]
	hogSpec.Resources.CPUShares = ptr(uint64(64))
	view.Apps["shop"].Containers[0].SLO = &state.SLOSpec{LatencyP99Ms: 20}
	obs := view.Observations[testNode]
	for i := range obs.Containers {
		c := &obs.Containers[i]
		c.MemoryBytes = 64 << 20
		c.CPUShares = 1024
		if c.ID == "shop/victim" {
			c.Work = &state.WorkReport{Arrived: 0.175, Served: 0.125, Backlog: 0.05}
			c.Latency = &state.LatencyStats{Count: 125, P50Ms: 1.25, P95Ms: 18.5, P99Ms: 26.375, MaxMs: 31}
		} else {
			c.CPUShares = 64
		}
	}
	view.Decisions[testNode] = state.Decision{
		Node: testNode, Revision: 41, Time: testTime.Add(-250_000_000), BundleDigest: "sha256:0123",
		Containers: map[string]state.ContainerDecision{"batch/hog": {}, "shop/victim": {}},
		Reasons:    []state.Reason{},
		Carry:      map[string]any{"victims": map[string]any{"shop/victim": map[string]any{"rate_millicores": 650.0, "backlog_cpu_ms": 0.0, "margin_millicores": 0.0}}},
	}
	input, err := Input(view, testNode)
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, "input.json", []byte(input.String()))
	d, err := defaultEngine(t).Decide(context.Background(), view, testNode)
	if err != nil {
		t.Fatal(err)
	}
	d.BundleDigest = "sha256:(digest of the bundle)"
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	compareGolden(t, "decision.json", out)
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	pretty.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(pretty.Bytes(), want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", name, pretty.Bytes())
	}
}

// docs/policies.md shows the golden documents; it must not drift from them.
func TestDocsShowTheGoldenDocuments(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "policies.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"input.json", "decision.json"} {
		golden, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(doc, bytes.TrimSpace(golden)) {
			t.Errorf("docs/policies.md does not show testdata/%s as it is now", name)
		}
	}
}

// A recording's bundle is the one its header carries, digest and all; a
// recording without one says so.
func TestRecordedBundle(t *testing.T) {
	shipped, err := LoadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for name, content := range shipped.Files {
		files[name] = string(content)
	}
	got, err := RecordedBundle(state.Recording{Header: state.RecordingHeader{Policy: files}})
	if err != nil || got.Digest != shipped.Digest {
		t.Errorf("RecordedBundle = %v, %v; want the shipped bundle, digest %s", got, err, shipped.Digest)
	}
	if _, err := RecordedBundle(state.Recording{}); !errors.Is(err, ErrNoRecordedPolicy) {
		t.Errorf("RecordedBundle of a recording without policy = %v, want ErrNoRecordedPolicy", err)
	}
}
