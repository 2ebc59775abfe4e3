package cgroup

import (
	"testing"

	"github.com/sluice-io/sluice/internal/cgroupfs"
)

func TestDriverGroups(t *testing.T) {
	v2, err := DriverGroups(cgroupfs.V2, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if len(v2) != 2 || v2[0].Unified != "/docker/abc" || v2[1].Unified != "/system.slice/docker-abc.scope" {
		t.Errorf("v2 driver groups = %+v", v2)
	}
	v1, err := DriverGroups(cgroupfs.V1, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if v1[1].Paths["cpu"] != "/system.slice/docker-abc.scope" || v1[0].Paths["cpuset"] != "/docker/abc" {
		t.Errorf("v1 driver groups = %+v", v1)
	}
	for _, id := range []string{"", "../abc", "a/b", " abc"} {
		if _, err := DriverGroups(cgroupfs.V1, id); err == nil {
			t.Errorf("DriverGroups accepted runtime ID %q", id)
		}
	}
}
