package ui_test

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sluice-io/sluice/agent"
	"github.com/sluice-io/sluice/internal/etcdtest"
	"github.com/sluice-io/sluice/internal/testenv"
	"github.com/sluice-io/sluice/sensors/traces"
	"github.com/sluice-io/sluice/sim"
	"github.com/sluice-io/sluice/state"
	"github.com/sluice-io/sluice/ui"
)

var updateDocs = flag.Bool("update-docs", false, "also write the screenshots into docs/ui/")

const (
	node = "n1"
	// tick is the agent's interval in these tests.
	tick = 500 * time.Millisecond
	// chartTicks is how many ticks the app page's chart must show.
	chartTicks = 6
)

// TestPagesInABrowser drives the agent's pages in headless Chromium: an
// agent on a simulated node and a real (embedded) etcd serves them, and
// the browser sees the node, an app applied meanwhile, the app's decisions
// and its live chart, a policy error, recent traces and experiment runs,
// with no console error on any page. Screenshots go to out/ui/.
func TestPagesInABrowser(t *testing.T) {
	browser := testenv.RequireBrowser(t)
	h := startAgent(t)
	tab := openBrowser(t, browser)
	console := watchConsole(t, tab)

	t.Run("cluster shows the nodes and an app applied meanwhile", func(t *testing.T) {
		h.navigate(t, tab, "/", `.node[data-node="`+node+`"]`)
		h.put(t, state.Keys.Node("n2"), `{"name":"n2","agent_version":"dev","runtime":"docker","capacity":{"cpus":4}}`)
		wait(t, tab, 10*time.Second, chromedp.WaitVisible(`.node[data-node="n2"]`))
		h.applyApps(t)
		wait(t, tab, 10*time.Second, chromedp.WaitVisible(`a.block[data-app="victim"]`))
		wait(t, tab, 10*time.Second, chromedp.WaitVisible(`a.block.phase-ready[data-app="hog"]`))
	})
	t.Run("app page shows a decision's reason and a live chart", func(t *testing.T) {
		h.navigate(t, tab, "/apps/victim", "#phase")
		first := waitPoints(t, tab, 1, 10*time.Second)
		time.Sleep(chartTicks * tick)
		if points := waitPoints(t, tab, chartTicks, 2*tick); points < first+chartTicks-1 {
			t.Errorf("the chart holds %d points %d ticks after it held %d", points, chartTicks, first)
		}
		wait(t, tab, 10*time.Second, chromedp.WaitVisible(`.reason`))
		reason := run(t, tab, chromedp.Text(`.reason`))
		if !strings.Contains(reason, "on victim/sineload:") {
			t.Errorf("the first reason reads %q, want a rule on victim/sineload and why", reason)
		}
		h.screenshot(t, tab, "app")
	})
	t.Run("a policy error shows within two ticks", func(t *testing.T) {
		h.navigate(t, tab, "/", "#policy-ok")
		h.put(t, state.Keys.Policy("broken.rego"), "package sluice.shield\n\ndecision := {")
		start := time.Now()
		wait(t, tab, 2*tick, chromedp.WaitVisible(`#policy-error`))
		t.Logf("the policy error showed %v after the broken bundle was written", time.Since(start).Round(time.Millisecond))
		if text := run(t, tab, chromedp.Text(`#policy-error`)); !strings.Contains(text, "compile") {
			t.Errorf("the policy error reads %q, want the compile stage", text)
		}
		h.delete(t, state.Keys.Policy("broken.rego"))
		wait(t, tab, 10*time.Second, chromedp.WaitVisible(`#policy-ok`))
		h.screenshot(t, tab, "cluster")
	})
	t.Run("traces show the calls and span trees", func(t *testing.T) {
		h.navigate(t, tab, "/apps/shop/traces", "svg.graph")
		if n := run(t, tab, chromedp.Evaluate[int](`document.querySelectorAll("svg.tree").length`)); n != len(recordedTraces) {
			t.Errorf("%d span trees, want %d", n, len(recordedTraces))
		}
		h.screenshot(t, tab, "traces")
	})
	t.Run("experiments show a simulated run beside a real one", func(t *testing.T) {
		h.navigate(t, tab, "/experiments/", `input[value="shield-sine/real"]`)
		h.navigate(t, tab, "/experiments/compare?run=shield-sine/sim&run=shield-sine/real", "img.plot")
		loaded := `Array.from(document.querySelectorAll("img.plot")).filter(i => i.complete && i.naturalWidth > 0).length`
		run(t, tab, chromedp.Poll[bool](loaded+` == 2`))
		h.screenshot(t, tab, "experiment")
	})
	t.Run("logs say when the node keeps none", func(t *testing.T) {
		h.navigate(t, tab, "/apps/victim/logs/sineload", "main p")
	})
	for _, m := range console.errors() {
		t.Errorf("console %s on %s:%d: %s", m.Type, m.URL, m.Line, m.Text)
	}
}

// harness is an agent serving its pages on a simulated node.
type harness struct {
	store state.Store
	url   string
}

func startAgent(t *testing.T) *harness {
	t.Helper()
	_, store := etcdtest.Embedded(t)
	simNode, err := sim.NewNode(sim.NodeConfig{Name: node, CPUs: 2, Epoch: time.Now(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	runs := experimentRuns(t)
	pages := func(src agent.PageSources) (agent.Pages, error) {
		return ui.New(ui.Config{Node: src.Node, Views: src.Views, Store: src.Store, Interval: src.Interval,
			ExperimentsDir: runs, Traces: recordedTraces})
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := agent.New(ctx, store, agent.NewSimNode(simNode, tick),
		agent.Config{Node: node, Interval: tick, MetricsAddr: addr}, agent.WithPages(pages))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	h := &harness{store: store, url: "http://" + addr}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(h.url + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent's pages do not answer on %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (h *harness) applyApps(t *testing.T) {
	t.Helper()
	for app, file := range map[string]string{"victim": "shield-slo-victim.json", "hog": "shield-sine-hog.json"} {
		data, err := os.ReadFile(filepath.Join("..", "examples", "apps", file))
		if err != nil {
			t.Fatal(err)
		}
		h.put(t, state.Keys.App(node, app), string(data))
	}
}

func (h *harness) put(t *testing.T, key, value string) {
	t.Helper()
	if _, err := h.store.Txn(context.Background(), state.Put(key, []byte(value))); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) delete(t *testing.T, key string) {
	t.Helper()
	if _, err := h.store.Txn(context.Background(), state.Delete(key)); err != nil {
		t.Fatal(err)
	}
}

// navigate opens path and waits for selector to show.
func (h *harness) navigate(t *testing.T, tab context.Context, path, selector string) {
	t.Helper()
	wait(t, tab, 10*time.Second, chromedp.Navigate(h.url+path))
	wait(t, tab, 10*time.Second, chromedp.WaitVisible(selector))
}

// screenshot writes what the window shows of the page as out/ui/<name>.png, and into docs/ui/
// with -update-docs.
func (h *harness) screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	png := run(t, tab, chromedp.CaptureScreenshot())
	dirs := []string{filepath.Join("..", "out", "ui")}
	if *updateDocs {
		dirs = append(dirs, filepath.Join("..", "docs", "ui"))
	}
	for _, dir := range dirs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// waitPoints waits until a chart of the page holds at least n points, and
// returns how many the fullest holds.
func waitPoints(t *testing.T, tab context.Context, n int, timeout time.Duration) int {
	t.Helper()
	count := `Math.max(0, ...Array.from(document.querySelectorAll("svg.chart")).map(s => Number(s.dataset.points)))`
	ctx, cancel := context.WithTimeout(tab, timeout)
	defer cancel()
	for {
		points, err := chromedp.Run(ctx, chromedp.Evaluate[int](count))
		if err == nil && points >= n {
			return points
		}
		if ctx.Err() != nil {
			t.Fatalf("no chart holds %d points within %v (the fullest holds %d)", n, timeout, points)
		}
		time.Sleep(tick / 5)
	}
}

// openBrowser starts headless Chromium and opens a tab.
func openBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1200, 900))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses root
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	// The first action starts the browser, which lives as long as the
	// context of that action: the tab's, not a timeout's.
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1200, 900)); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return tab
}

func wait(t *testing.T, tab context.Context, timeout time.Duration, action chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, action); err != nil {
		t.Fatalf("within %v: %v", timeout, err)
	}
}

func run[T any](t *testing.T, tab context.Context, action chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// console keeps the errors and exceptions the pages report.
type console struct {
	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

func watchConsole(t *testing.T, tab context.Context) *console {
	c := &console{}
	ctx, cancel := context.WithCancel(tab)
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				c.mu.Lock()
				c.messages = append(c.messages, m)
				c.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return c
}

func (c *console) errors() []chromedp.ConsoleMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), c.messages...)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// experimentRuns lays out the shield-sine runs kept in docs/results as an
// experiments directory: a simulated run and a real one.
func experimentRuns(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, mode := range []string{"sim", "real"} {
		run := filepath.Join(dir, "shield-sine", mode)
		if err := os.MkdirAll(run, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, file := range []string{"summary.json", "plot.svg"} {
			data, err := os.ReadFile(filepath.Join("..", "docs", "results", "shield-sine-"+mode+"-"+file))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(run, file), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// traceSource serves recorded traces: a simulated node receives no spans.
type traceSource []traces.TraceSummary

func (s traceSource) Recent(string, int) []traces.TraceSummary { return s }

// recordedTraces are three requests to a shop: the frontend calls the cart
// and the cart its database; the last one fails in the database.
var recordedTraces = func() traceSource {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	var out traceSource
	for i, ms := range []float64{12.5, 9.8, 31.2} {
		failed := i == 2
		out = append(out, traces.TraceSummary{
			TraceID: fmt.Sprintf("4bf92f3577b34da6a3ce929d0e0e47%02d", i), App: "shop", Root: "GET /checkout",
			RootContainer: "shop/frontend", Start: start.Add(time.Duration(i) * time.Second), DurationMs: ms,
			Error: failed, Spans: 4, Containers: []string{"shop/cart", "shop/db", "shop/frontend"}, Complete: true,
			Tree: []traces.SpanSummary{
				{ID: "a", Name: "GET /checkout", Container: "shop/frontend", DurationMs: ms, Error: failed},
				{ID: "b", Parent: "a", Name: "GET /cart", Container: "shop/cart", StartMs: 1, DurationMs: ms * 0.6, Error: failed},
				{ID: "c", Parent: "b", Name: "SELECT items", Container: "shop/db", StartMs: 2, DurationMs: ms * 0.3, Error: failed},
				{ID: "d", Parent: "a", Name: "render", Container: "shop/frontend", StartMs: ms * 0.7, DurationMs: ms * 0.25},
			},
		})
	}
	return out
}()
