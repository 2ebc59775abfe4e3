package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/internal/etcdtest"
)

// startEtcd runs an embedded etcd alone, for commands that need no agent,
// and returns its endpoint; it stops when the test ends.
func startEtcd(t *testing.T) string {
	server, _ := etcdtest.Embedded(t)
	return server.Endpoints()[0]
}

func writeSpecFiles(t *testing.T, apps int) []string {
	t.Helper()
	dir := t.TempDir()
	files := make([]string, apps)
	for i := range files {
		name := fmt.Sprintf("app%03d", i)
		files[i] = filepath.Join(dir, name+".yaml")
		spec := fmt.Sprintf("name: %s\ncontainers:\n- name: job\n  image: cpuhog\n  class: best-effort\n", name)
		if err := os.WriteFile(files[i], []byte(spec), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// More apps than one etcd transaction holds are applied in several, each
// reported with its revision.
func TestApplyMoreAppsThanOneTxnHolds(t *testing.T) {
	endpoint := startEtcd(t)
	const apps = 300
	out, err := sluice(t, endpoint, "apply", "-f", strings.Join(writeSpecFiles(t, apps), ","))
	if err != nil {
		t.Fatalf("apply of %d apps: %v\n%s", apps, err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != apps+1 || !strings.HasPrefix(lines[0], "app/app000 applied (revision ") {
		t.Fatalf("apply printed %d lines starting %q, want one per app and a summary", len(lines), lines[0])
	}
	if want := fmt.Sprintf("%d apps applied in 3 transactions", apps); !strings.HasPrefix(lines[apps], want) {
		t.Fatalf("apply ended with %q, want %q...", lines[apps], want)
	}
	if rows := appsByName(t, endpoint); len(rows) != apps {
		t.Fatalf("etcd holds %d apps, want %d", len(rows), apps)
	}
}
