package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// Names from the store reach a terminal only escaped: an escape sequence,
// a carriage return, a tab, a bidi override or a byte that is not UTF-8
// is shown, not acted on.
func TestPrintableEscapesWhatATerminalActsOn(t *testing.T) {
	cases := map[string]string{
		"web":                "web",
		"caf\u00e9 ✓":        "caf\u00e9 ✓",
		"\x1b[2Jgone":        `\x1b[2Jgone`,
		"a\rb\tc\nd":         `a\rb\tc\nd`,
		"\u202eevil":         `\u202eevil`,
		"bad\xffbyte":        `bad\xffbyte`,
		"csi\u009b31m":       `csi\u009b31m`,
		"last good \u00a0ok": "last good \u00a0ok",
	}
	for in, want := range cases {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// JSON output escapes what encoding/json leaves raw, and still decodes to
// the same strings.
func TestRenderJSONEscapesWhatATerminalActsOn(t *testing.T) {
	names := []string{"csi\u009b31m", "del\x7f", "\u202eevil", "tag\U000e0041", "\x1b[2J", "plain"}
	var out strings.Builder
	if err := render(&out, "json", names, nil); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsFunc(out.String(), escapedInJSON) {
		t.Fatalf("json output holds a character a terminal acts on: %q", out.String())
	}
	var back []string
	if err := json.Unmarshal([]byte(out.String()), &back); err != nil || !slices.Equal(back, names) {
		t.Fatalf("json output decodes to %q (%v), want %q", back, err, names)
	}
}
