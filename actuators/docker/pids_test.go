package docker

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// A cached PID is believed only while /proc shows it in the container's
// cgroup: a PID reused by another process, or gone, sends the actuators
// back to the engine.
func TestPIDCacheBelievesOnlyAProcessOfTheContainer(t *testing.T) {
	proc := t.TempDir()
	writeCgroup := func(pid int, content string) {
		t.Helper()
		dir := filepath.Join(proc, strconv.Itoa(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cache := newPIDCache(proc)
	if _, ok := cache.lookup("abc123"); ok {
		t.Fatal("an empty cache knew a PID")
	}
	writeCgroup(42, "12:cpu,cpuacct:/docker/abc123\n")
	cache.store("abc123", 42)
	if pid, ok := cache.lookup("abc123"); !ok || pid != 42 {
		t.Fatalf("lookup = %d, %v; want 42 from the cache", pid, ok)
	}
	writeCgroup(42, "12:cpu,cpuacct:/docker/other999\n") // the PID went to another container
	if _, ok := cache.lookup("abc123"); ok {
		t.Fatal("a PID reused by another container's process was believed")
	}
	cache.store("abc123", 43) // no /proc/43: the process is gone
	if _, ok := cache.lookup("abc123"); ok {
		t.Fatal("the PID of a process that is gone was believed")
	}
	cache.store("abc123", 42)
	cache.store("def456", 42)
	cache.keepOnly(map[string]bool{"def456": true})
	if len(cache.pids) != 1 {
		t.Fatalf("after keepOnly the cache holds %v, want def456 alone", cache.pids)
	}
}
