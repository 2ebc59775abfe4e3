package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/state"
)

// sluiceCtx runs the command line in-process with stdin and ctx, writing
// its output to stdout.
func sluiceCtx(ctx context.Context, endpoint string, stdin io.Reader, stdout io.Writer, args ...string) error {
	root := newRootCommand(stdout, io.Discard)
	root.SetIn(stdin)
	root.SetArgs(append(args, "--etcd-endpoints", endpoint))
	return root.ExecuteContext(ctx)
}

// A group command fails on a subcommand it does not have, as the main
// function then exits 1, instead of printing help and succeeding.
func TestUnknownSubcommandsFail(t *testing.T) {
	for _, group := range []string{"policy", "experiment", "sim", "node", "bench"} {
		_, err := sluice(t, "", group, "bogus")
		if err == nil || !strings.Contains(err.Error(), `unknown command "bogus"`) {
			t.Errorf("sluice %s bogus: err = %v, want an unknown command error", group, err)
		}
		if _, err := sluice(t, "", group); err != nil {
			t.Errorf("sluice %s alone: %v, want its help", group, err)
		}
	}
}

func TestApplyFromStdinAndDirectory(t *testing.T) {
	endpoint := startEtcd(t)
	stdin := "name: one\ncontainers:\n- {name: job, image: cpuhog, class: best-effort}\n---\n" +
		"name: two\ncontainers:\n- {name: job, image: cpuhog, class: best-effort}\n"
	var out bytes.Buffer
	if err := sluiceCtx(context.Background(), endpoint, strings.NewReader(stdin), &out, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply -f -: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "app/one applied") || !strings.Contains(out.String(), "app/two applied") {
		t.Fatalf("apply -f - of two documents printed\n%s", out.String())
	}
	dir := filepath.Dir(writeSpecFiles(t, 3)[0])
	writeFile(t, filepath.Join(dir, "README.md"), "not a spec")
	if out, err := sluice(t, endpoint, "apply", "-f", dir); err != nil || strings.Count(out, " applied (revision") != 3 {
		t.Fatalf("apply -f DIR: err=%v\n%s", err, out)
	}
	if rows := appsByName(t, endpoint); len(rows) != 5 {
		t.Fatalf("etcd holds %d apps, want 5", len(rows))
	}
	if _, err := sluice(t, endpoint, "apply", "-f", t.TempDir()); err == nil {
		t.Error("apply -f of a directory without specs succeeded")
	}
}

func TestGetAppsByNameAsYAML(t *testing.T) {
	endpoint := startEtcd(t)
	if _, err := sluice(t, endpoint, "apply", "-f", strings.Join(writeSpecFiles(t, 2), ",")); err != nil {
		t.Fatal(err)
	}
	out, err := sluice(t, endpoint, "get", "apps", "app001", "-o", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	var row appRow
	if err := yaml.Unmarshal([]byte(out), &row); err != nil || row.Name != "app001" || row.Spec == nil {
		t.Fatalf("get apps app001 -o yaml: %v\n%s", err, out)
	}
	table, err := sluice(t, endpoint, "get", "apps", "app000")
	if err != nil || !strings.Contains(table, "app000") || strings.Contains(table, "app001") {
		t.Fatalf("get apps app000: err=%v\n%s", err, table)
	}
	if _, err := sluice(t, endpoint, "get", "apps", "nope"); err == nil || !strings.Contains(err.Error(), "app nope: not found") {
		t.Errorf("get apps nope: err = %v, want not found", err)
	}
	for _, args := range [][]string{{"get", "nodes", "-o", "yaml"}, {"get", "decisions", "-o", "yaml"}, {"version", "-o", "yaml"}} {
		if _, err := sluice(t, endpoint, args...); err != nil {
			t.Errorf("sluice %v: %v", args, err)
		}
	}
}

// syncBuffer is a bytes.Buffer a command may write while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestGetAppsWatch(t *testing.T) {
	endpoint := startEtcd(t)
	files := writeSpecFiles(t, 2)
	if _, err := sluice(t, endpoint, "apply", "-f", files[0]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- sluiceCtx(ctx, endpoint, nil, &out, "get", "apps", "-w", "-o", "json") }()
	waitFor(t, "the first listing", func() bool { return strings.Contains(out.String(), `"app000"`) })
	if _, err := sluice(t, endpoint, "apply", "-f", files[1]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the watch to print the new app", func() bool { return strings.Contains(out.String(), `"app001"`) })
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("get apps -w ended with %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(out.String()))
	var names []string
	for {
		var row appRow
		if err := dec.Decode(&row); err != nil {
			break
		}
		names = append(names, row.Name)
	}
	if strings.Join(names, ",") != "app000,app001" {
		t.Errorf("watch printed apps %v, want app000 then app001, each once", names)
	}
}

// A terminated app is purged after the agent's retention, and at once by
// delete.
func TestTerminatedAppsArePurged(t *testing.T) {
	endpoint := startAgent(t, func(ao *agentOptions) { ao.keepTerminated = 2 * time.Second })
	for _, name := range []string{"kept", "purged"} {
		spec := strings.ReplaceAll(`{"name":"NAME","containers":[{"name":"job","image":"cpuhog","class":"best-effort"}]}`, "NAME", name)
		etcdctl(t, endpoint, "put", state.Keys.App("", name), spec)
		waitFor(t, name+" to be ready", func() bool { return appsByName(t, endpoint)[name].Phase == state.Ready })
		if _, err := sluice(t, endpoint, "delete", "app", name); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both to terminate", func() bool {
		apps := appsByName(t, endpoint)
		return apps["kept"].Phase == state.Terminated && apps["purged"].Phase == state.Terminated
	})
	out, err := sluice(t, endpoint, "delete", "app", "purged")
	if err != nil || !strings.Contains(out, "app/purged purged") {
		t.Fatalf("delete of a terminated app: err=%v\n%s", err, out)
	}
	if _, listed := appsByName(t, endpoint)["purged"]; listed {
		t.Error("a purged app is still listed")
	}
	waitFor(t, "the retention to purge the other", func() bool {
		_, listed := appsByName(t, endpoint)["kept"]
		return !listed
	})
}

// An experiment shows each phase's time on a terminal; elsewhere only the
// finished phases.
func TestExperimentProgressOnlyOnATerminal(t *testing.T) {
	var stderr bytes.Buffer
	root := newRootCommand(io.Discard, &stderr)
	root.SetArgs([]string{"sim", "run", "../../examples/experiments/shield-sine.yaml", "--policy", "../../policies",
		"--duration-scale", "0.1", "--out", t.TempDir()})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stderr.String(), "\r") || !strings.Contains(stderr.String(), "phase 1/") {
		t.Errorf("progress on a pipe:\n%q\nwant finished phases alone", stderr.String())
	}
	if isTerminal(&stderr) {
		t.Error("a buffer counts as a terminal")
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if !isTerminal(null) {
		t.Error("a character device does not count as a terminal")
	}
}

// The agent's start-up line says where the trace receivers listen: the
// address the containers are given.
func TestDockerAgentLogsTraceReceivers(t *testing.T) {
	n := newDockerNode(t)
	a := n.startAgent(func(ao *agentOptions) {
		ao.traces = true
		ao.tracesPorts = map[string]int{"otlp_grpc": 0, "otlp_http": 0, "jaeger_compact": 0, "jaeger_binary": 0}
	})
	n.apply(idleSpec("env"))
	ctr := n.waitPhase("env", state.Ready).Containers[0]
	endpoint := strings.TrimPrefix(n.containerEnv(ctr.RuntimeID)["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://")
	line := regexp.MustCompile(`msg="agent started".*traces="([^"]*)"`).FindStringSubmatch(a.logs.String())
	if line == nil || !strings.Contains(line[1], "otlp_grpc="+endpoint+"/tcp") || !strings.Contains(line[1], "jaeger_compact=") {
		t.Fatalf("start-up log's traces = %q, want otlp_grpc=%s/tcp and the others", line, endpoint)
	}
}

// logs --tail prints only the last lines of a container's output.
func TestDockerLogsTail(t *testing.T) {
	n := newDockerNode(t)
	n.startAgent()
	spec := idleSpec("chatty")
	spec.Containers[0].Image = docker.WorkloadImage(docker.Sineload)
	spec.Containers[0].Cmd = nil
	n.apply(spec)
	n.waitPhase("chatty", state.Ready)
	var all string
	waitFor(t, "a few lines of output", func() bool {
		out, err := runCLI(n.endpoint, "logs", "chatty")
		all = out
		return err == nil && strings.Count(out, "\n") >= 3
	})
	out, err := runCLI(n.endpoint, "logs", "chatty", "--tail", "1")
	if err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("logs --tail 1: err=%v, %d lines (of %d):\n%s", err, strings.Count(out, "\n"), strings.Count(all, "\n"), out)
	}
}
