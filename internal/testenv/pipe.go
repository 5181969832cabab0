package testenv

import (
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// Pipe is a command's stdin that the test writes to and keeps open: a
// command reading it blocks, as on an idle terminal or a slow producer.
// Drained tells when the command has read everything written, that is,
// when it is running and blocked on its next read.
type Pipe struct {
	t    testing.TB
	r, w *os.File
}

// NewPipe makes a Pipe, closed when the test ends.
func NewPipe(t testing.TB) *Pipe {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return &Pipe{t: t, r: r, w: w}
}

// Reader is the end to give Env.Start as stdin.
func (p *Pipe) Reader() *os.File { return p.r }

// Writer is the end the test writes to.
func (p *Pipe) Writer() *os.File { return p.w }

// CloseWriter closes the test's end: the reader sees the end of its input.
func (p *Pipe) CloseWriter() { p.w.Close() }

// Write writes s to the pipe.
func (p *Pipe) Write(s string) {
	p.t.Helper()
	if _, err := p.w.WriteString(s); err != nil {
		p.t.Fatalf("testenv: writing to the pipe: %v", err)
	}
}

// WaitDrained waits (at most timeout) until everything written has been
// read by the other end, and fails the test if it has not.
func (p *Pipe) WaitDrained(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var n int32
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, p.r.Fd(), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
		if errno != 0 {
			p.t.Fatalf("testenv: FIONREAD on the pipe: %v", errno)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("testenv: %d bytes written to the pipe still unread after %v", n, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
