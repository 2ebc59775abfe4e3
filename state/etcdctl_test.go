package state_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/internal/testenv"
	"github.com/sluice-io/sluice/state"
)

// The workflow docs/keyspace.md shows: an operator writes intent with the
// pinned etcdctl, and sluice reads it as if `sluice apply` had written it; a
// malformed value is reported under its key and nothing else breaks.
func TestEtcdctlWorkflow(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		testenv.Unavailable(t, "needs the go command to run the pinned etcdctl: "+err.Error())
	}
	store, server := newEtcdStoreWithServer(t)
	endpoint := strings.Join(server.Endpoints(), ",")
	etcdctl := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(goTool, append([]string{"tool", "etcdctl", "--endpoints=" + endpoint}, args...)...)
		cmd.Dir = ".." // the module root, where go.mod pins etcdctl
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("etcdctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	web, err := os.ReadFile("../examples/apps/web.json")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	etcdctl("put", state.Keys.App("", "web"), string(web))
	view, err := state.LoadView(ctx, store, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if _, found := view.Apps["web"]; !found || len(view.Errors) != 0 {
		t.Fatalf("after etcdctl put: apps %v, errors %v; want web and no errors", state.SortedKeys(view.Apps), view.Errors)
	}

	broken := strings.Replace(string(web), `"class"`, `"clas"`, 1)
	etcdctl("put", state.Keys.App("", "web"), broken)
	etcdctl("put", state.Keys.App("", "other"), `{"name":"other","containers":[{"name":"c","image":"i","class":"best-effort"}]}`)
	view, err = state.LoadView(ctx, store, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if msg := view.Errors[state.Keys.App("", "web")]; !strings.Contains(msg, `unknown field "clas"`) {
		t.Fatalf("malformed put: error %q, want the unknown field named", msg)
	}
	if _, found := view.Apps["web"]; found {
		t.Fatal("app with a malformed spec still in the view")
	}
	if _, found := view.Apps["other"]; !found {
		t.Fatal("a malformed app stopped the fold of the others")
	}

	if got := etcdctl("get", state.Keys.App("", "other"), "--print-value-only"); !strings.Contains(got, `"name":"other"`) {
		t.Fatalf("etcdctl get = %q", got)
	}
	etcdctl("del", state.Keys.App("", "web"))
	view, err = state.LoadView(ctx, store, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if len(view.Errors) != 0 {
		t.Fatalf("deleting the malformed key left errors %v", view.Errors)
	}
}
