package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

type sinkConfig struct {
	listen   string
	interval time.Duration
}

func parseSinkFlags(args []string, stderr io.Writer) (sinkConfig, error) {
	return parseModeFlags("sink", args, stderr, func(fs *flag.FlagSet, c *sinkConfig) {
		fs.StringVar(&c.listen, "listen", ":5001", "TCP address to listen on")
		fs.DurationVar(&c.interval, "interval", time.Second, "interval between rate reports")
	}, func(c sinkConfig) error { return positive("--interval", c.interval) })
}

// sinkReport is one interval of what the sink received.
type sinkReport struct {
	T     float64 `json:"t"`
	Bytes int64   `json:"bytes"`
	Mbit  float64 `json:"mbit"`
}

// sinkReply is what the sink sends back when a sender closes its side, so
// the sender's rate counts bytes delivered, not bytes queued in its buffer.
type sinkReply struct {
	Bytes int64 `json:"bytes"`
}

func sink(ctx context.Context, cfg sinkConfig, out io.Writer) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("sink: listen on %s: %w", cfg.listen, err)
	}
	return serveSink(ctx, ln, cfg.interval, out)
}

// serveSink accepts senders on ln until ctx ends, reporting every interval.
func serveSink(ctx context.Context, ln net.Listener, interval time.Duration, out io.Writer) error {
	var received atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		<-ctx.Done()
		ln.Close()
	})
	wg.Go(func() { reportSink(ctx, &received, interval, json.NewEncoder(out)) })
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("sink: accept: %w", err)
		}
		wg.Go(func() { drain(ctx, conn, &received) })
	}
}

// drain counts what conn sends until the sender closes its side, then
// replies with the count.
func drain(ctx context.Context, conn net.Conn, received *atomic.Int64) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	n, err := io.Copy(countingDiscard{received}, conn)
	if err != nil {
		return // the sender went away; nobody to reply to
	}
	_ = json.NewEncoder(conn).Encode(sinkReply{Bytes: n})
}

type countingDiscard struct{ n *atomic.Int64 }

func (c countingDiscard) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

func reportSink(ctx context.Context, received *atomic.Int64, interval time.Duration, enc *json.Encoder) {
	start := time.Now()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var prev int64
	prevAt := start
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			total := received.Load()
			_ = enc.Encode(sinkReport{
				T:     now.Sub(start).Seconds(),
				Bytes: total - prev,
				Mbit:  mbit(total-prev, now.Sub(prevAt).Seconds()),
			})
			prev, prevAt = total, now
		}
	}
}
