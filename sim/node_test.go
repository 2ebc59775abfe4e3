package sim

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

var epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

const tick = 250 * time.Millisecond

func newNode(t *testing.T, cpus int) *Node {
	t.Helper()
	n, err := NewNode(NodeConfig{Name: "sim-1", CPUs: cpus, Epoch: epoch, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func victimSpec() state.ContainerSpec {
	return state.ContainerSpec{
		Name: "sineload", Image: "sluice/sineload:dev", Class: state.LatencyCritical, CPUSet: "0",
		Demand: &state.DemandSpec{Kind: "sine", Base: 0.5, Amplitude: 0.3, PeriodSeconds: 20},
	}
}

func hogSpec() state.ContainerSpec {
	return state.ContainerSpec{
		Name: "cpuhog", Image: "sluice/cpuhog:dev", Class: state.BestEffort, CPUSet: "0",
		Demand: &state.DemandSpec{Kind: "constant", Value: 1},
	}
}

func create(t *testing.T, n *Node, app string, spec state.ContainerSpec) state.Container {
	t.Helper()
	c, err := n.Create(context.Background(), app, spec, app+"-guid", "hash-"+app)
	if err != nil {
		t.Fatalf("create %s/%s: %v", app, spec.Name, err)
	}
	return c
}

func containerObs(t *testing.T, obs state.Observation, id string) state.ContainerObservation {
	t.Helper()
	for _, c := range obs.Containers {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("observation at %v has no container %s: %+v", obs.Time, id, obs.Containers)
	return state.ContainerObservation{}
}

func sine(seconds float64) float64 { return 0.5 + 0.3*math.Sin(2*math.Pi*seconds/20) }

func TestVictimAloneFollowsItsSine(t *testing.T) {
	n := newNode(t, 2)
	create(t, n, "victim", victimSpec())
	for k := range 80 {
		obs := n.Tick(tick)
		if want := epoch.Add(time.Duration(k+1) * tick); !obs.Time.Equal(want) {
			t.Fatalf("tick %d stamped %v, want %v", k, obs.Time, want)
		}
		v := containerObs(t, obs, "victim/sineload")
		want := sine((float64(k) + 0.5) * tick.Seconds())
		if math.Abs(v.CPUUsageCores-want) > 1e-9 || v.RunQueueWaitCores > 1e-9 {
			t.Fatalf("tick %d: usage %.4f wait %.4f, want usage %.4f and no wait", k, v.CPUUsageCores, v.RunQueueWaitCores, want)
		}
		if v.Work == nil || v.Work.Backlog > 1e-9 || math.Abs(v.Work.Served-v.Work.Arrived) > 1e-9 {
			t.Fatalf("tick %d: work %+v, want everything served", k, v.Work)
		}
	}
}

func TestHogFlattensVictimUntilQuotaShieldsIt(t *testing.T) {
	n := newNode(t, 2)
	create(t, n, "victim", victimSpec())
	hog := create(t, n, "hog", hogSpec())
	// Run to the sine's peak (5 s): the victim wants 0.8 but gets half the core.
	var obs state.Observation
	for range 20 {
		obs = n.Tick(tick)
	}
	v, h := containerObs(t, obs, "victim/sineload"), containerObs(t, obs, "hog/cpuhog")
	if math.Abs(v.CPUUsageCores-0.5) > 1e-9 || math.Abs(h.CPUUsageCores-0.5) > 1e-9 {
		t.Fatalf("contended: victim %.4f hog %.4f, want 0.5 each", v.CPUUsageCores, h.CPUUsageCores)
	}
	if v.Work.Backlog <= 0.1 || v.RunQueueWaitCores <= 0.2 {
		t.Fatalf("contended: backlog %.4f wait %.4f, want a growing backlog and wait", v.Work.Backlog, v.RunQueueWaitCores)
	}
	// Cap the hog to what the victim leaves free: the victim drains its
	// backlog, then follows the sine again, and the hog takes the rest.
	quota := 0.15
	if err := n.SetCPU(context.Background(), hog, state.CPUResources{QuotaCores: &quota}); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		obs = n.Tick(tick)
	}
	v, h = containerObs(t, obs, "victim/sineload"), containerObs(t, obs, "hog/cpuhog")
	if v.Work.Backlog > 1e-9 || math.Abs(h.CPUUsageCores-0.15) > 1e-9 {
		t.Fatalf("shielded: victim backlog %.4f, hog usage %.4f, want 0 and 0.15", v.Work.Backlog, h.CPUUsageCores)
	}
	if h.ThrottledSeconds <= 0 || h.CPUQuotaCores == nil || *h.CPUQuotaCores != 0.15 {
		t.Fatalf("shielded hog: throttled %g s, quota %v, want throttled under a 0.15 quota", h.ThrottledSeconds, h.CPUQuotaCores)
	}
	if math.Abs(obs.Host.CPUUsageCores-(v.CPUUsageCores+h.CPUUsageCores)) > 1e-12 {
		t.Fatalf("host usage %.4f is not the containers' sum", obs.Host.CPUUsageCores)
	}
}

func TestObservationCarriesIdentityAndSettings(t *testing.T) {
	n := newNode(t, 2)
	shares := uint64(2048)
	spec := hogSpec()
	spec.CPUSet = "0-1"
	spec.Resources.CPUShares = &shares
	create(t, n, "hog", spec)
	create(t, n, "victim", victimSpec())
	obs := n.Tick(tick)
	if obs.Node != "sim-1" || obs.IntervalSeconds != 0.25 || obs.Host.CPUs != 2 {
		t.Fatalf("header %+v, want node sim-1, 0.25 s, 2 CPUs", obs)
	}
	if len(obs.Containers) != 2 || obs.Containers[0].ID != "hog/cpuhog" || obs.Containers[1].ID != "victim/sineload" {
		t.Fatalf("containers %+v, want hog then victim (sorted by ID)", obs.Containers)
	}
	h := obs.Containers[0]
	want := state.ContainerObservation{ID: "hog/cpuhog", App: "hog", Name: "cpuhog", GUID: "hog-guid", Class: state.BestEffort, CPUSet: "0-1", CPUShares: 2048}
	h.CPUUsageCores, h.RunQueueWaitCores = 0, 0
	if h.Work != nil || h.ID != want.ID || h.App != want.App || h.Name != want.Name || h.GUID != want.GUID ||
		h.Class != want.Class || h.CPUSet != want.CPUSet || h.CPUShares != want.CPUShares || h.CPUQuotaCores != nil {
		t.Fatalf("hog observed as %+v, want %+v", h, want)
	}
}

func TestStoppedAndKilledContainersUseNothing(t *testing.T) {
	n := newNode(t, 1)
	victim := create(t, n, "victim", victimSpec())
	create(t, n, "hog", hogSpec())
	if err := n.Stop(context.Background(), victim); err != nil {
		t.Fatal(err)
	}
	obs := n.Tick(tick)
	if len(obs.Containers) != 1 || obs.Containers[0].CPUUsageCores != 1 {
		t.Fatalf("after stopping the victim: %+v, want the hog alone on the core", obs.Containers)
	}
	if err := n.Kill("hog/cpuhog"); err != nil {
		t.Fatal(err)
	}
	if obs := n.Tick(tick); len(obs.Containers) != 0 || obs.Host.CPUUsageCores != 0 {
		t.Fatalf("after killing the hog: %+v, want an idle node", obs)
	}
	list, err := n.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Running || list[0].ExitCode != 137 || list[1].Running || list[1].ExitCode != 0 {
		t.Fatalf("list %+v, want the hog dead with 137 and the victim stopped with 0", list)
	}
	if err := n.Kill("hog/cpuhog"); err == nil {
		t.Fatal("killing a dead container: want an error")
	}
}

func TestRuntimeLifecycle(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, 2)
	first := create(t, n, "victim", victimSpec())
	if first.ID != "victim/sineload" || first.App != "victim" || first.Name != "sineload" ||
		first.GUID != "victim-guid" || first.SpecHash != "hash-victim" || !first.Running || first.RuntimeID == "" {
		t.Fatalf("created %+v", first)
	}
	if _, err := n.Create(ctx, "victim", victimSpec(), "g", "h"); !errors.Is(err, ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	if err := n.Stop(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := n.Stop(ctx, first); err != nil {
		t.Fatalf("stopping a stopped container: %v, want success", err)
	}
	if err := n.Remove(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := n.Remove(ctx, first); err != nil {
		t.Fatalf("removing a missing container: %v, want success", err)
	}
	second := create(t, n, "victim", victimSpec())
	if second.RuntimeID == first.RuntimeID {
		t.Fatalf("re-created container reuses runtime ID %s", first.RuntimeID)
	}
	// A value read before the re-create must not reach the new container.
	if err := n.Stop(ctx, first); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stop through a stale value: %v, want ErrNotFound", err)
	}
	if err := n.Remove(ctx, first); err != nil {
		t.Fatal(err)
	}
	if list, _ := n.List(ctx); len(list) != 1 || !list[0].Running {
		t.Fatalf("the stale remove touched the new container: %+v", list)
	}
}

func TestListIsSortedByID(t *testing.T) {
	n := newNode(t, 2)
	for _, app := range []string{"zeta", "alpha", "mid"} {
		create(t, n, app, hogSpec())
	}
	list, err := n.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	if strings.Join(ids, " ") != "alpha/cpuhog mid/cpuhog zeta/cpuhog" {
		t.Fatalf("List order %v, want sorted by ID", ids)
	}
}

func TestCreateRejectsBadSpecs(t *testing.T) {
	n := newNode(t, 2)
	cases := map[string]func(*state.ContainerSpec){
		"cpuset":  func(s *state.ContainerSpec) { s.CPUSet = "2" },
		"class":   func(s *state.ContainerSpec) { s.Class = "urgent" },
		"demand":  func(s *state.ContainerSpec) { s.Demand = &state.DemandSpec{Kind: "sine"} },
		"image":   func(s *state.ContainerSpec) { s.Image = "" },
		"csv":     func(s *state.ContainerSpec) { s.Demand = &state.DemandSpec{Kind: "csv", File: "load.csv"} },
		"shares":  func(s *state.ContainerSpec) { zero := uint64(0); s.Resources.CPUShares = &zero },
		"quota":   func(s *state.ContainerSpec) { q := -1.0; s.Resources.CPUQuotaCores = &q },
		"netmbit": func(s *state.ContainerSpec) { m := 0.0; s.Resources.NetMbit = &m },
	}
	for field, breakIt := range cases {
		spec := hogSpec()
		breakIt(&spec)
		_, err := n.Create(context.Background(), "hog", spec, "g", "h")
		if err == nil || !strings.Contains(err.Error(), "hog/cpuhog") {
			t.Errorf("bad %s: error %v, want one naming hog/cpuhog", field, err)
		}
	}
	if list, _ := n.List(context.Background()); len(list) != 0 {
		t.Fatalf("rejected creates left containers behind: %+v", list)
	}
}

func TestSetCPUReadsBackAndRejectsBadValues(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, 2)
	hog := create(t, n, "hog", hogSpec())
	got, err := n.CPU(ctx, hog)
	if err != nil || got.QuotaCores != nil || got.Shares == nil || *got.Shares != 1024 || got.CPUSet != "0" {
		t.Fatalf("initial CPU %+v (%v), want no quota, 1024 shares, cpuset 0", got, err)
	}
	quota, shares := 0.4, uint64(256)
	if err := n.SetCPU(ctx, hog, state.CPUResources{QuotaCores: &quota, Shares: &shares, CPUSet: "1"}); err != nil {
		t.Fatal(err)
	}
	got, _ = n.CPU(ctx, hog)
	if *got.QuotaCores != 0.4 || *got.Shares != 256 || got.CPUSet != "1" {
		t.Fatalf("after SetCPU: %+v", got)
	}
	bad, badShares := -0.1, uint64(1)
	for name, r := range map[string]state.CPUResources{
		"quota":  {QuotaCores: &bad},
		"shares": {QuotaCores: &quota, Shares: &badShares},
		"cpuset": {QuotaCores: &quota, CPUSet: "0-3"},
	} {
		if err := n.SetCPU(ctx, hog, r); err == nil {
			t.Errorf("bad %s: want an error", name)
		}
	}
	got, _ = n.CPU(ctx, hog)
	if *got.QuotaCores != 0.4 || *got.Shares != 256 || got.CPUSet != "1" {
		t.Fatalf("a rejected SetCPU changed the settings: %+v", got)
	}
	// A nil quota lifts it; nil shares and an empty cpuset stay.
	if err := n.SetCPU(ctx, hog, state.CPUResources{}); err != nil {
		t.Fatal(err)
	}
	got, _ = n.CPU(ctx, hog)
	if got.QuotaCores != nil || *got.Shares != 256 || got.CPUSet != "1" {
		t.Fatalf("after an empty SetCPU: %+v, want quota lifted and the rest kept", got)
	}
	if err := n.SetCPU(ctx, state.Container{ID: "nope/x"}, state.CPUResources{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetCPU on a missing container: %v, want ErrNotFound", err)
	}
}

func TestUplinkSendsUpToItsLimit(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, 1)
	limit := 10.0
	spec := hogSpec()
	spec.Resources.NetMbit = &limit
	hog := create(t, n, "hog", spec)
	if err := n.SetNetDemand("hog/cpuhog", 25); err != nil {
		t.Fatal(err)
	}
	// 10 Mbit/s for 0.25 s is 312,500 bytes.
	if got := containerObs(t, n.Tick(tick), "hog/cpuhog").NetTxBytes; got != 312500 {
		t.Fatalf("tx %d bytes under a 10 Mbit/s limit, want 312500", got)
	}
	if err := n.SetBandwidth(ctx, hog, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := n.Bandwidth(ctx, hog); got != nil {
		t.Fatalf("bandwidth %v after lifting the limit, want nil", *got)
	}
	if got := n.Tick(tick).Host.NetTxBytes; got != 781250 {
		t.Fatalf("host tx %d bytes at 25 Mbit/s unlimited, want 781250", got)
	}
	zero := 0.0
	if err := n.SetBandwidth(ctx, hog, &zero); err == nil {
		t.Fatal("a zero limit: want an error")
	}
}

func TestLastTickTellsTheTruth(t *testing.T) {
	n := newNode(t, 1)
	create(t, n, "victim", victimSpec())
	create(t, n, "hog", hogSpec())
	for range 20 {
		n.Tick(tick)
	}
	truth := n.LastTick()
	if len(truth) != 2 || truth[0].ID != "hog/cpuhog" || truth[1].ID != "victim/sineload" {
		t.Fatalf("LastTick %+v, want hog then victim", truth)
	}
	v := truth[1]
	wantDemand := sine(4.875)
	if math.Abs(v.Demand-wantDemand) > 1e-9 || v.Work == nil || v.Offered != 1 || v.Limit != "contention" {
		t.Fatalf("victim truth %+v, want demand %.4f, a backlog offering the whole core, limited by contention", v, wantDemand)
	}
	if truth[0].Limit != "contention" || truth[0].Offered != 1 {
		t.Fatalf("hog truth %+v", truth[0])
	}
}

func TestZeroTickMovesNothing(t *testing.T) {
	n := newNode(t, 1)
	create(t, n, "victim", victimSpec())
	obs := n.Tick(-time.Second)
	if !obs.Time.Equal(epoch) || obs.IntervalSeconds != 0 {
		t.Fatalf("negative tick: time %v interval %g, want the epoch and 0", obs.Time, obs.IntervalSeconds)
	}
	if w := obs.Containers[0].Work; w.Arrived != 0 || w.Served != 0 {
		t.Fatalf("negative tick moved work: %+v", w)
	}
}

func TestNewNodeRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]NodeConfig{
		"no name":        {CPUs: 1},
		"no cpus":        {Name: "a"},
		"too many cpus":  {Name: "a", CPUs: 65},
		"negative noise": {Name: "a", CPUs: 1, DemandNoise: -0.1},
	} {
		if _, err := NewNode(cfg); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}
