package state_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-io/sluice/state"
)

func putOps(n, valueBytes int) []state.Op {
	ops := make([]state.Op, n)
	for i := range ops {
		ops[i] = state.Put(fmt.Sprintf("/k/%04d", i), bytes.Repeat([]byte("x"), valueBytes))
	}
	return ops
}

func batchSizes(batches [][]state.Op) []int {
	sizes := make([]int, len(batches))
	for i, batch := range batches {
		sizes[i] = len(batch)
	}
	return sizes
}

func TestBatchesKeepOrderWithinLimits(t *testing.T) {
	const valueBytes = 100 << 10
	// 1.5 MiB less the request's overhead holds 15 values of 100 KiB.
	tests := []struct {
		name string
		ops  []state.Op
		want []int
	}{
		{"none", nil, []int{}},
		{"one", putOps(1, 10), []int{1}},
		{"op limit exactly", putOps(state.MaxTxnOps, 10), []int{state.MaxTxnOps}},
		{"over the op limit", putOps(300, 10), []int{128, 128, 44}},
		{"over the byte limit", putOps(40, valueBytes), []int{15, 15, 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			batches, err := state.Batches(tc.ops)
			must(t, err)
			if got := batchSizes(batches); !slices.Equal(got, tc.want) {
				t.Fatalf("batch sizes %v, want %v", got, tc.want)
			}
			if got := slices.Concat(batches...); !slices.EqualFunc(got, tc.ops, sameOp) {
				t.Fatal("the batches, joined, are not the ops in their order")
			}
		})
	}
}

func sameOp(a, b state.Op) bool {
	return a.Key == b.Key && bytes.Equal(a.Value, b.Value) && a.Delete == b.Delete && a.Lease == b.Lease
}

// etcd refuses a Txn that names a key twice, so the second op on a key
// starts a new batch, which keeps it after the first.
func TestBatchesPutARepeatedKeyInTheNextBatch(t *testing.T) {
	ops := []state.Op{
		state.Put("/a", []byte("1")), state.Put("/b", []byte("1")), state.Delete("/a"),
		state.Put("/c", []byte("1")), state.Put("/a", []byte("2")),
	}
	batches, err := state.Batches(ops)
	must(t, err)
	var got []string
	for _, batch := range batches {
		var keys []string
		for _, op := range batch {
			keys = append(keys, op.Key)
		}
		got = append(got, strings.Join(keys, " "))
	}
	if want := []string{"/a /b", "/a /c", "/a"}; !slices.Equal(got, want) {
		t.Fatalf("batches %q, want %q", got, want)
	}
}

func TestBatchesRefuseAnOpOverTheRequestLimit(t *testing.T) {
	ops := []state.Op{state.Put("/small", []byte("1")), state.Put("/huge", make([]byte, state.MaxRequestBytes))}
	_, err := state.Batches(ops)
	if err == nil || !strings.Contains(err.Error(), "/huge") {
		t.Fatalf("Batches with an op of %d bytes: %v, want an error naming /huge", state.MaxRequestBytes, err)
	}
}

// failingStore fails every Txn after the first ok ones.
type failingStore struct {
	*state.MemoryStore
	ok int
}

func (s *failingStore) Txn(ctx context.Context, ops ...state.Op) (int64, error) {
	if s.ok == 0 {
		return 0, errors.New("etcdserver: request timed out")
	}
	s.ok--
	return s.MemoryStore.Txn(ctx, ops...)
}

func TestTxnBatchedStopsAtTheFirstFailureAndSaysWhatWasWritten(t *testing.T) {
	store := &failingStore{MemoryStore: state.NewMemoryStore(), ok: 1}
	defer store.Close()
	ops := putOps(300, 10)
	var committed []int
	err := state.TxnBatched(context.Background(), store, ops, func(batch []state.Op, rev int64) {
		committed = append(committed, len(batch))
	})
	if err == nil || !strings.Contains(err.Error(), "txn 2 of 3") {
		t.Fatalf("TxnBatched with the second txn failing: %v, want an error for txn 2 of 3", err)
	}
	if !slices.Equal(committed, []int{state.MaxTxnOps}) {
		t.Fatalf("committed batches %v, want the first, of %d ops", committed, state.MaxTxnOps)
	}
	kvs, _, err := store.List(context.Background(), "/k/")
	must(t, err)
	if len(kvs) != state.MaxTxnOps {
		t.Fatalf("store holds %d keys, want the %d of the first batch", len(kvs), state.MaxTxnOps)
	}
}

// A real etcd takes batches at both limits and the largest op Batches
// allows, which checks the size estimate against the server's own.
func TestTxnBatchedFitsEtcd(t *testing.T) {
	store := newEtcdStore(t)
	ctx := context.Background()
	largest := largestBatchableValue(t)
	for _, ops := range [][]state.Op{putOps(300, 10), putOps(40, 100<<10), putOps(3, largest)} {
		var txns int
		err := state.TxnBatched(ctx, store, ops, func([]state.Op, int64) { txns++ })
		if err != nil {
			t.Fatalf("%d ops of %d bytes: %v", len(ops), len(ops[0].Value), err)
		}
		if txns < 2 {
			t.Fatalf("%d ops of %d bytes went in %d txn, want them split", len(ops), len(ops[0].Value), txns)
		}
	}
}

// largestBatchableValue is the largest value Batches takes in one op.
func largestBatchableValue(t *testing.T) int {
	fits := func(n int) bool {
		_, err := state.Batches(putOps(1, n))
		return err == nil
	}
	low, high := 0, state.MaxRequestBytes
	for low+1 < high {
		if mid := (low + high) / 2; fits(mid) {
			low = mid
		} else {
			high = mid
		}
	}
	if low < state.MaxRequestBytes-4096 {
		t.Fatalf("the largest value Batches takes is %d bytes, far below etcd's limit of %d", low, state.MaxRequestBytes)
	}
	return low
}
