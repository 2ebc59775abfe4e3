package traces

import (
	"context"
	"runtime"
	runtimemetrics "runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

// benchSpansPerRequest is the size of the requests in the benchmarks: the
// OpenTelemetry SDK's batch processor sends up to 512 spans at a time.
const benchSpansPerRequest = 500

// BenchmarkOTLPGRPCIntake pushes spans through the OTLP gRPC receiver on
// one core (GOMAXPROCS=1, client and server in one process over
// loopback), the core taking one Snapshot per 100,000 spans as if that
// were a tick's worth. One op is one request of 500 spans; spans/s and
// the peak live heap are reported. Client-side encoding shares the core,
// so the figure understates what the receiver alone sustains.
func BenchmarkOTLPGRPCIntake(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := startCollector(b, Config{Receivers: Receivers{OTLPGRPC: "127.0.0.1:0"}})
	defer c.stop()
	client := dialOTLP(b, c.Addrs().OTLPGRPC)
	req := otlpRequest("worker-e5f6", 1, benchSpansPerRequest)
	spans := req.ResourceSpans[0].ScopeSpans[0].Spans
	peak := sampleHeapPeak()
	b.ResetTimer()
	start := time.Now()
	var sent int
	for i := range b.N {
		// Fresh trace ids, so each request opens traces as real load does.
		for _, s := range spans {
			s.TraceId[0], s.TraceId[1], s.TraceId[2] = byte(i), byte(i>>8), byte(i>>16)
		}
		resp, err := client.Export(context.Background(), req)
		if err != nil {
			b.Fatal(err)
		}
		if r := resp.GetPartialSuccess().GetRejectedSpans(); r != 0 {
			b.Fatalf("%d spans rejected", r)
		}
		sent += benchSpansPerRequest
		if sent%100_000 < benchSpansPerRequest {
			c.Snapshot()
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "spans/s")
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
	if dropped := c.dropped(DropQueueFull); dropped != 0 {
		b.Fatalf("%g spans dropped for a full queue", dropped)
	}
}

// BenchmarkProcessingAt1000SpansPerSecond is the agent's extra cost at
// 1,000 spans/s: one op is one second's worth, ten OTLP requests of 100
// spans decoded from protobuf, queued, moved into the core, and one
// Snapshot. The transport (gRPC framing, the socket) is left out; ns/op
// is CPU time per second of load, so ns/op ÷ 10⁹ is the share of a core.
func BenchmarkProcessingAt1000SpansPerSecond(b *testing.B) {
	c, err := New(Config{Resolver: mapResolver(testBindings), Receivers: Receivers{OTLPGRPC: "unused"}})
	if err != nil {
		b.Fatal(err)
	}
	bodies := make([][]byte, 10)
	for i := range bodies {
		if bodies[i], err = proto.Marshal(otlpRequest("backend-c3d4", 1+i*100, 100)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for _, body := range bodies {
			req, err := decodeOTLPProto(body)
			if err != nil {
				b.Fatal(err)
			}
			// Each second brings new traces, which close after the wait.
			for _, s := range req.ResourceSpans[0].ScopeSpans[0].Spans {
				s.TraceId[0], s.TraceId[1], s.TraceId[2] = byte(i), byte(i>>8), byte(i>>16)
			}
			c.exportOTLP(ReceiverOTLPGRPC, req)
		}
		c.Snapshot()
	}
	b.StopTimer()
	perSpan := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / 1000
	b.ReportMetric(perSpan, "ns/span")
	b.ReportMetric(perSpan*1000/1e9*100, "%core-at-1000-spans/s")
}

// sampleHeapPeak samples the live heap every 10 ms until the returned
// function is called, which returns the largest sample.
func sampleHeapPeak() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	sample := []runtimemetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	wg.Go(func() {
		ticker := time.NewTicker(10 * time.Millisecond)
		defer ticker.Stop()
		for {
			runtimemetrics.Read(sample)
			peak.Store(max(peak.Load(), sample[0].Value.Uint64()))
			select {
			case <-done:
				return
			case <-ticker.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}
