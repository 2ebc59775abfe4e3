package testenv

import (
	"bytes"
	"sync"
)

// Buffer is what a test reads while something it started writes to it: a
// server's log, a program's output. It is safe for one writer and readers
// at once.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
