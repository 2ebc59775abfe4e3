package state_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/state"
)

// Each bad value an operator can put with etcdctl is refused, naming the
// field; the node's capacity bounds what a spec may ask for.
func TestDecodeAppSpecRefusesBadValues(t *testing.T) {
	node := state.Capacity{CPUs: 2, MemoryBytes: 1 << 30}
	spec := func(container string) string {
		return `{"name":"web","containers":[{"name":"api","image":"img","class":"best-effort"` + container + `}]}`
	}
	cases := []struct {
		name, value, want string
	}{
		{"truncated JSON", `{"name":"web","containers":[{"name":"api"`, "decode JSON"},
		{"negative quota", spec(`,"resources":{"cpu_quota_cores":-1}`), "resources.cpu_quota_cores -1"},
		{"quota below the kernel's minimum", spec(`,"resources":{"cpu_quota_cores":1e-6}`), "resources.cpu_quota_cores 1e-06"},
		{"quota over the node's CPUs", spec(`,"resources":{"cpu_quota_cores":3}`), "resources.cpu_quota_cores 3: must be in [0.01, 2]"},
		{"huge quota", spec(`,"resources":{"cpu_quota_cores":1e300}`), "resources.cpu_quota_cores 1e+300"},
		{"cpuset of CPUs the node lacks", spec(`,"cpuset":"0-3"`), `cpuset "0-3": CPU 3 is not on the node`},
		{"huge cpuset", spec(`,"cpuset":"0-2000000000"`), `range "0-2000000000" is not ascending CPU numbers below 8192`},
		{"long cpuset", spec(`,"cpuset":"` + strings.Repeat("0,", 1000) + `0"`), "cpuset: 2001 bytes"},
		{"memory over the node's", spec(`,"resources":{"memory_bytes":4294967296}`), "resources.memory_bytes 4294967296"},
		{"invalid UTF-8", spec(`,"env":{"A":"` + "\xff" + `"}`), "not valid UTF-8 at byte"},
		{"NUL in an argument", spec(`,"cmd":["a\u0000b"]`), `cmd[0]: "a\x00b" holds a character it may not`},
		{"too many arguments", spec(`,"cmd":[` + strings.Repeat(`"a",`, 300) + `"a"]`), "cmd: 301 arguments, over the maximum of 256"},
		{"long image", strings.Replace(spec(""), `"img"`, `"`+strings.Repeat("i", 5000)+`"`, 1), "image: 5000 bytes"},
		{"bad port", spec(`,"ports":[{"container":70000}]`), "ports[0].container 70000"},
		{"huge demand", spec(`,"demand":{"kind":"constant","value":1e300}`), "demand.value 1e+300"},
		{"too large a value", spec(`,"env":{"A":"` + strings.Repeat("x", state.MaxSpecBytes) + `"}`), "over the maximum of 65536"},
	}
	ref := state.ParseKey(state.Keys.App("n1", "web"))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := state.DecodeAppSpec(ref, []byte(c.value), node)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("DecodeAppSpec = %v, want an error containing %q", err, c.want)
			}
		})
	}
	if _, err := state.DecodeAppSpec(ref, []byte(spec(`,"cpuset":"0-1","resources":{"cpu_quota_cores":2}`)), node); err != nil {
		t.Fatalf("a spec within the node's capacity: %v", err)
	}
}

// A cpuset's numbers are bounded before its ranges expand: the largest
// range allowed costs MaxCPUs entries, and a larger one costs nothing.
func BenchmarkParseCPUSetHugeRange(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := state.ParseCPUSet("0-2000000000"); err == nil {
			b.Fatal("a range past MaxCPUs parsed")
		}
	}
}

// FuzzDecodeAppSpec: no value panics the decoder or costs it more than its
// bounds allow, and a spec it accepts encodes to one it accepts again, the
// same.
func FuzzDecodeAppSpec(f *testing.F) {
	for _, seed := range []string{
		`{"name":"web","containers":[{"name":"api","image":"img","class":"best-effort","cpuset":"0-1","resources":{"cpu_quota_cores":0.5}}]}`,
		`{"name":"web","containers":[{"name":"api","image":"img","class":"latency-critical","cpuset":"0-2000000000"}]}`,
		`{"name":"web","containers":[{"name":"api","image":"img","class":"best-effort","resources":{"cpu_quota_cores":1e300}}]}`,
		"{\"name\":\"web\",\"containers\":[{\"name\":\"api\",\"image\":\"\xff\",\"class\":\"best-effort\"}]}",
		`{"name":"web","containers":[{"name":"api"`,
	} {
		f.Add([]byte(seed))
	}
	ref := state.ParseKey(state.Keys.App("n1", "web"))
	node := state.Capacity{CPUs: 4, MemoryBytes: 1 << 32, NetMbit: 1000}
	f.Fuzz(func(t *testing.T, value []byte) {
		spec, err := state.DecodeAppSpec(ref, value, node)
		if err != nil {
			return
		}
		again, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := state.DecodeAppSpec(ref, again, node); err != nil {
			t.Fatalf("an accepted spec, encoded again, is rejected: %v\n%s", err, again)
		}
	})
}
