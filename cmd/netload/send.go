package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

type sendConfig struct {
	to       string
	duration time.Duration
}

func parseSendFlags(args []string, stderr io.Writer) (sendConfig, error) {
	return parseModeFlags("send", args, stderr, func(fs *flag.FlagSet, c *sendConfig) {
		fs.StringVar(&c.to, "to", "", "sink address HOST:PORT (required; loopback or private addresses only)")
		fs.DurationVar(&c.duration, "duration", 3*time.Second, "how long to send")
	}, func(c sendConfig) error {
		if c.to == "" {
			return errors.New("--to is required: name the sink explicitly (HOST:PORT)")
		}
		return positive("--duration", c.duration)
	})
}

// sendReport is the outcome of one send: Mbit is what the sink confirmed
// receiving over the time from the first byte to its confirmation.
type sendReport struct {
	BytesSent     int64   `json:"bytes_sent"`
	BytesReceived int64   `json:"bytes_received"`
	Seconds       float64 `json:"seconds"`
	Mbit          float64 `json:"mbit"`
}

// sendBuffer bounds the kernel's send queue: bytes still queued when the
// sending stops are delivered at the limited rate afterwards, and a small
// queue keeps that tail short.
const sendBuffer = 256 << 10

// maxDrain bounds the wait for the sink's confirmation after sending stops.
const maxDrain = time.Minute

func send(ctx context.Context, cfg sendConfig, out io.Writer) error {
	addr, err := resolveTarget(ctx, cfg.to)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("send: dial %s: %w", addr, err)
	}
	defer conn.Close()
	tcp := conn.(*net.TCPConn)
	if err := tcp.SetWriteBuffer(sendBuffer); err != nil {
		return fmt.Errorf("send: set the send buffer of %s: %w", addr, err)
	}
	rep, err := blast(ctx, tcp, cfg.duration)
	if err != nil {
		return fmt.Errorf("send to %s: %w", addr, err)
	}
	return json.NewEncoder(out).Encode(rep)
}

// blast writes to conn for d (or until ctx ends), closes its side and waits
// for the sink to confirm what it received.
func blast(ctx context.Context, conn *net.TCPConn, d time.Duration) (sendReport, error) {
	start := time.Now()
	if err := conn.SetWriteDeadline(start.Add(d)); err != nil {
		return sendReport{}, err
	}
	stop := context.AfterFunc(ctx, func() { conn.SetWriteDeadline(time.Now()) })
	defer stop()
	buf := make([]byte, 64<<10)
	var sent int64
	for {
		n, err := conn.Write(buf)
		sent += int64(n)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return sendReport{}, fmt.Errorf("write after %d bytes: %w", sent, err)
		}
	}
	if err := conn.CloseWrite(); err != nil {
		return sendReport{}, fmt.Errorf("close the sending side: %w", err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(maxDrain)); err != nil {
		return sendReport{}, err
	}
	var reply sinkReply
	if err := json.NewDecoder(conn).Decode(&reply); err != nil {
		return sendReport{}, fmt.Errorf("read the sink's confirmation: %w", err)
	}
	elapsed := time.Since(start).Seconds()
	return sendReport{
		BytesSent:     sent,
		BytesReceived: reply.Bytes,
		Seconds:       elapsed,
		Mbit:          mbit(reply.Bytes, elapsed),
	}, nil
}
