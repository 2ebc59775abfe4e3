package state

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// ArchiveSegment is the one segment of every archive file.
const ArchiveSegment = "store"

// DefaultArchiveEvents is how many events an archive file holds before the
// next file starts: at two writes a second per node, about 14 hours of a
// node's log, or 50 minutes of 1,000 nodes', in some 30-60 MB.
const DefaultArchiveEvents = 100_000

// ArchiveConfig says where and how the event log is archived.
type ArchiveConfig struct {
	// Dir receives the files, events-<first revision>.jsonl, each a
	// complete recording with Header.
	Dir    string
	Header RecordingHeader
	// MaxEvents starts a new file after this many events
	// [DefaultArchiveEvents].
	MaxEvents int
	// Rotated, when set, is called with each file that is complete.
	Rotated func(path string, first, last int64, events int)
}

// ArchiveLog writes the event log under Root from revision from on into
// rotating files in cfg.Dir, as it grows, until ctx ends; each response of
// the watch is on disk (flushed, not synced) before the next is read. The
// archive outlives etcd's compaction: `sluice replay DIR` replays it. It
// fails when the log from from on has been compacted already, since a gap
// in the archive would make its decisions impossible to re-derive.
func ArchiveLog(ctx context.Context, store Store, from int64, cfg ArchiveConfig) error {
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = DefaultArchiveEvents
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("archive dir: %w", err)
	}
	a := &archiveFile{cfg: cfg}
	defer a.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp := range store.Watch(ctx, Root, max(from, 1)) {
		if resp.Err != nil {
			return fmt.Errorf("archive the log from revision %d: %w", a.next(from), resp.Err)
		}
		for _, ev := range resp.Events {
			if err := a.write(ev); err != nil {
				return err
			}
		}
		if err := a.flush(); err != nil {
			return err
		}
		if a.events >= cfg.MaxEvents {
			if err := a.close(); err != nil {
				return err
			}
		}
	}
	return nil
}

// archiveFile is the file being written, if any.
type archiveFile struct {
	cfg         ArchiveConfig
	file        *os.File
	buf         *bufio.Writer
	writer      *RecordingWriter
	first, last int64
	events      int
}

func (a *archiveFile) next(from int64) int64 {
	if a.last == 0 {
		return from
	}
	return a.last + 1
}

func (a *archiveFile) write(ev Event) error {
	if a.file == nil {
		if err := a.open(ev.Revision); err != nil {
			return err
		}
	}
	if err := a.writer.Event(ev); err != nil {
		return fmt.Errorf("%s: %w", a.file.Name(), err)
	}
	a.last = ev.Revision
	a.events++
	return nil
}

func (a *archiveFile) open(first int64) error {
	path := filepath.Join(a.cfg.Dir, fmt.Sprintf("events-%012d.jsonl", first))
	file, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("start an archive file: %w", err)
	}
	a.file, a.buf, a.first, a.events = file, bufio.NewWriter(file), first, 0
	if a.writer, err = NewRecordingWriter(a.buf, a.cfg.Header, ArchiveSegment); err != nil {
		return errors.Join(fmt.Errorf("%s: %w", path, err), a.close())
	}
	return nil
}

func (a *archiveFile) flush() error {
	if a.file == nil {
		return nil
	}
	if err := a.buf.Flush(); err != nil {
		return fmt.Errorf("%s: %w", a.file.Name(), err)
	}
	return nil
}

// close completes the current file; a later event starts the next.
func (a *archiveFile) close() error {
	if a.file == nil {
		return nil
	}
	file := a.file
	a.file = nil
	err := errors.Join(a.buf.Flush(), file.Sync(), file.Close())
	if err != nil {
		return fmt.Errorf("%s: %w", file.Name(), err)
	}
	if a.cfg.Rotated != nil {
		a.cfg.Rotated(file.Name(), a.first, a.last, a.events)
	}
	return nil
}

// ReadArchive reads the files ArchiveLog wrote in dir, in revision order,
// as one recording with one segment and the first file's header. A file
// cut short by a crash fails at its last line, which names it: remove that
// line to replay the rest.
func ReadArchive(dir string) (Recording, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "events-*.jsonl"))
	if err != nil || len(paths) == 0 {
		return Recording{}, fmt.Errorf("%s: no archive files (events-*.jsonl)", dir)
	}
	slices.Sort(paths) // zero-padded first revisions sort as numbers
	joined := Recording{Segments: []Segment{{Name: ArchiveSegment}}}
	for i, path := range paths {
		rec, err := readArchiveFile(path)
		if err != nil {
			return Recording{}, err
		}
		if i == 0 {
			joined.Header = rec.Header
		}
		for _, seg := range rec.Segments {
			joined.Segments[0].Events = append(joined.Segments[0].Events, seg.Events...)
		}
	}
	return joined, nil
}

func readArchiveFile(path string) (Recording, error) {
	f, err := os.Open(path)
	if err != nil {
		return Recording{}, err
	}
	defer f.Close()
	rec, err := ReadRecording(f)
	if err != nil {
		return Recording{}, fmt.Errorf("%s: %w", path, err)
	}
	return rec, nil
}
