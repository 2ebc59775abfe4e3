package reconciler_test

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// update rewrites the expected output of every testdata script with what
// the code produces now: `go test ./reconciler -run TestScripts -update`,
// then review the diff.
var update = flag.Bool("update", false, "rewrite the expected output of testdata scripts")

// scriptCase is one command of a script: a line "cmd key=value ...", an
// optional input block, "----", and the expected output up to a blank line.
type scriptCase struct {
	line     int
	command  string
	args     map[string]string
	flags    []string
	input    string
	expected string
}

// parseScript reads the datadriven format of etcd raft's and CockroachDB's
// tests; it is small enough that a dependency would cost more than it saves.
func parseScript(text string) ([]scriptCase, error) {
	lines := strings.Split(text, "\n")
	var cases []scriptCase
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c := scriptCase{line: i + 1}
		var err error
		if c.command, c.args, c.flags, err = parseCommand(line); err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		var input []string
		for i++; i < len(lines) && lines[i] != "----"; i++ {
			input = append(input, lines[i])
		}
		if i >= len(lines) {
			return nil, fmt.Errorf("line %d: %q has no ---- line", c.line, line)
		}
		var expected []string
		for i++; i < len(lines) && lines[i] != ""; i++ {
			expected = append(expected, lines[i])
		}
		c.input = strings.Join(input, "\n")
		c.expected = strings.Join(expected, "\n")
		cases = append(cases, c)
	}
	return cases, nil
}

// parseCommand splits `step fail=create:web/api msg="no such image" dry`
// into the command, key=value arguments (double quotes group spaces) and
// bare flags.
func parseCommand(line string) (string, map[string]string, []string, error) {
	var tokens []string
	var current strings.Builder
	quoted := false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ' ' && !quoted:
			if current.Len() > 0 {
				tokens = append(tokens, current.String())
				current.Reset()
			}
		default:
			current.WriteRune(r)
		}
	}
	if quoted {
		return "", nil, nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if current.Len() > 0 {
		tokens = append(tokens, current.String())
	}
	args := map[string]string{}
	var flags []string
	for _, token := range tokens[1:] {
		if key, value, ok := strings.Cut(token, "="); ok {
			args[key] = value
		} else {
			flags = append(flags, token)
		}
	}
	return tokens[0], args, flags, nil
}

func (c scriptCase) hasFlag(name string) bool {
	for _, flag := range c.flags {
		if flag == name {
			return true
		}
	}
	return false
}

func (c scriptCase) intArg(name string, def int) (int, error) {
	value, ok := c.args[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(value)
	if err != nil {
		return 0, fmt.Errorf("argument %s=%q: %w", name, value, err)
	}
	return n, nil
}

// runScript runs every case of the file through run and compares, or with
// -update rewrites, the expected output.
func runScript(t *testing.T, path string, run func(scriptCase) (string, error)) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read script: %v", err)
	}
	cases, err := parseScript(string(data))
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	outputs := make([]string, len(cases))
	for i, c := range cases {
		output, err := run(c)
		if err != nil {
			output = "error: " + err.Error()
		}
		outputs[i] = strings.TrimRight(output, "\n")
		if !*update && outputs[i] != c.expected {
			t.Errorf("%s:%d: %s\n--- want\n%s\n--- got\n%s", path, c.line, c.command, c.expected, outputs[i])
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(rewriteScript(string(data), cases, outputs)), 0o644); err != nil {
			t.Fatalf("rewrite %s: %v", path, err)
		}
	}
}

// rewriteScript keeps every command, input and comment and replaces each
// expected block.
func rewriteScript(text string, cases []scriptCase, outputs []string) string {
	lines := strings.Split(text, "\n")
	var out []string
	next := 0
	for i := 0; i < len(lines); i++ {
		if next < len(cases) && i+1 == cases[next].line {
			for ; lines[i] != "----"; i++ {
				out = append(out, lines[i])
			}
			out = append(out, "----")
			if outputs[next] != "" {
				out = append(out, outputs[next])
			}
			for i++; i < len(lines) && lines[i] != ""; i++ {
			}
			out = append(out, "")
			next++
			continue
		}
		out = append(out, lines[i])
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}
