package tc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/sluice-io/sluice/internal/testenv"
	"github.com/sluice-io/sluice/state"
)

// holdEnv makes the test binary, re-executed as a child in a new network
// namespace, sleep until killed: it holds the namespace open, as a
// container's process does.
const holdEnv = "SLUICE_TC_TEST_HOLD"

func TestMain(m *testing.M) {
	if os.Getenv(holdEnv) == "1" {
		for {
			time.Sleep(time.Hour)
		}
	}
	os.Exit(m.Run())
}

// The test's own addresses, on a veth pair between its own namespaces.
const (
	senderAddr = "10.213.0.1/30"
	sinkAddr   = "10.213.0.2/30"
	sinkIP     = "10.213.0.2"
)

type fakePIDs map[string]int

func (f fakePIDs) PID(_ context.Context, c state.Container) (int, error) {
	if pid, ok := f[c.ID]; ok {
		return pid, nil
	}
	return 0, errors.New("no such container")
}

// startNamespace starts a process in a new network namespace and returns
// its PID; killing it at the end of the test destroys the namespace and
// the veth end inside it.
func startNamespace(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		testenv.Unavailable(t, "cannot create a network namespace: "+err.Error())
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

// link is a veth end to configure inside the namespace of process pid.
type link struct {
	pid        int
	name, addr string
}

// connect joins two namespaces with a veth pair, renames each end and
// gives it its address.
func connect(t *testing.T, a, b link) {
	t.Helper()
	tmpA, tmpB := fmt.Sprintf("slt%da", os.Getpid()%100000), fmt.Sprintf("slt%db", os.Getpid()%100000)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: tmpA}, PeerName: tmpB}
	if err := netlink.LinkAdd(veth); err != nil {
		testenv.Unavailable(t, "cannot create a veth pair: "+err.Error())
	}
	t.Cleanup(func() {
		// Still in the host namespace only if the test failed midway.
		if l, err := netlink.LinkByName(tmpA); err == nil {
			netlink.LinkDel(l)
		}
	})
	for _, end := range []struct {
		tmp string
		link
	}{{tmpA, a}, {tmpB, b}} {
		l, err := netlink.LinkByName(end.tmp)
		if err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkSetNsPid(l, end.pid); err != nil {
			t.Fatalf("move %s into the namespace of %d: %v", end.tmp, end.pid, err)
		}
		configure(t, end.pid, end.tmp, end.link)
	}
}

func configure(t *testing.T, pid int, tmpName string, want link) {
	t.Helper()
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(tmpName)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := netlink.ParseAddr(want.addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return h.LinkSetName(l, want.name) },
		func() error { return h.AddrAdd(l, addr) },
		func() error { return h.LinkSetUp(l) },
	} {
		if err := step(); err != nil {
			t.Fatalf("configure %s as %s %s: %v", tmpName, want.name, want.addr, err)
		}
	}
}

// inNamespace runs fn on a thread switched into the network namespace of
// process pid. Sockets belong to the namespace they were created in, so a
// listener or connection made by fn stays there and can be used from any
// goroutine afterwards. If the thread cannot be switched back it stays
// locked, and Go discards it when the goroutine ends.
func inNamespace(pid int, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		target, err := netns.GetFromPid(pid)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		original, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer original.Close()
		if err := netns.Set(target); err != nil {
			errc <- err
			return
		}
		fnErr := fn()
		if err := netns.Set(original); err != nil {
			errc <- fmt.Errorf("switch back from the namespace of %d: %w", pid, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- fnErr
	}()
	return <-errc
}

// flow is a TCP sender in one namespace writing as fast as it can to a
// sink in the other, which counts what arrives.
type flow struct {
	received atomic.Int64
	conns    []net.Conn
	listener net.Listener
}

func startFlow(t *testing.T, senderPID, sinkPID int) *flow {
	t.Helper()
	f := &flow{}
	err := inNamespace(sinkPID, func() (err error) {
		f.listener, err = net.Listen("tcp", sinkIP+":0")
		return err
	})
	if err != nil {
		t.Fatalf("listen in the sink namespace: %v", err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := f.listener.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- conn
		buf := make([]byte, 64<<10)
		for {
			n, err := conn.Read(buf)
			f.received.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	var sender net.Conn
	err = inNamespace(senderPID, func() (err error) {
		sender, err = net.DialTimeout("tcp", f.listener.Addr().String(), 5*time.Second)
		return err
	})
	if err != nil {
		t.Fatalf("connect from the sender namespace: %v", err)
	}
	sink, ok := <-accepted
	if !ok {
		t.Fatal("sink accepted no connection")
	}
	f.conns = []net.Conn{sender, sink}
	t.Cleanup(f.stop)
	go func() {
		chunk := make([]byte, 64<<10)
		for {
			if _, err := sender.Write(chunk); err != nil {
				return
			}
		}
	}()
	return f
}

func (f *flow) stop() {
	f.listener.Close()
	for _, c := range f.conns {
		c.Close()
	}
}

// rate measures the flow's goodput in Mbit/s over window, after warmup
// lets the queue and TCP's window settle.
func (f *flow) rate(warmup, window time.Duration) float64 {
	time.Sleep(warmup)
	before, start := f.received.Load(), time.Now()
	time.Sleep(window)
	return float64(f.received.Load()-before) * 8 / time.Since(start).Seconds() / 1e6
}

func TestRealBandwidthLimit(t *testing.T) {
	testenv.RequireRoot(t)
	c, sender, senderPID, sinkPID := senderAndSink(t)
	ctx := context.Background()
	if got, err := c.Bandwidth(ctx, sender); err != nil || got != nil {
		t.Fatalf("Bandwidth of a fresh veth = %v, %v; want unlimited", got, err)
	}

	const limit = 20.0
	if err := c.SetBandwidth(ctx, sender, ptr(limit)); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Bandwidth(ctx, sender); err != nil || got == nil || *got != limit {
		t.Fatalf("Bandwidth after SetBandwidth(%v) = %v, %v", limit, got, err)
	}
	// Setting it again replaces the qdisc in place.
	if err := c.SetBandwidth(ctx, sender, ptr(limit)); err != nil {
		t.Fatal(err)
	}

	f := startFlow(t, senderPID, sinkPID)
	limited := f.rate(500*time.Millisecond, 2*time.Second)
	t.Logf("limit %v Mbit/s: TCP goodput %.2f Mbit/s", limit, limited)
	if limited < limit*0.9 || limited > limit*1.1 {
		t.Errorf("goodput %.2f Mbit/s under a %v Mbit/s limit, want within ±10%%", limited, limit)
	}

	if err := c.SetBandwidth(ctx, sender, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Bandwidth(ctx, sender); err != nil || got != nil {
		t.Fatalf("Bandwidth after removing the limit = %v, %v; want unlimited", got, err)
	}
	if err := c.SetBandwidth(ctx, sender, nil); err != nil {
		t.Errorf("removing an absent limit: %v", err)
	}
	unlimited := f.rate(200*time.Millisecond, 300*time.Millisecond)
	t.Logf("no limit: TCP goodput %.2f Mbit/s", unlimited)
	if unlimited < 2*limit {
		t.Errorf("goodput %.2f Mbit/s after removing the limit, want well above %v", unlimited, limit)
	}
}

func TestRealBandwidthRefusesTheHostNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	c, err := New(Config{PIDs: fakePIDs{"test/host": os.Getpid()}, Link: "lo"})
	if err != nil {
		t.Fatal(err)
	}
	err = c.SetBandwidth(context.Background(), state.Container{ID: "test/host"}, ptr(1))
	if err == nil {
		t.Fatal("SetBandwidth shaped the host namespace's loopback")
	}
	t.Log(err)
}

func TestRealDelay(t *testing.T) {
	testenv.RequireRoot(t)
	c, sender, senderPID, sinkPID := senderAndSink(t)
	ctx := context.Background()
	if err := c.SetBandwidth(ctx, sender, ptr(20)); err != nil {
		t.Fatal(err)
	}

	const want = 50 * time.Millisecond
	err := c.SetDelay(ctx, sender, delay(want))
	if errors.Is(err, ErrNetemUnavailable) {
		// The refused netem must not have cost the bandwidth limit.
		if got, err := c.Bandwidth(ctx, sender); err != nil || got == nil || *got != 20 {
			t.Errorf("after a refused delay Bandwidth = %v, %v; want the 20 Mbit/s limit kept", got, err)
		}
		// Skipped in CI too: the kernel, not the setup, lacks netem.
		t.Skipf("netem is unavailable in this kernel, so delay cannot be tested here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	shape, err := c.Shape(ctx, sender)
	if err != nil {
		t.Fatal(err)
	}
	if !sameDuration(shape.Delay, delay(want)) || !sameFloat(shape.Mbit, ptr(20)) {
		t.Errorf("Shape after SetDelay = %s, want 20 Mbit/s and %v", show(shape), want)
	}
	// The SYN-ACK leaves the sink at once; the SYN and the final ACK leave
	// the delayed sender, so the handshake takes at least one delay.
	start := time.Now()
	startFlow(t, senderPID, sinkPID)
	if handshake := time.Since(start); handshake < want {
		t.Errorf("TCP handshake took %v under a %v delay", handshake, want)
	}
	if err := c.SetDelay(ctx, sender, nil); err != nil {
		t.Fatal(err)
	}
	if shape, err := c.Shape(ctx, sender); err != nil || shape.Delay != nil || !sameFloat(shape.Mbit, ptr(20)) {
		t.Errorf("Shape after removing the delay = %s, %v; want 20 Mbit/s and no delay", show(shape), err)
	}
}

func ptr(v float64) *float64 { return &v }

// senderAndSink connects two fresh namespaces by a veth pair and returns a
// controller that shapes the sender's side, the sender, and both PIDs.
func senderAndSink(t *testing.T) (c *Controller, sender state.Container, senderPID, sinkPID int) {
	t.Helper()
	senderPID, sinkPID = startNamespace(t), startNamespace(t)
	connect(t, link{senderPID, DefaultLink, senderAddr}, link{sinkPID, "sink0", sinkAddr})
	sender = state.Container{ID: "test/sender", App: "test", Name: "sender", Running: true}
	c, err := New(Config{PIDs: fakePIDs{sender.ID: senderPID}})
	if err != nil {
		t.Fatal(err)
	}
	return c, sender, senderPID, sinkPID
}
