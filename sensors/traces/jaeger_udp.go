package traces

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"

	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
)

// udpReadBuffer is the socket buffer asked of the kernel: bursts of
// datagrams wait there while the reader decodes. Datagrams the kernel
// drops when it is full never reach sluice and cannot be counted here.
const udpReadBuffer = 4 << 20

type jaegerReceiver struct {
	collector *Collector
	receiver  string
	conn      net.PacketConn
	decode    func([]byte) (*jaeger.Batch, error)
	done      chan struct{}
	serving   atomic.Bool
}

func (c *Collector) bindJaeger(address, receiver string) (receiverServer, error) {
	conn, err := net.ListenPacket("udp", address)
	if err != nil {
		return nil, fmt.Errorf("Jaeger receiver %s: listen on %s: %w", receiver, address, err)
	}
	if u, ok := conn.(*net.UDPConn); ok {
		// A smaller buffer than asked is not an error: the kernel caps it.
		_ = u.SetReadBuffer(udpReadBuffer)
	}
	decode := decodeJaegerCompact
	if receiver == ReceiverJaegerBinary {
		decode = decodeJaegerBinary
	}
	return &jaegerReceiver{collector: c, receiver: receiver, conn: conn, decode: decode, done: make(chan struct{})}, nil
}

func (r *jaegerReceiver) name() string   { return r.receiver }
func (r *jaegerReceiver) addr() net.Addr { return r.conn.LocalAddr() }

// serve reads one datagram at a time; each is a whole batch.
func (r *jaegerReceiver) serve() error {
	r.serving.Store(true)
	defer close(r.done)
	buf := make([]byte, maxJaegerPacket+1)
	for {
		n, _, err := r.conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read datagram: %w", err)
		}
		r.handle(buf[:n])
	}
}

func (r *jaegerReceiver) handle(packet []byte) {
	if len(packet) > maxJaegerPacket {
		r.collector.decodeError(r.receiver, fmt.Errorf("datagram over %d bytes", maxJaegerPacket))
		return
	}
	batch, err := r.decode(packet)
	if err != nil {
		r.collector.decodeError(r.receiver, err)
		return
	}
	spans, invalid := spansFromJaeger(batch, nil)
	if r.collector.forwarder != nil {
		r.collector.forward(jaegerToOTLP(batch), len(spans)+invalid)
	}
	r.collector.ingest(r.receiver, spans, invalid)
}

// stop closes the socket and waits for the datagram being decoded. A
// receiver that never served has nothing to wait for.
func (r *jaegerReceiver) stop(ctx context.Context) {
	r.conn.Close()
	if !r.serving.Load() {
		return
	}
	select {
	case <-r.done:
	case <-ctx.Done():
	}
}
