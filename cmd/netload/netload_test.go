package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sluice-io/sluice/internal/testenv"
)

func TestAllowedTargetOnlyLocalNetworks(t *testing.T) {
	cases := map[string]bool{
		"127.0.0.1":        true,
		"127.8.9.10":       true,
		"::1":              true,
		"172.17.0.2":       true, // the Docker bridge
		"10.1.2.3":         true,
		"192.168.1.1":      true,
		"fd00::1":          true,
		"::ffff:127.0.0.1": true,
		"8.8.8.8":          false,
		"1.1.1.1":          false,
		"172.32.0.1":       false,
		"2001:db8::1":      false,
		"0.0.0.0":          false,
	}
	for addr, want := range cases {
		if got := allowedTarget(netip.MustParseAddr(addr)); got != want {
			t.Errorf("allowedTarget(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestResolveTargetRefusesMissingAndPublicTargets(t *testing.T) {
	ctx := context.Background()
	for _, to := range []string{"", "8.8.8.8:5001", "172.17.0.2", "[2001:db8::1]:80"} {
		if _, err := resolveTarget(ctx, to); err == nil {
			t.Errorf("resolveTarget(%q) accepted it", to)
		}
	}
	got, err := resolveTarget(ctx, "172.17.0.2:5001")
	if err != nil || got != "172.17.0.2:5001" {
		t.Errorf("resolveTarget(172.17.0.2:5001) = %q, %v", got, err)
	}
}

func TestSendFlagsHaveNoDefaultTarget(t *testing.T) {
	if _, err := parseSendFlags(nil, io.Discard); err == nil || !strings.Contains(err.Error(), "--to is required") {
		t.Fatalf("send without --to: err = %v, want one asking for --to", err)
	}
	if _, err := parseSendFlags([]string{"--to", "127.0.0.1:1", "--duration", "0s"}, io.Discard); err == nil {
		t.Fatal("send accepted a zero duration")
	}
}

func TestMbit(t *testing.T) {
	if got := mbit(1_250_000, 1); got != 10 {
		t.Errorf("1.25 MB in 1 s = %g Mbit/s, want 10", got)
	}
	if got := mbit(1000, 0); got != 0 {
		t.Errorf("rate over zero seconds = %g, want 0", got)
	}
}

func TestSendToSinkOverLoopbackCountsDeliveredBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var sinkOut testenv.Buffer
	sinkDone := make(chan error)
	go func() { sinkDone <- serveSink(ctx, ln, 20*time.Millisecond, &sinkOut) }()

	var out bytes.Buffer
	if err := send(ctx, sendConfig{to: ln.Addr().String(), duration: 100 * time.Millisecond}, &out); err != nil {
		t.Fatal(err)
	}
	var rep sendReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("send printed %q: %v", out.String(), err)
	}
	if rep.BytesSent == 0 || rep.BytesReceived != rep.BytesSent {
		t.Errorf("sent %d bytes, sink confirmed %d", rep.BytesSent, rep.BytesReceived)
	}
	if rep.Seconds < 0.1 || rep.Mbit <= 0 {
		t.Errorf("report %+v: want at least 0.1 s and a positive rate", rep)
	}
	time.Sleep(50 * time.Millisecond) // let the reporter print the last bytes
	cancel()
	if err := <-sinkDone; err != nil {
		t.Fatalf("sink: %v", err)
	}
	var total int64
	dec := json.NewDecoder(strings.NewReader(sinkOut.String()))
	for dec.More() {
		var r sinkReport
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		total += r.Bytes
	}
	if total != rep.BytesReceived {
		t.Errorf("sink reports add up to %d bytes, it confirmed %d", total, rep.BytesReceived)
	}
}

func TestModeFlagsParseAndNameTheMode(t *testing.T) {
	send, err := parseSendFlags([]string{"--to", "127.0.0.1:5001", "--duration", "2s"}, io.Discard)
	if err != nil || send != (sendConfig{to: "127.0.0.1:5001", duration: 2 * time.Second}) {
		t.Errorf("send flags = %+v, %v", send, err)
	}
	sink, err := parseSinkFlags(nil, io.Discard)
	if err != nil || sink != (sinkConfig{listen: ":5001", interval: time.Second}) {
		t.Errorf("sink defaults = %+v, %v", sink, err)
	}
	for _, tc := range []struct {
		parse func() error
		want  string
	}{
		{func() error { _, err := parseSinkFlags([]string{"--interval", "0s"}, io.Discard); return err }, "sink: --interval 0s must be positive"},
		{func() error { _, err := parseSinkFlags([]string{"extra"}, io.Discard); return err }, `sink: unexpected arguments ["extra"]`},
		{func() error {
			_, err := parseSendFlags([]string{"--to", "127.0.0.1:1", "--duration", "-1s"}, io.Discard)
			return err
		}, "send: --duration -1s must be positive"},
	} {
		if err := tc.parse(); err == nil || err.Error() != tc.want {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}

func TestRunRejectsUnknownMode(t *testing.T) {
	if err := run(context.Background(), []string{"flood"}, io.Discard, io.Discard); err == nil {
		t.Fatal("run accepted an unknown mode")
	}
	if err := run(context.Background(), nil, io.Discard, io.Discard); err == nil {
		t.Fatal("run accepted no mode")
	}
}
