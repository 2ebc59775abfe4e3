package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"go.etcd.io/etcd/pkg/v3/traceutil"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver"
	"go.etcd.io/etcd/server/v3/storage/mvcc"
)

// Retention is how much of the event log the embedded etcd keeps: the last
// Age of it, or the last Revisions revisions; exactly one is set. In an
// EmbeddedConfig the zero Retention stands for DefaultRetention. A
// *Retention is also a command-line flag value (pflag.Value).
type Retention struct {
	Age       time.Duration
	Revisions int64
}

// DefaultRetention keeps five minutes of the event log. etcd compacts a
// periodic window once per window, so between compactions the log holds
// five to ten minutes. A node of 20 containers at a 1 s interval writes at
// most two revisions a second (an observation of 6-8 KB, and a decision of
// about 4 KB when it changes), so that is at most some 1,200 revisions and
// 7 MB of values: enough to record an experiment or an incident shortly
// after it, and small enough that the database, which the agent maps whole
// and touches on every restart, keeps its memory within 64 MiB
// (BenchmarkAgentHistoryRSS; ten minutes took it to 67-71 MiB). A longer
// window is a flag away, at that cost.
var DefaultRetention = Retention{Age: 5 * time.Minute}

// MinRetentionAge is the shortest age a Retention may keep: etcd retries a
// periodic compaction every tenth of the window, and below a second that
// turns into a busy loop.
const MinRetentionAge = time.Second

// ParseRetention reads a retention as a duration ("10m", "1h") or as a number
// of revisions ("2400").
func ParseRetention(s string) (Retention, error) {
	r, err := parseRetention(s)
	if err != nil {
		return Retention{}, fmt.Errorf("history retention %q: %w", s, err)
	}
	return r, nil
}

func parseRetention(s string) (Retention, error) {
	var r Retention
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		r.Revisions = n
	} else if r.Age, err = time.ParseDuration(s); err != nil {
		return Retention{}, errors.New("want a duration such as 10m or a number of revisions such as 2400")
	}
	return r, r.validate()
}

func (r Retention) validate() error {
	switch {
	case r.Age != 0 && r.Revisions != 0:
		return errors.New("set an age or a number of revisions, not both")
	case r.Revisions < 1 && r.Age < MinRetentionAge:
		return fmt.Errorf("want at least 1 revision or an age of at least %v", MinRetentionAge)
	}
	return nil
}

// String gives the retention as ParseRetention reads it.
func (r Retention) String() string {
	if r.Revisions > 0 {
		return strconv.FormatInt(r.Revisions, 10)
	}
	return r.Age.String()
}

// Set parses a flag's value.
func (r *Retention) Set(s string) error {
	parsed, err := parseRetention(s)
	if err != nil {
		return err
	}
	*r = parsed
	return nil
}

// Type names the flag's value in help text.
func (r *Retention) Type() string { return "history" }

// AutoCompaction is etcd's own compactor setting for the history, as the
// members' --auto-compaction-mode and --auto-compaction-retention: periodic
// compacts every Age (every hour when longer) to the revision of Age ago;
// revision compacts every five minutes to Revisions before the current one.
func (r Retention) AutoCompaction() (mode, retention string) {
	if r.Revisions > 0 {
		return embed.CompactorModeRevision, strconv.FormatInt(r.Revisions, 10)
	}
	return embed.CompactorModePeriodic, r.Age.String()
}

// CheckEvery is how often a defragmenter looks at the database: often
// enough to follow each of etcd's compactions within a minute.
func (r Retention) CheckEvery() time.Duration {
	if r.Revisions > 0 {
		return time.Minute
	}
	return min(r.Age, time.Minute)
}

// Compaction drops old revisions, but their pages stay in the database file
// as free pages: the file keeps its size, and a restarted server maps and
// reads it all. Defragmentation rewrites the file without them. It blocks
// the server's reads and writes while it copies, so it runs only when the
// free pages are at least minDefragFree and half the file.
const minDefragFree = 8 << 20

// worthDefragmenting says whether a database of size bytes, inUse of them
// holding data, has enough free pages to be worth a defragmentation.
func worthDefragmenting(size, inUse int64) bool {
	free := size - inUse
	return free >= minDefragFree && 2*free >= size
}

// defragmenter follows etcd's compactions of a member's history and
// defragments the database after them when that frees enough space. It
// works on the member in-process, as etcd's maintenance service does for
// `etcdctl defrag`: the sizes are counters in memory, and a deadline could
// not bound a defragmentation, which etcd finishes once started.
type defragmenter struct {
	server    *etcdserver.EtcdServer
	logger    *slog.Logger
	compacted int64

	stop context.CancelFunc
	done sync.WaitGroup
}

// startDefragmenter checks the member every interval until stopped.
func startDefragmenter(server *etcdserver.EtcdServer, every time.Duration, logger *slog.Logger) *defragmenter {
	ctx, stop := context.WithCancel(context.Background())
	d := &defragmenter{server: server, logger: logger.With("component", "etcd"), stop: stop}
	d.done.Go(func() { d.run(ctx, every) })
	return d
}

// Stop ends the checks and waits for one in progress.
func (d *defragmenter) Stop() {
	d.stop()
	d.done.Wait()
}

func (d *defragmenter) run(ctx context.Context, every time.Duration) {
	Every(ctx, every, func() {
		d.noteCompaction()
		d.defragIfWorthIt()
	})
}

// noteCompaction logs a compaction that etcd's compactor made since the
// last check; the compactor itself reports only failures.
func (d *defragmenter) noteCompaction() {
	read := d.server.KV().Read(mvcc.SharedBufReadTxMode, traceutil.TODO())
	first, current := read.FirstRev(), read.Rev()
	read.End()
	if first != d.compacted {
		d.compacted = first
		d.logger.Debug("etcd history compacted", "history_after_revision", first, "revision", current)
	}
}

func (d *defragmenter) defragIfWorthIt() {
	backend := d.server.Backend()
	size, inUse := backend.Size(), backend.SizeInUse()
	if !worthDefragmenting(size, inUse) {
		return
	}
	start := time.Now()
	if err := d.server.Defragment(); err != nil {
		d.logger.Warn("etcd defragmentation failed; the database keeps its free pages until the next try",
			"size", size, "in_use", inUse, "err", err)
		return
	}
	// The copy's buffers, as large as the data kept, are garbage now; the
	// Go runtime would hold on to them until its next collections.
	debug.FreeOSMemory()
	d.logger.Debug("etcd database defragmented", "size_before", size, "size", d.server.Backend().Size(),
		"took", time.Since(start))
}
