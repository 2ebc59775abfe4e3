package policies

import (
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Capabilities are the builtins a sluice policy may call: OPA's own, minus
// everything that reaches outside the evaluation or differs between two
// evaluations of the same input. A decision must be a pure function of the
// bundle and the view, or a recording could not replay byte for byte.
//
// time.now_ns stays: Decide always sets rego.EvalTime to the observation's
// time, so "now" is the event's time and replays identically. (Under `sluice
// policy test` it is the wall clock, so tests should not depend on it.)
// print stays for tests; the engine compiles with print statements erased.
func Capabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	allowed := caps.Builtins[:0]
	for _, builtin := range caps.Builtins {
		if !denied(builtin) {
			allowed = append(allowed, builtin)
		}
	}
	caps.Builtins = allowed
	return caps
}

// deniedBuiltins reach outside the evaluation or return random values.
var deniedBuiltins = map[string]bool{
	"http.send":              true,
	"opa.runtime":            true,
	"rand.intn":              true,
	"uuid.rfc4122":           true,
	"io.jwt.encode_sign":     true,
	"io.jwt.encode_sign_raw": true,
	"trace":                  true,
}

func denied(builtin *ast.Builtin) bool {
	if builtin.Name == "time.now_ns" {
		return false
	}
	return deniedBuiltins[builtin.Name] ||
		strings.HasPrefix(builtin.Name, "net.") ||
		strings.HasPrefix(builtin.Name, "providers.") ||
		builtin.Nondeterministic
}
