package cgroupfs

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/cgroups/v3"

	"github.com/sluice-io/sluice/internal/testenv"
)

func TestGroupFromProcCgroup(t *testing.T) {
	v1, err := GroupFromProcCgroup(V1, "9:name=systemd:/docker/abc\n4:memory:/docker/abc\n2:cpuacct:/docker/abc\n1:cpu:/docker/abc\n0::/\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"memory": "/docker/abc", "cpuacct": "/docker/abc", "cpu": "/docker/abc"}
	if v1.Version != V1 || !reflect.DeepEqual(v1.Paths, want) {
		t.Errorf("v1 group = %+v, want paths %v", v1, want)
	}
	combined, err := GroupFromProcCgroup(V1, "3:cpu,cpuacct:/kubepods/pod1/abc\n")
	if err != nil {
		t.Fatal(err)
	}
	if combined.Paths["cpu"] != "/kubepods/pod1/abc" || combined.Paths["cpuacct"] != "/kubepods/pod1/abc" {
		t.Errorf("combined cpu,cpuacct entry gave %v", combined.Paths)
	}
	v2, err := GroupFromProcCgroup(V2, "0::/system.slice/docker-abc.scope\n")
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != V2 || v2.Unified != "/system.slice/docker-abc.scope" {
		t.Errorf("v2 group = %+v", v2)
	}
	for _, bad := range []struct {
		v       Version
		content string
	}{{V2, "1:cpu:/docker/abc\n"}, {V1, "0::/docker/abc\n"}, {V1, "not a cgroup line\n"}} {
		if g, err := GroupFromProcCgroup(bad.v, bad.content); err == nil {
			t.Errorf("GroupFromProcCgroup(%s, %q) = %+v, want an error", bad.v, bad.content, g)
		}
	}
}

func TestGroupOfPID(t *testing.T) {
	proc := t.TempDir()
	if err := os.MkdirAll(filepath.Join(proc, "42"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proc, "42", "cgroup"), []byte("0::/docker/abc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if g, err := GroupOfPID(proc, V2, 42); err != nil || g.Unified != "/docker/abc" {
		t.Errorf("group of process 42 = %+v, %v; want /docker/abc", g, err)
	}
	if _, err := GroupOfPID(proc, V1, 42); err == nil || !strings.Contains(err.Error(), "process 42") {
		t.Errorf("a v2-only file read as v1: err = %v, want one naming process 42", err)
	}
	if _, err := GroupOfPID(proc, V2, 43); err == nil {
		t.Error("a missing process had a group")
	}
}

func TestGroupDir(t *testing.T) {
	v1 := Group{Version: V1, Paths: map[string]string{"cpu": "/docker/abc"}}
	if dir, err := v1.Dir("/sys/fs/cgroup", "cpu"); err != nil || dir != "/sys/fs/cgroup/cpu/docker/abc" {
		t.Errorf("v1 cpu dir = %q, %v", dir, err)
	}
	if _, err := v1.Dir("/sys/fs/cgroup", "memory"); err == nil || !strings.Contains(err.Error(), "no memory hierarchy") {
		t.Errorf("v1 memory dir of a group without one: err = %v", err)
	}
	v2 := Group{Version: V2, Unified: "/docker/abc"}
	if dir, err := v2.Dir("/sys/fs/cgroup", "memory"); err != nil || dir != "/sys/fs/cgroup/docker/abc" {
		t.Errorf("v2 dir = %q, %v", dir, err)
	}
	for _, path := range []string{"/", "", "docker/abc", "/docker/../../etc"} {
		if dir, err := (Group{Version: V2, Unified: path}).Dir("/sys/fs/cgroup", "cpu"); err == nil {
			t.Errorf("Dir accepted group path %q as %s", path, dir)
		}
	}
}

func TestDetectVersionAt(t *testing.T) {
	v1 := t.TempDir()
	if err := os.MkdirAll(filepath.Join(v1, "unified"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := DetectVersionAt(v1); got != V1 {
		t.Errorf("a root without cgroup.controllers detected as %s, want %s", got, V1)
	}
	v2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(v2, "cgroup.controllers"), []byte("cpuset cpu memory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := DetectVersionAt(v2); got != V2 {
		t.Errorf("a root with cgroup.controllers detected as %s, want %s", got, V2)
	}
}

// TestDetectVersionAgreesWithTheCgroupsLibrary checks the file test against
// the filesystem type the containerd library looks at, on this host.
func TestDetectVersionAgreesWithTheCgroupsLibrary(t *testing.T) {
	testenv.RequireCgroups(t)
	want, known := map[cgroups.CGMode]Version{cgroups.Unified: V2, cgroups.Hybrid: V1, cgroups.Legacy: V1}[cgroups.Mode()]
	if !known {
		testenv.Unavailable(t, fmt.Sprintf("cgroups library sees no hierarchy at %s (mode %d)", DefaultRoot, cgroups.Mode()))
	}
	got, err := DetectVersion()
	if err != nil || got != want {
		t.Errorf("DetectVersion() = %s, %v; the cgroups library's mode %d means %s", got, err, cgroups.Mode(), want)
	}
}
