package policies

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/state"
)

func TestPushOpsReplaceTheStoredBundle(t *testing.T) {
	b, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	ops, err := PushOps(b, "abc123", []string{"old.rego", "shield.rego"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, op := range ops {
		verb := "put"
		if op.Delete {
			verb = "delete"
		}
		got = append(got, verb+" "+strings.TrimPrefix(op.Key, state.PoliciesPrefix))
	}
	want := "delete old.rego,put .manifest,put burst.rego,put data.json,put shield.rego"
	if strings.Join(got, ",") != want {
		t.Fatalf("ops = %v, want %s", got, want)
	}
	files := map[string][]byte{}
	for _, op := range ops[1:] {
		files[strings.TrimPrefix(op.Key, state.PoliciesPrefix)] = op.Value
	}
	pushed, err := LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	if pushed.Digest != b.Digest || pushed.Revision != "abc123" {
		t.Fatalf("pushed bundle digest %s revision %q, want %s and abc123", pushed.Digest, pushed.Revision, b.Digest)
	}
}

func TestPushOpsRefuseABundleOverOneTxn(t *testing.T) {
	files := map[string][]byte{}
	for i := range state.MaxTxnOps {
		files[fmt.Sprintf("p%03d.rego", i)] = []byte(fmt.Sprintf("package p%03d\n", i))
	}
	b, err := LoadFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PushOps(b, "none", nil); err == nil || !strings.Contains(err.Error(), "2 etcd transactions") {
		t.Fatalf("PushOps of %d files + manifest: err = %v, want a refusal naming the transactions", len(files), err)
	}
	big := map[string][]byte{"big.rego": []byte("package big\n# " + strings.Repeat("x", state.MaxRequestBytes) + "\n")}
	if b, err = LoadFiles(big); err != nil {
		t.Fatal(err)
	}
	if _, err := PushOps(b, "none", nil); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Fatalf("PushOps of a 1.5 MiB file: err = %v, want a refusal", err)
	}
}
