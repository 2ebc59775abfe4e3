package main

import (
	"context"
	"io"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	for _, args := range [][]string{{"--threads", "0"}, {"--threads", "-2"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted bad input", args)
		}
	}
	if n, err := parseFlags(nil, io.Discard); err != nil || n != 1 {
		t.Errorf("default threads = %d, %v; want 1", n, err)
	}
	if n, err := parseFlags([]string{"--threads", "3"}, io.Discard); err != nil || n != 3 {
		t.Errorf("--threads 3 = %d, %v", n, err)
	}
}

func TestHogSpinsEveryThreadAndStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	done := make(chan uint64)
	go func() { done <- hog(ctx, 2) }()
	select {
	case rounds := <-done:
		if rounds == 0 {
			t.Fatal("hog returned without spinning")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hog did not stop within 5s of its context ending")
	}
}
