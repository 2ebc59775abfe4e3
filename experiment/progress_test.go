package experiment

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
)

// On a terminal each phase rewrites a line in place every second of it,
// and the finished phase's line clears it.
func TestLiveProgressWithinEachPhase(t *testing.T) {
	sc := loadShieldSine(t, 0.1)
	var progress bytes.Buffer
	if _, err := Run(context.Background(), Config{
		Scenario: sc, Bundle: loadBundle(t), Stores: MemoryStores, Progress: &progress, Live: true,
	}); err != nil {
		t.Fatal(err)
	}
	out := progress.String()
	first := sc.Phases[0]
	seconds := int(first.DurationSeconds)
	for second := 1; second <= seconds; second++ {
		want := fmt.Sprintf("\r\033[Kphase 1/%d %-14s %d/%d s", len(sc.Phases), first.Name, second, seconds)
		if !strings.Contains(out, want) {
			t.Fatalf("no live line %q in\n%q", want, out)
		}
	}
	if !strings.Contains(out, fmt.Sprintf("\r\033[Kphase %d/%d", len(sc.Phases), len(sc.Phases))) {
		t.Errorf("the last phase's line does not clear the live one:\n%q", out)
	}
}
