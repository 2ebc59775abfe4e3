package policies

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluice-io/sluice/state"
)

// PushOps are the writes that make b, at revision, the bundle under
// state.PoliciesPrefix: a put of each of its files and of its manifest, and
// a delete of each stored name the bundle no longer has, so that what is
// left is exactly b. They must go in one transaction, or an agent could
// load half a bundle; an error says when b is too large for one.
func PushOps(b *Bundle, revision string, stored []string) ([]state.Op, error) {
	files := make(map[string][]byte, len(b.Files)+1)
	for name, content := range b.Files {
		files[name] = content
	}
	files[ManifestFile] = Manifest(revision)
	var ops []state.Op
	for _, name := range stored {
		if _, kept := files[name]; !kept {
			ops = append(ops, state.Delete(state.Keys.Policy(name)))
		}
	}
	for _, name := range state.SortedKeys(files) {
		ops = append(ops, state.Put(state.Keys.Policy(name), files[name]))
	}
	batches, err := state.Batches(ops)
	if err != nil {
		return nil, fmt.Errorf("bundle %s does not fit one etcd transaction: %w", shortDigest(b.Digest), err)
	}
	if len(batches) > 1 {
		return nil, fmt.Errorf("bundle %s: %d files (%d writes with the deletes) need %d etcd transactions; one takes at most %d ops and %d bytes, and an agent must see a bundle whole",
			shortDigest(b.Digest), len(files), len(ops), len(batches), state.MaxTxnOps, state.MaxRequestBytes)
	}
	return ops, nil
}

// StoredNames lists the files under state.PoliciesPrefix.
func StoredNames(ctx context.Context, store state.Store) ([]string, error) {
	kvs, _, err := store.List(ctx, state.PoliciesPrefix)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", state.PoliciesPrefix, err)
	}
	names := make([]string, len(kvs))
	for i, kv := range kvs {
		names[i] = strings.TrimPrefix(kv.Key, state.PoliciesPrefix)
	}
	return names, nil
}
