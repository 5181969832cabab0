//go:build unix

package testenv

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// TTY is ctl running with stdin and stderr on a pseudo-terminal (as in an
// interactive shell whose stdout is piped), so that it draws its progress
// and prompts as a user sees them.
type TTY struct {
	cmd    *exec.Cmd
	ptmx   *os.File
	stdout bytes.Buffer
	read   chan struct{} // closed when everything written to the terminal is read

	mu  sync.Mutex
	out bytes.Buffer // everything ctl wrote to the terminal
}

// StartTTY starts ctl with args in e on a terminal cols wide and rows high.
// The terminal is ctl's controlling terminal (resizes send it SIGWINCH).
func (e *Env) StartTTY(t testing.TB, cols, rows int, args ...string) *TTY {
	t.Helper()
	return e.StartTTYProgram(t, cols, rows, CtlBinary(t), args...)
}

// StartTTYProgram is StartTTY for another program (an interactive shell,
// say), run from its path with args.
func (e *Env) StartTTYProgram(t testing.TB, cols, rows int, program string, args ...string) *TTY {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("testenv: opening a pty: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		t.Fatalf("testenv: sizing the pty: %v", err)
	}
	tt := &TTY{ptmx: ptmx, read: make(chan struct{})}
	tt.cmd = exec.Command(program, args...)
	tt.cmd.Env = append(e.Environ(), "TERM=xterm")
	tt.cmd.Dir = e.Dir
	tt.cmd.Stdin, tt.cmd.Stdout, tt.cmd.Stderr = tty, &tt.stdout, tty
	tt.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := tt.cmd.Start(); err != nil {
		t.Fatalf("testenv: starting ctl on a pty: %v", err)
	}
	tty.Close() // the child has its copy: EOF comes when it exits
	go func() {
		defer close(tt.read)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			tt.mu.Lock()
			tt.out.Write(buf[:n])
			tt.mu.Unlock()
			if err != nil { // EIO on Linux once the child has gone
				return
			}
		}
	}()
	t.Cleanup(func() {
		if tt.cmd.ProcessState == nil {
			tt.cmd.Process.Kill()
			tt.cmd.Wait()
		}
		ptmx.Close()
	})
	return tt
}

// WaitFor waits until the terminal shows want somewhere in its output.
func (tt *TTY) WaitFor(t testing.TB, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(tt.Output(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("testenv: the terminal did not show %q in %v; it shows:\n%q", want, timeout, tt.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Type writes s to the terminal, as keys typed on it.
func (tt *TTY) Type(t testing.TB, s string) {
	t.Helper()
	if _, err := tt.ptmx.WriteString(s); err != nil {
		t.Fatalf("testenv: typing on the pty: %v", err)
	}
}

// Signal sends sig to ctl, as the terminal does for Ctrl-C (SIGINT).
func (tt *TTY) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := tt.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("testenv: signalling ctl: %v", err)
	}
}

// Output is everything ctl has written to the terminal so far.
func (tt *TTY) Output() string {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.out.String()
}

// Wait waits (up to RunTimeout) for ctl to exit and returns its exit code,
// its stdout and all it wrote to the terminal.
func (tt *TTY) Wait(t testing.TB) (code int, stdout, terminal string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- tt.cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(RunTimeout):
		tt.cmd.Process.Kill()
		t.Fatalf("testenv: ctl on a pty did not exit in %v; the terminal shows:\n%q", RunTimeout, tt.Output())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("testenv: ctl on a pty: %v", err)
	}
	select {
	case <-tt.read:
	case <-time.After(5 * time.Second):
		t.Fatalf("testenv: the terminal did not close after ctl exited")
	}
	return tt.cmd.ProcessState.ExitCode(), tt.stdout.String(), tt.Output()
}
