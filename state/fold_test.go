package state_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/state"
)

func put(rev int64, key, value string) state.Event {
	return state.Event{Revision: rev, Key: key, Value: []byte(value)}
}

func del(rev int64, key string) state.Event {
	return state.Event{Revision: rev, Key: key, Deleted: true}
}

const webSpec = `{"name":"web","containers":[{"name":"frontend","image":"img","class":"latency-critical"}]}`

func TestFoldReportsBadValuesUnderTheirKey(t *testing.T) {
	node, app := state.Keys.Node("n1"), state.Keys.App("", "web")
	tests := []struct {
		name string
		key  string
		// value is what was put; want is a part of the error that says
		// what is wrong with it.
		value, want string
	}{
		{"malformed node", node, `{"name":`, "unexpected EOF"},
		{"node with an unknown field", node, `{"name":"n1","cpu":4}`, `unknown field "cpu"`},
		{"node as null", node, `null`, "null"},
		{"node with trailing data", node, `{"name":"n1"}}`, "trailing data"},
		{"observation of the wrong type", state.Keys.Observation("n1"), `[1,2]`, "cannot unmarshal array"},
		{"malformed app", app, `{"name":"web",`, "unexpected EOF"},
		{"app with a misspelt field", app, strings.Replace(webSpec, `"class"`, `"clas"`, 1), `unknown field "clas"`},
		{"app without containers", app, `{"name":"web","containers":[]}`, "at least one is required"},
		{"app under another name", state.Keys.App("", "api"), webSpec, `does not match the key's "api"`},
		{"unpinned app that names a node", app, strings.Replace(webSpec, `"name":"web"`, `"name":"web","node":"n1"`, 1), "goes under " + state.Keys.App("n1", "web")},
		{"pinned app that names another node", state.Keys.App("n1", "web"), strings.Replace(webSpec, `"name":"web"`, `"name":"web","node":"n2"`, 1), `node "n2" does not match the key's "n1"`},
		{"app with a bad class", app, strings.Replace(webSpec, "latency-critical", "urgent", 1), `class "urgent"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			view := state.Fold("n1", put(7, tc.key, tc.value))
			msg, found := view.Errors[tc.key]
			if !found {
				t.Fatalf("no error recorded for %s; errors: %v", tc.key, view.Errors)
			}
			if !strings.Contains(msg, tc.key) || !strings.Contains(msg, "revision 7") || !strings.Contains(msg, tc.want) {
				t.Fatalf("error %q should name %s, revision 7 and %q", msg, tc.key, tc.want)
			}
			if len(view.Errors) != 1 || view.Revision != 7 {
				t.Fatalf("errors %v at revision %d, want exactly one at 7", view.Errors, view.Revision)
			}
		})
	}
}

// A node or an observation keeps its last good value when a newer one is
// malformed: acting on slightly old facts beats acting on none.
func TestFoldKeepsTheLastGoodValueOfAFact(t *testing.T) {
	key := state.Keys.Node("n1")
	view := state.Fold("n1", put(2, key, `{"name":"n1","capacity":{"cpus":4}}`), put(3, key, `{"name":"n1",`))
	if got := view.Nodes["n1"].Capacity.CPUs; got != 4 {
		t.Fatalf("after a malformed update, node n1 has %d CPUs, want the last good 4", got)
	}
	if _, found := view.Errors[key]; !found {
		t.Fatalf("malformed update of %s not reported: %v", key, view.Errors)
	}
	view.Apply(put(4, key, `{"name":"n1","capacity":{"cpus":8}}`))
	if got := view.Nodes["n1"].Capacity.CPUs; got != 8 || len(view.Errors) != 0 {
		t.Fatalf("after a good update: %d CPUs, errors %v; want 8 and none", got, view.Errors)
	}
}

// An app whose spec turns invalid keeps its last good spec: a bad edit
// must neither stop nor change a running app. The rejection names the key,
// the revision and the field.
func TestFoldKeepsTheLastGoodSpecOfAnApp(t *testing.T) {
	key := state.Keys.App("", "web")
	view := state.Fold("n1", put(2, key, webSpec))
	if _, found := view.Apps["web"]; !found || view.AppRevisions["web"] != 2 {
		t.Fatalf("valid spec not folded: apps %v revisions %v", view.Apps, view.AppRevisions)
	}
	view.Apply(put(3, key, `{"name":"web","containers":[]}`))
	if _, found := view.Apps["web"]; !found || view.AppRevisions["web"] != 2 {
		t.Fatalf("after a rejected spec: apps %v revisions %v, want the spec of revision 2", view.Apps, view.AppRevisions)
	}
	want := state.SpecRejection{Key: key, Revision: 3, Error: "app web: containers: at least one is required"}
	if got := view.Rejections["web"]; got != want {
		t.Fatalf("rejection %+v, want %+v", got, want)
	}
	if _, found := view.Errors[key]; !found {
		t.Fatal("invalid spec not reported")
	}
	view.Apply(put(4, key, webSpec))
	if _, found := view.Apps["web"]; !found || view.AppRevisions["web"] != 4 || len(view.Errors) != 0 || len(view.Rejections) != 0 {
		t.Fatalf("fixed spec: apps %v revisions %v errors %v rejections %v", view.Apps, view.AppRevisions, view.Errors, view.Rejections)
	}
}

// A spec never seen good has nothing to keep: the app has no spec, only
// its rejection.
func TestFoldRejectsAFirstSpec(t *testing.T) {
	key := state.Keys.App("n1", "web")
	view := state.Fold("n1", put(2, key, `{"name":"web",`))
	if _, found := view.Apps["web"]; found {
		t.Fatalf("a spec that never decoded runs: %v", view.Apps)
	}
	if got := view.Rejections["web"]; got.Key != key || got.Revision != 2 {
		t.Fatalf("rejection %+v, want one of %s at revision 2", got, key)
	}
}

// A follower folds several watches, one per prefix, whose events of
// different keys may interleave out of revision order: each applies, and
// the view's revision is the newest it has seen.
func TestFoldRevisionIsTheNewestSeen(t *testing.T) {
	view := state.Fold("n1",
		put(5, state.Keys.Node("n1"), `{"name":"n1"}`),
		put(3, state.Keys.App("", "web"), webSpec),
		put(4, state.Keys.Observation("n1"), `{"node":"n1"}`),
	)
	if _, found := view.Apps["web"]; !found || view.AppRevisions["web"] != 3 || len(view.Observations) != 1 || view.Revision != 5 {
		t.Fatalf("apps %v (revisions %v), observations %v at %d; want web at 3, n1's observation, at 5",
			view.Apps, view.AppRevisions, view.Observations, view.Revision)
	}
	// Events of one Txn share a revision and all apply.
	view.Apply(put(6, state.Keys.Node("a"), `{"name":"a"}`))
	view.Apply(put(6, state.Keys.Node("b"), `{"name":"b"}`))
	if got := state.SortedKeys(view.Nodes); !reflect.DeepEqual(got, []string{"a", "b", "n1"}) || view.Revision != 6 {
		t.Fatalf("nodes after one Txn of two puts = %v at %d, want a b n1 at 6", got, view.Revision)
	}
	// Another node's key is skipped, but its revision was seen.
	view.Apply(put(7, state.Keys.Observation("n2"), `{"node":"n2"}`))
	if _, found := view.Observations["n2"]; found || view.Revision != 7 {
		t.Fatalf("after n2's observation: observations %v at %d; want n1's alone at 7", view.Observations, view.Revision)
	}
}

func TestFoldDeletes(t *testing.T) {
	events := []state.Event{
		put(2, state.Keys.App("", "web"), webSpec),
		put(3, state.Keys.Node("n1"), `{"name":"n1"}`),
		put(4, state.Keys.Node("n1"), `{"name":`),
		put(5, state.Keys.Policy("shield.rego"), "package shield"),
		put(6, state.Keys.Status("n1", "web"), `{"app":"web","phase":"ready"}`),
		put(7, state.Keys.Decision("n1"), `{"node":"n1","revision":6}`),
		put(8, state.Keys.Observation("n1"), `{"node":"n1"}`),
		put(9, state.Keys.PolicyError("n1"), `{"node":"n1","error":"boom"}`),
		put(10, state.Keys.App("n1", "api"), strings.Replace(webSpec, `"web"`, `"api"`, 1)),
	}
	view := state.Fold("n1", events...)
	if len(view.Errors) != 1 {
		t.Fatalf("errors %v, want n1's malformed registration alone", view.Errors)
	}
	for i, ev := range events {
		view.Apply(del(int64(11+i), ev.Key))
	}
	if n := len(view.Apps) + len(view.AppRevisions) + len(view.Nodes) + len(view.Policies) + len(view.Statuses) +
		len(view.Decisions) + len(view.Observations) + len(view.PolicyErrors); n != 0 {
		t.Fatalf("after deleting every key the view still holds %+v", view)
	}
	if len(view.Errors) != 0 {
		t.Fatalf("deleting a key must clear its error; errors: %v", view.Errors)
	}
	if view.Revision != 19 {
		t.Fatalf("revision = %d, want 19", view.Revision)
	}
}

func TestFoldOfOtherKeys(t *testing.T) {
	policy := []byte("package shield\n")
	view := state.Fold("n1",
		state.Event{Revision: 2, Key: state.Keys.Policy("shield.rego"), Value: policy},
		put(3, "/sluice/unknown/thing", "not json"),
		put(4, state.Keys.Status("n1", "web"), `{"app":"web","phase":"failed","error":"bad spec"}`),
		put(5, state.NodeScope("n1")+"unknown", "not json"),
		put(6, state.ClusterPrefix+"id", "abc"),
	)
	policy[0] = 'X'
	if string(view.Policies["shield.rego"]) != "package shield\n" {
		t.Fatalf("policy = %q: the view must hold its own copy", view.Policies["shield.rego"])
	}
	if len(view.Errors) != 0 || view.Revision != 6 {
		t.Fatalf("a key outside the known prefixes must be skipped quietly; errors %v, revision %d", view.Errors, view.Revision)
	}
	if got := view.Statuses["web"]; got.Phase != state.Failed || got.Error != "bad spec" {
		t.Fatalf("status = %+v", got)
	}
	if got := string(view.Cluster["id"]); got != "abc" {
		t.Fatalf("cluster id = %q, want abc", got)
	}
}

// A node runs its pinned apps and the unpinned ones; a pinned app wins over
// an unpinned one of the same name, which takes over again when the pinned
// one goes. Another node's apps never show.
func TestAppsOn(t *testing.T) {
	spec := func(name, node, image string) string {
		return `{"name":"` + name + `","node":"` + node + `","containers":[{"name":"c","image":"` + image + `","class":"best-effort"}]}`
	}
	view := state.Fold("n1",
		put(2, state.Keys.App("", "zeta"), spec("zeta", "", "unpinned")),
		put(3, state.Keys.App("n1", "alpha"), spec("alpha", "", "i")),
		put(4, state.Keys.App("n2", "beta"), spec("beta", "n2", "i")),
		put(5, state.Keys.App("n1", "zeta"), spec("zeta", "n1", "pinned")),
	)
	var names []string
	for _, app := range view.AppsOn() {
		names = append(names, app.Name+"@"+app.Node+":"+app.Containers[0].Image)
	}
	if want := []string{"alpha@n1:i", "zeta@n1:pinned"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("AppsOn() = %v, want %v", names, want)
	}
	if view.AppRevisions["zeta"] != 5 {
		t.Fatalf("zeta's spec revision = %d, want the pinned spec's 5", view.AppRevisions["zeta"])
	}
	view.Apply(del(6, state.Keys.App("n1", "zeta")))
	if got := view.Apps["zeta"]; got.Containers[0].Image != "unpinned" || got.Node != "" || view.AppRevisions["zeta"] != 2 {
		t.Fatalf("after the pinned zeta went: %+v at %d, want the unpinned spec at 2", got, view.AppRevisions["zeta"])
	}
}

// The documented workflow puts these files with etcdctl as they are.
func TestExampleAppsFold(t *testing.T) {
	files, err := filepath.Glob("../examples/apps/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no example apps under examples/apps")
	}
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var named struct{ Name string }
		if err := json.Unmarshal(data, &named); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		key := state.Keys.App("", named.Name)
		view := state.Fold("n1", state.Event{Revision: int64(i + 2), Key: key, Value: data})
		if msg, bad := view.Errors[key]; bad {
			t.Errorf("%s: %s", file, msg)
		}
	}
}

// A spec is held to the node's capacity whatever order the events come
// in: one taken while the capacity was unknown is checked again when the
// node registers, and leaves the view if the node cannot give what it
// asks; a larger registration takes it back.
func TestFoldChecksSpecsAgainWhenTheNodeRegisters(t *testing.T) {
	app := state.Keys.App("n1", "web")
	node := state.Keys.Node("n1")
	greedy := `{"name":"web","containers":[{"name":"api","image":"img","class":"best-effort","resources":{"cpu_quota_cores":3}}]}`
	view := state.Fold("n1", put(2, app, greedy))
	if _, found := view.Apps["web"]; !found {
		t.Fatal("a spec within the static bounds was not taken while the node's capacity is unknown")
	}
	view.Apply(put(3, node, `{"name":"n1","capacity":{"cpus":2}}`))
	if _, found := view.Apps["web"]; found {
		t.Fatal("a spec asking 3 CPUs of a 2-CPU node stays in force")
	}
	if got := view.Rejections["web"]; got.Revision != 2 || !strings.Contains(got.Error, "cpu_quota_cores 3") {
		t.Fatalf("rejection %+v, want the spec of revision 2, its quota named", got)
	}
	view.Apply(put(4, node, `{"name":"n1","capacity":{"cpus":4}}`))
	if _, found := view.Apps["web"]; !found || len(view.Rejections) != 0 || len(view.Errors) != 0 {
		t.Fatalf("on a 4-CPU node: apps %v, rejections %v, errors %v; want the spec back", view.Apps, view.Rejections, view.Errors)
	}
}
