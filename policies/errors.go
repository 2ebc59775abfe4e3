package policies

import (
	"errors"
	"fmt"
	"time"

	"github.com/sluice-io/sluice/state"
)

// Stages of the policy step at which an Error can happen; they are the
// values of state.PolicyError.Stage.
const (
	// StageCompile covers loading, parsing, compiling and preparing a bundle.
	StageCompile = "compile"
	// StageEval covers evaluating the prepared query on an input.
	StageEval = "eval"
	// StageValidate covers the policy's output: its shape and its values.
	StageValidate = "validate"
)

// ErrNoObservation means the node has not reported an observation yet, so
// there is nothing to decide on (and no time to decide at). It is not the
// policy's fault and is not recorded as a PolicyError.
var ErrNoObservation = errors.New("no observation for the node yet")

// Error is a failure of the policy itself: a bundle that does not compile,
// an evaluation that fails, or an output that does not validate. The caller
// keeps the last good decision in force and records it with PolicyError.
type Error struct {
	Stage        string
	BundleDigest string
	Err          error
}

func (e *Error) Error() string {
	return fmt.Sprintf("policy %s (bundle %s): %v", e.Stage, shortDigest(e.BundleDigest), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// PolicyError is the event that records e for node, stamped with the
// revision and the (event) time of the view it happened on.
func (e *Error) PolicyError(node string, revision int64, at time.Time) state.PolicyError {
	return state.PolicyError{
		Node:         node,
		Revision:     revision,
		Time:         at,
		BundleDigest: e.BundleDigest,
		Stage:        e.Stage,
		Error:        e.Err.Error(),
	}
}

func shortDigest(digest string) string {
	const keep = len("sha256:") + 12
	if len(digest) > keep {
		return digest[:keep]
	}
	if digest == "" {
		return "unknown"
	}
	return digest
}
