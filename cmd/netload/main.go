// Command netload measures TCP throughput between sluice's own containers,
// for the bandwidth actuator's tests and experiments.
//
//	netload sink --listen :5001     counts what it receives, one JSON line per interval
//	netload send --to ADDR          sends as fast as it can for --duration, then prints
//	                                the rate the sink confirmed, as one JSON line
//
// send has no default target and refuses anything but loopback and private
// addresses (a container bridge), so it can only ever load a local network.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/sluice-io/sluice/internal/workload"
)

const usage = "usage: netload sink --listen ADDR | netload send --to ADDR [--duration 3s]"

func main() { workload.Main("netload", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "sink":
		cfg, err := parseSinkFlags(args[1:], stderr)
		if err != nil {
			return err
		}
		return sink(ctx, cfg, stdout)
	case "send":
		cfg, err := parseSendFlags(args[1:], stderr)
		if err != nil {
			return err
		}
		return send(ctx, cfg, stdout)
	default:
		return fmt.Errorf("unknown mode %q; %s", args[0], usage)
	}
}

// parseModeFlags parses the flags of mode (send or sink) into a config of
// type C: define declares them on fs, check then judges their values.
// Every error names the mode.
func parseModeFlags[C any](mode string, args []string, stderr io.Writer, define func(*flag.FlagSet, *C), check func(C) error) (C, error) {
	var c C
	fs := workload.NewFlagSet("netload "+mode, stderr)
	define(fs, &c)
	err := workload.Parse(fs, args)
	if err == nil {
		err = check(c)
	}
	if err != nil {
		var none C
		return none, fmt.Errorf("%s: %w", mode, err)
	}
	return c, nil
}

// positive refuses a duration flag that is zero or negative.
func positive(flagName string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s %v must be positive", flagName, d)
	}
	return nil
}

// mbit is a rate in Mbit/s (10^6 bits per second).
func mbit(bytes int64, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(bytes) * 8 / seconds / 1e6
}
