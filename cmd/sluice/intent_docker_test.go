package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/state"
)

// TestDockerAgentKeepsAnAppUnderABadSpec puts each bad value an operator
// could type with etcdctl over a running app's spec: the container keeps
// its ID and its cgroup settings and runs on, the app stays ready, its
// status and `get apps` name the rejection, and the app next to it goes
// on running too.
func TestDockerAgentKeepsAnAppUnderABadSpec(t *testing.T) {
	n := newDockerNode(t)
	n.startAgent()
	quota := 0.3
	steady := idleSpec("steady")
	steady.Containers[0].CPUSet = "0"
	steady.Containers[0].Resources = state.Resources{CPUQuotaCores: &quota}
	n.apply(steady, idleSpec("neighbour"))
	id := n.waitPhase("steady", state.Ready).Containers[0].RuntimeID
	neighbour := n.waitPhase("neighbour", state.Ready).Containers[0].RuntimeID
	settings := n.cgroupSettings(id)

	spec := func(container string) string {
		return fmt.Sprintf(`{"name":"steady","node":%q,"containers":[{"name":"sink","image":"sluice/netload:dev",`+
			`"class":"best-effort","cmd":["sink","--listen",":5001","--interval","1h"]%s}]}`, n.name, container)
	}
	bad := []struct{ name, value, want string }{
		{"truncated JSON", `{"name":"steady","containers":[{"name":"sink"`, "decode JSON"},
		{"negative quota", spec(`,"resources":{"cpu_quota_cores":-1}`), "resources.cpu_quota_cores -1"},
		{"quota over the node's CPUs", spec(`,"resources":{"cpu_quota_cores":100000}`), "resources.cpu_quota_cores 100000"},
		{"huge quota", spec(`,"resources":{"cpu_quota_cores":1e300}`), "resources.cpu_quota_cores 1e+300"},
		{"huge cpuset", spec(`,"cpuset":"0-999999"`), `"0-999999"`},
		{"invalid UTF-8", spec(`,"env":{"MODE":"` + "\xc3\x28" + `"}`), "not valid UTF-8"},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			etcdctl(t, n.endpoint, "put", state.Keys.App(n.name, "steady"), b.value)
			var status state.AppStatus
			waitFor(t, "steady's status to name the rejection", func() bool {
				status = n.status("steady")
				return status.Rejected != nil && strings.Contains(status.Rejected.Error, b.want)
			})
			if status.Phase != state.Ready || status.Containers[0].RuntimeID != id {
				t.Errorf("steady: %s on %s, want ready on %s", status.Phase, status.Containers[0].RuntimeID, id)
			}
			if res, found := n.inspect(id); !found || !res.Container.State.Running {
				t.Fatalf("steady's container %s stopped", id)
			}
			if got := n.cgroupSettings(id); got != settings {
				t.Errorf("steady's cgroup %+v, was %+v", got, settings)
			}
			if out, err := runCLI(n.endpoint, "get", "apps"); err != nil || !strings.Contains(out, fmt.Sprintf("rejected@%d", status.Rejected.Revision)) {
				t.Errorf("get apps does not show the rejection (%v):\n%s", err, out)
			}
			if status := n.status("neighbour"); status.Phase != state.Ready || status.Containers[0].RuntimeID != neighbour {
				t.Errorf("neighbour: %s on %s, want ready on %s", status.Phase, status.Containers[0].RuntimeID, neighbour)
			}
		})
	}
}
