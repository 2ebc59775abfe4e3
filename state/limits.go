package state

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/server/v3/embed"
	"google.golang.org/protobuf/proto"
)

// etcd refuses a transaction with more ops, or a request of more bytes, than
// its server allows. These are the server's defaults, which the embedded
// etcd keeps; an external cluster must not set them lower.
const (
	MaxTxnOps       = int(embed.DefaultMaxTxnOps)
	MaxRequestBytes = int(embed.DefaultMaxRequestBytes)
)

// requestOverheadBytes is what etcd adds to a transaction's encoding before
// it checks MaxRequestBytes: the raft request's header and framing, tens of
// bytes plus the user name, well within this.
const requestOverheadBytes = 1024

// maxTxnBytes is what the ops of one transaction may encode to.
const maxTxnBytes = MaxRequestBytes - requestOverheadBytes

// Batches splits ops, in order, into transactions etcd accepts: at most
// MaxTxnOps ops and MaxRequestBytes bytes each, and no key twice in one
// (a key's later op goes to a later transaction, after its earlier one).
// It is for ops that need not be atomic together; each batch still is.
// An op too large for any transaction is an error naming its key.
func Batches(ops []Op) ([][]Op, error) {
	var batches [][]Op
	var batch []Op
	keys := map[string]bool{}
	bytes := 0
	for i, op := range ops {
		size := opBytes(op)
		if size > maxTxnBytes {
			return nil, fmt.Errorf("op %d on %s: %d bytes, over etcd's request limit of %d", i, op.Key, size, maxTxnBytes)
		}
		if len(batch) == MaxTxnOps || bytes+size > maxTxnBytes || keys[op.Key] {
			batches = append(batches, batch)
			batch, bytes = nil, 0
			clear(keys)
		}
		batch = append(batch, op)
		bytes += size
		keys[op.Key] = true
	}
	if len(batch) > 0 {
		batches = append(batches, batch)
	}
	return batches, nil
}

// checkTxnLimits refuses what etcd would refuse, so that a store that is
// not etcd catches a transaction over its limits in tests and simulations.
func checkTxnLimits(ops []Op) error {
	if len(ops) > MaxTxnOps {
		return fmt.Errorf("%d ops in one txn, over etcd's limit of %d", len(ops), MaxTxnOps)
	}
	bytes := 0
	for _, op := range ops {
		bytes += opBytes(op)
	}
	if bytes > maxTxnBytes {
		return fmt.Errorf("%d bytes in one txn, over etcd's request limit of %d", bytes, maxTxnBytes)
	}
	return nil
}

// opBytes is what op adds to the encoding of etcd's transaction request,
// framing included.
func opBytes(op Op) int {
	request := &etcdserverpb.RequestOp{}
	if op.Delete {
		request.Request = &etcdserverpb.RequestOp_RequestDeleteRange{
			RequestDeleteRange: &etcdserverpb.DeleteRangeRequest{Key: []byte(op.Key)}}
	} else {
		request.Request = &etcdserverpb.RequestOp_RequestPut{
			RequestPut: &etcdserverpb.PutRequest{Key: []byte(op.Key), Value: op.Value, Lease: op.Lease}}
	}
	return proto.Size(&etcdserverpb.TxnRequest{Success: []*etcdserverpb.RequestOp{request}})
}

// TxnBatched writes ops in the transactions Batches makes, in order, and
// calls committed after each with its ops and revision. It stops at the
// first failure: the batches before it stay written, and committed has
// said which, so the caller keeps only the rest.
func TxnBatched(ctx context.Context, store Store, ops []Op, committed func(batch []Op, rev int64)) error {
	batches, err := Batches(ops)
	if err != nil {
		return err
	}
	for i, batch := range batches {
		rev, err := store.Txn(ctx, batch...)
		if err != nil {
			return fmt.Errorf("txn %d of %d: %w", i+1, len(batches), err)
		}
		committed(batch, rev)
	}
	return nil
}
