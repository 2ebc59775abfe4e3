package state

import (
	"context"
	"log/slog"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// memberDefragTimeout bounds a defragmentation of one member over the
// network. etcd finishes a defragmentation it has started whatever the
// client does; the deadline only stops the wait for it.
const memberDefragTimeout = time.Minute

// DefragmentMembers checks each member of a cluster sluice owns (`sluice
// etcd cluster`, `sluice bench cluster`) every interval until ctx ends, and
// defragments one whose database is at least half free pages, as the
// embedded server does for itself after its compactions. One member at a
// time: a defragmentation blocks that member's reads and writes while it
// copies, and the clients move to the others meanwhile.
func DefragmentMembers(ctx context.Context, cli *clientv3.Client, endpoints []string, every time.Duration, logger *slog.Logger) {
	Every(ctx, every, func() {
		for _, endpoint := range endpoints {
			defragmentMember(ctx, cli, endpoint, logger)
		}
	})
}

func defragmentMember(ctx context.Context, cli *clientv3.Client, endpoint string, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, memberDefragTimeout)
	defer cancel()
	status, err := cli.Status(ctx, endpoint)
	if err != nil {
		logger.Debug("etcd member status failed; checked again later", "member", endpoint, "err", err)
		return
	}
	if !worthDefragmenting(status.DbSize, status.DbSizeInUse) {
		return
	}
	start := time.Now()
	if _, err := cli.Defragment(ctx, endpoint); err != nil {
		logger.Warn("etcd defragmentation failed; tried again later", "member", endpoint, "size", status.DbSize, "err", err)
		return
	}
	logger.Debug("etcd member defragmented", "member", endpoint, "size_before", status.DbSize,
		"in_use", status.DbSizeInUse, "took", time.Since(start))
}
