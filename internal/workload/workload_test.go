package workload

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRunExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		wantCode   int
		wantStderr string
	}{
		{"success", nil, 0, ""},
		{"help asked for", fmt.Errorf("send: %w", flag.ErrHelp), 0, ""},
		{"failure", errors.New("--threads 0 must be at least 1"), 1, "cpuhog: --threads 0 must be at least 1\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotArgs []string
			var stderr bytes.Buffer
			code := Run(context.Background(), "cpuhog", []string{"--threads", "0"}, io.Discard, &stderr,
				func(_ context.Context, args []string, _, _ io.Writer) error {
					gotArgs = args
					return tc.err
				})
			if code != tc.wantCode || stderr.String() != tc.wantStderr {
				t.Errorf("Run = %d, stderr %q; want %d, %q", code, stderr.String(), tc.wantCode, tc.wantStderr)
			}
			if strings.Join(gotArgs, " ") != "--threads 0" {
				t.Errorf("run got args %q", gotArgs)
			}
		})
	}
}

func TestParse(t *testing.T) {
	newFlags := func(stderr io.Writer) (*flag.FlagSet, *int) {
		fs := NewFlagSet("cpuhog", stderr)
		return fs, fs.Int("threads", 1, "threads")
	}
	fs, threads := newFlags(io.Discard)
	if err := Parse(fs, []string{"--threads", "3"}); err != nil || *threads != 3 {
		t.Errorf("--threads 3 = %d, %v", *threads, err)
	}
	fs, _ = newFlags(io.Discard)
	if err := Parse(fs, []string{"--threads", "3", "extra"}); err == nil || !strings.Contains(err.Error(), `unexpected arguments ["extra"]`) {
		t.Errorf("a positional argument: err = %v, want one naming it", err)
	}
	var usage bytes.Buffer
	fs, _ = newFlags(&usage)
	if err := Parse(fs, []string{"-h"}); !errors.Is(err, flag.ErrHelp) || !strings.Contains(usage.String(), "-threads") {
		t.Errorf("-h: err = %v, usage %q; want flag.ErrHelp and the usage on stderr", err, usage.String())
	}
}

// TestSignalContextEndsOnStopSignals sends SIGTERM and SIGINT to the test
// process the way docker stop and a terminal send them: with the handler
// SignalContext installs, the context ends and the process lives on.
func TestSignalContextEndsOnStopSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		ctx, stop := SignalContext(context.Background())
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Errorf("%v did not end the context", sig)
		}
		stop()
	}
}
