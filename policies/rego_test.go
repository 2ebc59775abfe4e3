package policies

import (
	"context"
	"testing"
)

// TestRegoPolicies runs the policy's own Rego tests (*_test.rego).
func TestRegoPolicies(t *testing.T) {
	results, err := RunTests(context.Background(), ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 {
		t.Fatal("found no Rego tests in the policy dir")
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s\n%s", r, r.Output)
		}
	}
	t.Logf("%d Rego tests", len(results))
}
