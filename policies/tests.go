package policies

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is the outcome of one Rego test rule (a rule named test_*).
type TestResult struct {
	Package  string        `json:"package"`
	Name     string        `json:"name"`
	File     string        `json:"file"`
	Line     int           `json:"line"`
	Pass     bool          `json:"pass"`
	Skip     bool          `json:"skip,omitempty"`
	Error    string        `json:"error,omitempty"`
	Output   string        `json:"output,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

func (r TestResult) String() string {
	outcome := "PASS"
	switch {
	case r.Skip:
		outcome = "SKIP"
	case r.Error != "":
		outcome = "ERROR: " + r.Error
	case !r.Pass:
		outcome = "FAIL"
	}
	return fmt.Sprintf("%s:%d: %s.%s: %s", r.File, r.Line, r.Package, r.Name, outcome)
}

// RunTests loads the bundle in dir and runs its Rego tests; it backs
// `sluice policy test DIR`.
func RunTests(ctx context.Context, dir string) ([]TestResult, error) {
	b, err := LoadDir(dir)
	if err != nil {
		return nil, err
	}
	return RunBundleTests(ctx, b)
}

// RunBundleTests runs every test_* rule of b with OPA's tester, under the
// same restricted Capabilities the engine uses, so a test cannot pass by
// calling a builtin the policy would be refused. Results come sorted by
// file and line. The error is for tests that could not run at all; a
// failing test is a result with Pass false.
func RunBundleTests(ctx context.Context, b *Bundle) ([]TestResult, error) {
	compiler := ast.NewCompiler().
		WithCapabilities(Capabilities()).
		WithEnablePrintStatements(true)
	runner := tester.NewRunner().
		SetCompiler(compiler).
		SetStore(inmem.NewFromObject(b.Data)).
		SetModules(b.Modules).
		RaiseBuiltinErrors(true)
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("run policy tests of bundle %s: %w", shortDigest(b.Digest), err)
	}
	var results []TestResult
	for r := range ch {
		results = append(results, testResult(r))
	}
	sort.Slice(results, func(i, j int) bool {
		if results[i].File != results[j].File {
			return results[i].File < results[j].File
		}
		return results[i].Line < results[j].Line
	})
	return results, nil
}

func testResult(r *tester.Result) TestResult {
	out := TestResult{
		Package:  strings.TrimPrefix(r.Package, "data."),
		Name:     r.Name,
		Pass:     r.Pass(),
		Skip:     r.Skip,
		Output:   string(r.Output),
		Duration: r.Duration,
	}
	if r.Location != nil {
		out.File, out.Line = r.Location.File, r.Location.Row
	}
	if r.Error != nil {
		out.Error = r.Error.Error()
	}
	return out
}
