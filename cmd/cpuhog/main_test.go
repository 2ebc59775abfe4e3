package main

import (
	"context"
	"io"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	for _, args := range [][]string{{"--threads", "0"}, {"--threads", "-2"}, {"--hold-mib", "-1"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted bad input", args)
		}
	}
	if c, err := parseFlags(nil, io.Discard); err != nil || c != (config{threads: 1}) {
		t.Errorf("defaults = %+v, %v; want 1 thread, no memory held", c, err)
	}
	if c, err := parseFlags([]string{"--threads", "3", "--hold-mib", "64"}, io.Discard); err != nil || c != (config{threads: 3, holdMiB: 64}) {
		t.Errorf("--threads 3 --hold-mib 64 = %+v, %v", c, err)
	}
}

func TestTouchWritesEveryPage(t *testing.T) {
	held := touch(3*pageSize + 10)
	if len(held) != 3*pageSize+10 {
		t.Fatalf("touch held %d bytes, want %d", len(held), 3*pageSize+10)
	}
	for page := 0; page < len(held); page += pageSize {
		if held[page] != 1 {
			t.Errorf("page at %d was not written", page)
		}
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
