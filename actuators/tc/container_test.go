package tc_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sluice-io/sluice/actuators/docker"
	"github.com/sluice-io/sluice/actuators/docker/dockertest"
	"github.com/sluice-io/sluice/actuators/tc"
	"github.com/sluice-io/sluice/internal/testenv"
	"github.com/sluice-io/sluice/state"
)

var _ tc.PIDs = (*docker.Runtime)(nil)

// A sender container limited to 20 Mbit/s sends to a sink container over
// the Docker bridge; the sink's per-interval reports must show 20 ± 10%.
func TestIntegrationContainerBandwidthOverTheBridge(t *testing.T) {
	testenv.RequireRoot(t)
	rt := dockertest.Runtime(t)
	image := dockertest.Image(t, rt, docker.Netload)
	ctx := t.Context()
	sink, err := rt.Create(ctx, "bw", state.ContainerSpec{
		Name: "sink", Image: image, Class: state.BestEffort,
		Cmd: []string{"sink", "--listen", ":5001", "--interval", "250ms"},
	}, "netload-b1a2", "h")
	if err != nil {
		t.Fatal(err)
	}
	sinkAddr, err := bridgeAddr(ctx, rt, sink)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 20.0
	sender, err := rt.Create(ctx, "bw", state.ContainerSpec{
		Name: "send", Image: image, Class: state.BestEffort,
		Cmd: []string{"send", "--to", netip.AddrPortFrom(sinkAddr, 5001).String(), "--duration", "4s"},
	}, "netload-b1a3", "h")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tc.New(tc.Config{PIDs: rt, Logger: dockertest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// The sender starts sending at once; what it sends before the limit is
	// in place lands in the sink's first intervals, which are left out.
	limited := time.Now()
	if err := c.SetBandwidth(ctx, sender, ptr(limit)); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Bandwidth(ctx, sender); err != nil || got == nil || *got != limit {
		t.Fatalf("Bandwidth of the sender = %v, %v; want %v", got, err, limit)
	}
	time.Sleep(4*time.Second - time.Since(limited) + 500*time.Millisecond)

	var logs bytes.Buffer
	if err := rt.Logs(ctx, sink, false, &logs); err != nil {
		t.Fatal(err)
	}
	rate, intervals := steadyRate(t, logs.Bytes())
	t.Logf("sink received %.2f Mbit/s over %d steady intervals under a %v Mbit/s limit", rate, intervals, limit)
	if rate < limit*0.9 || rate > limit*1.1 {
		t.Errorf("goodput %.2f Mbit/s under a %v Mbit/s limit, want within ±10%%", rate, limit)
	}
}

// steadyRate averages the sink's reports after the first second of
// traffic, dropping the last report with traffic (the sender stopping
// mid-interval).
func steadyRate(t *testing.T, logs []byte) (float64, int) {
	t.Helper()
	type report struct {
		T     float64 `json:"t"`
		Bytes int64   `json:"bytes"`
	}
	var active []report
	scanner := bufio.NewScanner(bytes.NewReader(logs))
	for scanner.Scan() {
		var r report
		if err := json.Unmarshal(scanner.Bytes(), &r); err != nil {
			t.Fatalf("sink printed %q: %v", scanner.Text(), err)
		}
		if r.Bytes > 0 {
			active = append(active, r)
		}
	}
	if len(active) < 2 {
		t.Fatalf("sink reported traffic in %d intervals:\n%s", len(active), logs)
	}
	first, last := active[0].T, active[len(active)-1].T
	var bytesSum int64
	var steady []report
	for _, r := range active {
		if r.T >= first+1 && r.T < last {
			steady = append(steady, r)
			bytesSum += r.Bytes
		}
	}
	if len(steady) < 4 {
		t.Fatalf("only %d steady intervals in the sink's reports:\n%s", len(steady), logs)
	}
	seconds := steady[len(steady)-1].T - steady[0].T + (steady[1].T - steady[0].T)
	return float64(bytesSum) * 8 / seconds / 1e6, len(steady)
}

// bridgeAddr is the address Docker gave container c on its network.
func bridgeAddr(ctx context.Context, rt *docker.Runtime, c state.Container) (netip.Addr, error) {
	res, err := rt.Client().ContainerInspect(ctx, c.RuntimeID, client.ContainerInspectOptions{})
	if err != nil {
		return netip.Addr{}, err
	}
	for _, ep := range res.Container.NetworkSettings.Networks {
		if ep != nil && ep.IPAddress.IsValid() {
			return ep.IPAddress, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("container %s has no address on a Docker network", c.ID)
}

func ptr(v float64) *float64 { return &v }
