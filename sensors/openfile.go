package sensors

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// openFile is a file kept open across ticks. Procfs and cgroupfs files are
// generated on read, so reading from offset 0 again yields fresh content
// without the open/close pair a path read costs per tick and per file.
type openFile struct {
	path string
	file *os.File
	buf  []byte
	// reopen makes every read open the file afresh, for files whose
	// content is cached per open file (see openReopened).
	reopen bool
}

func openKept(path string) (*openFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return &openFile{path: path, file: f, buf: make([]byte, 512)}, nil
}

// openReopened is for a v1 cgroup's tasks file: the kernel caches its pid
// list per open file and reuses it for up to a second
// (CGROUP_PIDLIST_DESTROY_DELAY), so a kept descriptor read once a second
// can keep reporting threads that left and miss ones that arrived.
func openReopened(path string) (*openFile, error) {
	f, err := openKept(path)
	if err != nil {
		return nil, err
	}
	f.file.Close()
	f.file, f.reopen = nil, true
	return f, nil
}

// read returns the file's current content. The slice is reused by the next
// read, so parsers must not keep it.
func (f *openFile) read() (string, error) {
	if f.reopen {
		file, err := os.Open(f.path)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", f.path, err)
		}
		f.file = file
		defer f.close()
	}
	for {
		n, err := f.file.ReadAt(f.buf, 0)
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read %s: %w", f.path, err)
		}
		if n < len(f.buf) {
			return string(f.buf[:n]), nil
		}
		// A full buffer may be a truncated file: grow and read again.
		f.buf = make([]byte, 2*len(f.buf))
	}
}

func (f *openFile) close() {
	if f != nil && f.file != nil {
		f.file.Close()
		f.file = nil
	}
}
