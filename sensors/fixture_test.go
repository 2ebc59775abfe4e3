package sensors

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-io/sluice/state"
)

// writeTree writes files (path relative to root → content) in place, so
// files the collector keeps open see the new content as they would in
// procfs and cgroupfs.
func writeTree(t *testing.T, root string, files map[string]string) { writeTreeB(t, root, files) }

func writeTreeB(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		path := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func secondsDuration(n int) time.Duration { return time.Duration(n) * time.Second }

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// pidsByID is a Locator over a fixed table.
type pidsByID map[string]int

func (p pidsByID) PID(_ context.Context, c state.Container) (int, error) {
	pid, ok := p[c.ID]
	if !ok {
		return 0, fmt.Errorf("no process for %s", c.ID)
	}
	return pid, nil
}

func netDevWith(rx, tx uint64) string {
	return fmt.Sprintf("Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n"+
		"    lo: 99 1 0 0 0 0 0 0 99 1 0 0 0 0 0 0\n  eth0: %d 5 0 0 0 0 0 0 %d 5 0 0 0 0 0 0\n", rx, tx)
}
