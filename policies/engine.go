package policies

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/sluice-io/sluice/state"
)

// Entrypoint is the rule every bundle must define: its value is the
// decision for one node (docs/policies.md).
const Entrypoint = "data.sluice.shield.decision"

// Engine evaluates one compiled, prepared bundle. It is immutable once
// built but for decided, so several goroutines may call Decide at once; a
// new bundle means a new Engine (see Reloader).
type Engine struct {
	bundle  *Bundle
	query   rego.PreparedEvalQuery
	layouts *layouts
	// decided says an evaluation has completed within its bounds: a bundle
	// that has decided once is proven, and one later evaluation stopped at
	// a bound (a starved CPU) fails that decision only (Reloader.Reject).
	decided atomic.Bool
}

// NewEngine compiles b's policy modules (tests left out) under the
// restricted Capabilities and prepares the Entrypoint query, once. Every
// failure is an *Error with Stage StageCompile.
func NewEngine(ctx context.Context, b *Bundle) (*Engine, error) {
	query, err := prepare(ctx, b)
	if err != nil {
		return nil, &Error{Stage: StageCompile, BundleDigest: b.Digest, Err: err}
	}
	return &Engine{bundle: b, query: query, layouts: newLayouts()}, nil
}

func prepare(ctx context.Context, b *Bundle) (rego.PreparedEvalQuery, error) {
	var none rego.PreparedEvalQuery
	caps := Capabilities()
	compiler := ast.NewCompiler().WithCapabilities(caps).WithEnablePrintStatements(false)
	if compiler.Compile(b.policyModules()); compiler.Failed() {
		return none, compileErrors(compiler.Errors)
	}
	if len(compiler.GetRules(ast.MustParseRef(Entrypoint))) == 0 {
		return none, fmt.Errorf("no rule defines %s, the decision every bundle must make", Entrypoint)
	}
	store := inmem.NewFromObjectWithOpts(b.Data, inmem.OptReturnASTValuesOnRead(true))
	return rego.New(
		rego.Query(Entrypoint),
		rego.Compiler(compiler),
		rego.Store(store),
		rego.Capabilities(caps),
		rego.StrictBuiltinErrors(true),
		// Hand the result over as OPA's AST: parseOutput reads it directly,
		// which spares a conversion to Go maps on every decision.
		rego.GenerateJSON(func(t *ast.Term, _ *rego.EvalContext) (any, error) { return t.Value, nil }),
	).PrepareForEval(ctx)
}

// compileErrors lists every error, one per line, each naming its
// file:line; OPA's own summary starts with a count that says nothing.
func compileErrors(errs ast.Errors) error {
	joined := make([]error, len(errs))
	for i, e := range errs {
		joined[i] = e
	}
	return errors.Join(joined...)
}

// Bundle is the bundle the engine runs.
func (e *Engine) Bundle() *Bundle { return e.bundle }

// Digest is the digest of the engine's bundle.
func (e *Engine) Digest() string { return e.bundle.Digest }

// Revision is the revision of the engine's bundle (Bundle.Revision).
func (e *Engine) Revision() string { return e.bundle.Revision }

// Decide evaluates the policy for node on view and returns the validated
// decision. The decision is a pure function of the bundle and the view: its
// time is the node's latest observation time (the policy's "now", given to
// OPA as rego.EvalTime), its revision the view's. Policy failures are
// *Error values; ErrNoObservation means there is nothing to decide on yet.
func (e *Engine) Decide(ctx context.Context, view *state.View, node string) (state.Decision, error) {
	input, err := buildInput(view, node, e.layouts)
	if err != nil {
		if errors.Is(err, ErrNoObservation) {
			return state.Decision{}, err
		}
		return state.Decision{}, &Error{Stage: StageEval, BundleDigest: e.Digest(), Err: err}
	}
	obs := view.Observations[node]
	results, err := e.eval(ctx, input, obs.Time)
	if err != nil {
		return state.Decision{}, e.fail(StageEval, node, err)
	}
	if len(results) == 0 || len(results[0].Expressions) == 0 {
		return state.Decision{}, e.fail(StageEval, node, fmt.Errorf("%s is undefined for this input", Entrypoint))
	}
	value, ok := results[0].Expressions[0].Value.(ast.Value)
	if !ok {
		return state.Decision{}, e.fail(StageEval, node, fmt.Errorf("result is a %T, not an OPA value", results[0].Expressions[0].Value))
	}
	out, err := parseOutput(value)
	if err != nil {
		return state.Decision{}, e.fail(StageValidate, node, err)
	}
	d := state.Decision{
		Node:         node,
		Revision:     view.Revision,
		Time:         obs.Time,
		BundleDigest: e.Digest(),
		Containers:   out.Containers,
		Reasons:      out.Reasons,
		Carry:        out.Carry,
	}
	d.BundleRevision = e.Revision()
	if err := Validate(d, view, node); err != nil {
		return state.Decision{}, e.fail(StageValidate, node, err)
	}
	return d, nil
}

// eval runs the prepared query within its bounds: ctx's deadline, and
// DefaultEvalHeapBytes of heap growth. OPA checks for cancellation as it
// goes, inside builtins that generate values too (numbers.range), so a
// runaway policy stops at whichever bound it reaches first, with an error
// that says which (Bounded).
func (e *Engine) eval(ctx context.Context, input ast.Value, now time.Time) (rego.ResultSet, error) {
	bounded, stop := withHeapBound(ctx, DefaultEvalHeapBytes)
	defer stop()
	// OPA learns of a cancellation from a goroutine of its own, so a short
	// evaluation may finish before it notices a deadline that has passed
	// already: one is not started at all.
	if err := bounded.Err(); err != nil {
		return nil, boundError(bounded, err)
	}
	results, err := e.query.Eval(bounded, rego.EvalParsedInput(input), rego.EvalTime(now))
	if err != nil {
		return nil, boundError(bounded, err)
	}
	e.decided.Store(true)
	return results, nil
}

func (e *Engine) fail(stage, node string, err error) error {
	return &Error{Stage: stage, BundleDigest: e.Digest(), Err: fmt.Errorf("node %s: %w", node, err)}
}
