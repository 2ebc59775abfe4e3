// Package testenv decides whether a test that needs something from the host
// (root, a Docker engine, cgroups, a browser) runs here. Outside CI a missing
// requirement skips the test with the reason; under CI=true it fails it,
// because CI is where those tests must run.
package testenv

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"
)

// InCI reports whether the tests run in CI, where nothing may skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips t with reason, or fails it under CI.
func Unavailable(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI but unavailable: %s", reason)
	}
	t.Skip(reason)
}

// RequireRoot needs the test to run as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "needs root")
	}
}

// DockerSocket is where the tests look for the Docker engine.
const DockerSocket = "/var/run/docker.sock"

// RequireDocker needs a Docker engine answering on DockerSocket.
func RequireDocker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "unix", DockerSocket)
	if err != nil {
		Unavailable(t, "needs a Docker engine on "+DockerSocket+": "+err.Error())
		return
	}
	conn.Close()
}

// RequireCgroups needs a writable cgroup hierarchy under /sys/fs/cgroup.
func RequireCgroups(t testing.TB) {
	t.Helper()
	RequireRoot(t)
	if _, err := os.Stat("/sys/fs/cgroup"); err != nil {
		Unavailable(t, "needs /sys/fs/cgroup: "+err.Error())
	}
}

// browsers are the names a Chromium-based browser goes by, Debian's first.
var browsers = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// RequireBrowser needs a Chromium-based browser to drive headless, and
// returns its path ($SLUICE_BROWSER if set).
func RequireBrowser(t testing.TB) string {
	t.Helper()
	if path := os.Getenv("SLUICE_BROWSER"); path != "" {
		return path
	}
	for _, name := range browsers {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	Unavailable(t, "needs a Chromium-based browser (apt-get install chromium)")
	return ""
}
