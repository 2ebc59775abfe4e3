// Command sineload is the latency-critical victim of sluice's experiments: a
// work queue whose work arrives at the rate of a demand curve, in
// CPU-cores, and is served by burning CPU. Starved of CPU it builds a
// backlog, as a real service would. The curve is a sine by default (--base,
// --amplitude, --period); --demand, or the $SLUICE_DEMAND that sluice's
// runtime sets from the container's spec, gives any shape the simulator
// knows (sine, square, step, constant, csv points). Every tick it prints
// one JSON line on stdout, unless --reports=false:
//
//	{"t":1.25,"arrived":0.1875,"served":0.1875,"backlog":0.001,"demand":0.75}
//
// t is seconds since start; arrived, served and backlog are CPU-seconds
// (arrived and served over the tick, backlog at t); demand is the mean
// offered load over the tick, in cores.
//
// With an OTLP endpoint (--otlp-endpoint, or OTEL_EXPORTER_OTLP_ENDPOINT
// as the agent sets it) every unit served is also a server span, sent
// through the OpenTelemetry SDK with the container's SLUICE_GUID as its
// service name; see tracing.go.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluice-io/sluice/internal/workload"
	"github.com/sluice-io/sluice/sim/demand"
	"github.com/sluice-io/sluice/state"
)

type config struct {
	sched    schedule
	tick     time.Duration
	duration time.Duration
	workers  int
	// reports turns the JSON line per tick on stdout on or off: a service
	// that reports no work queue is what most real services are.
	reports bool
	tracing tracingConfig
}

// Where the demand comes from: the sine flags, --demand, or the
// container's $SLUICE_DEMAND (set from its spec by sluice's runtime).
const envDemand = "SLUICE_DEMAND"

var sineFlags = []string{"base", "amplitude", "period"}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	fs := workload.NewFlagSet("sineload", stderr)
	c := config{reports: true}
	sine := demand.Sine{}
	var period time.Duration
	var demandJSON string
	fs.Float64Var(&sine.Base, "base", 0.5, "mean demand of the sine, in cores")
	fs.Float64Var(&sine.Amplitude, "amplitude", 0.3, "amplitude of the sine around --base, in cores (demand below zero is none)")
	fs.DurationVar(&period, "period", 60*time.Second, "period of the sine")
	fs.StringVar(&demandJSON, "demand", "", "the demand as sluice's spec writes it, JSON: sine, square, step, constant, or csv with inline points (default $"+envDemand+" unless a sine flag is given)")
	fs.DurationVar(&c.sched.unit, "unit", time.Millisecond, "CPU time one unit of work takes to serve")
	fs.DurationVar(&c.tick, "tick", 250*time.Millisecond, "interval between reports")
	fs.BoolVar(&c.reports, "reports", true, "print a work report per tick on stdout (spans are sent either way)")
	fs.DurationVar(&c.duration, "duration", 0, "stop after this long (0: run until SIGTERM)")
	fs.IntVar(&c.workers, "workers", 1, "server threads; the most work served is one core per worker")
	fs.StringVar(&c.tracing.endpoint, "otlp-endpoint", "", "OTLP gRPC endpoint for a server span per unit (default $OTEL_EXPORTER_OTLP_ENDPOINT; none: no spans)")
	fs.StringVar(&c.tracing.service, "service-name", "", "service name of the spans (default $SLUICE_GUID, else sineload)")
	if err := workload.Parse(fs, args); err != nil {
		return config{}, err
	}
	sine.PeriodSeconds = period.Seconds()
	load, err := chooseLoad(fs, sine, demandJSON, getenv(envDemand))
	if err != nil {
		return config{}, err
	}
	c.sched.load = load
	return c, c.validate()
}

// chooseLoad takes --demand, else the sine flags if any is given, else
// the environment's demand, else the default sine.
func chooseLoad(fs *flag.FlagSet, sine demand.Sine, demandJSON, fromEnv string) (demand.Offered, error) {
	sineSet := false
	fs.Visit(func(f *flag.Flag) { sineSet = sineSet || slices.Contains(sineFlags, f.Name) })
	switch {
	case demandJSON != "" && sineSet:
		return nil, errors.New("--demand and --base, --amplitude, --period: give one or the other")
	case demandJSON != "":
		return parseDemand("--demand", demandJSON)
	case !sineSet && fromEnv != "":
		return parseDemand("$"+envDemand, fromEnv)
	}
	return demand.FromSpec(state.DemandSpec{Kind: demand.KindSine, Base: sine.Base, Amplitude: sine.Amplitude, PeriodSeconds: sine.PeriodSeconds}, nil)
}

// maxDemandJSON bounds the demand's text: state.MaxDemandPoints rows fit
// well within it.
const maxDemandJSON = 128 << 10

func parseDemand(source, text string) (demand.Offered, error) {
	if len(text) > maxDemandJSON {
		return nil, fmt.Errorf("%s: %d bytes, at most %d", source, len(text), maxDemandJSON)
	}
	var spec state.DemandSpec
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	if len(spec.Points) > state.MaxDemandPoints {
		return nil, fmt.Errorf("%s: %d points, at most %d", source, len(spec.Points), state.MaxDemandPoints)
	}
	load, err := demand.FromSpec(spec, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return load, nil
}

func (c config) validate() error {
	if err := c.sched.validate(); err != nil {
		return err
	}
	switch {
	case c.tick <= 0:
		return fmt.Errorf("--tick %v must be positive", c.tick)
	case c.sched.unit > c.tick:
		return fmt.Errorf("--unit %v must not exceed --tick %v", c.sched.unit, c.tick)
	case c.duration < 0:
		return fmt.Errorf("--duration %v must not be negative", c.duration)
	case c.workers < 1:
		return fmt.Errorf("--workers %d must be at least 1", c.workers)
	}
	return nil
}

func main() {
	workload.Main("sineload", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		cfg, err := parseFlags(args, os.Getenv, stderr)
		if err != nil {
			return err
		}
		cfg.tracing = cfg.tracing.withEnv(os.Getenv)
		return run(ctx, cfg, stdout)
	})
}

// run serves work and reports every tick until ctx ends or the duration
// passes.
func run(ctx context.Context, cfg config, out io.Writer) error {
	if _, err := threadCPUTime(); err != nil {
		return err
	}
	if cfg.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.duration)
		defer cancel()
	}
	start := time.Now()
	srv := &server{
		sched:   cfg.sched,
		elapsed: func() time.Duration { return time.Since(start) },
		burn:    func(d time.Duration) { burnCPU(d, threadClock) },
	}
	if cfg.tracing.endpoint != "" {
		t, err := newTracer(ctx, cfg.tracing, cfg.sched, start)
		if err != nil {
			return err
		}
		srv.onServed = t.served
		defer flushSpans(t)
	}
	var wg sync.WaitGroup
	for range cfg.workers {
		wg.Go(func() { srv.work(ctx) })
	}
	var err error
	if cfg.reports {
		err = emitReports(ctx, srv, cfg.tick, json.NewEncoder(out))
	} else {
		<-ctx.Done()
	}
	wg.Wait()
	return err
}

// spanFlushTimeout bounds the wait for the agent at exit, which must stay
// well inside docker stop's grace period.
const spanFlushTimeout = 3 * time.Second

// flushSpans sends what is queued at exit. A failure is reported but does
// not fail the run: the work was done and reported on stdout either way.
func flushSpans(t *tracer) {
	ctx, cancel := context.WithTimeout(context.Background(), spanFlushTimeout)
	defer cancel()
	if err := t.shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sineload:", err)
	}
}

// threadClock is threadCPUTime for callers that checked it works at start.
func threadClock() time.Duration {
	d, _ := threadCPUTime()
	return d
}

func emitReports(ctx context.Context, srv *server, tick time.Duration, enc *json.Encoder) error {
	rep := newReporter(srv.sched)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if err := enc.Encode(rep.next(srv.elapsed(), srv.served.Load())); err != nil {
				return fmt.Errorf("write report: %w", err)
			}
		}
	}
}
