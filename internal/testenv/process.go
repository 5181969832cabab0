package testenv

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var peakRSSBinary onceValue

// peakRSS builds the peakrss trampoline (internal/testenv/peakrss) once per
// test process: every command runs under it, so that Result.MaxRSS is the
// command's own peak and not the test process's (see its doc).
func peakRSS(t testing.TB) string {
	t.Helper()
	return buildOnce(t, &peakRSSBinary, "peakrss", "./internal/testenv/peakrss")
}

// Proc is a command started by Env.Start: it runs until Wait, and may be
// sent signals meanwhile (they reach the command itself).
type Proc struct {
	t              testing.TB
	cmd            *exec.Cmd
	binary         string
	args           []string
	ctx            context.Context
	cancel         context.CancelFunc
	rssFile        string
	start          time.Time
	late           atomic.Bool // killed by WaitWithin
	within         time.Duration
	stdout, stderr syncBuffer
}

// Start starts binary with args in e, reading stdin (nil: empty), killed
// if it runs past timeout. Failing to start it is fatal.
func (e *Env) Start(t testing.TB, binary string, stdin io.Reader, timeout time.Duration, args ...string) *Proc {
	t.Helper()
	f, err := os.CreateTemp("", "ctl-testenv-rss-")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	p := &Proc{t: t, binary: binary, args: args, ctx: ctx, cancel: cancel, rssFile: f.Name()}
	p.cmd = exec.CommandContext(ctx, peakRSS(t), append([]string{p.rssFile, binary}, args...)...)
	p.cmd.Env = e.Environ()
	p.cmd.Dir = e.Dir
	p.cmd.Stdin = stdin
	p.cmd.WaitDelay = 5 * time.Second
	setProcAttr(p.cmd)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		cancel()
		os.Remove(p.rssFile)
		t.Fatalf("testenv: running %s: %v", binary, err)
	}
	return p
}

// Pid is the process id of the peakrss trampoline; the command is its
// child.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Stdout is what the command has written to stdout so far.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Stderr is what the command has written to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Signal sends sig to the command.
func (p *Proc) Signal(sig os.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("testenv: signalling %s: %v", filepath.Base(p.binary), err)
	}
}

// WaitWithin is Wait for a command that must end within d from now (say,
// of a signal): one still running then is killed and the test fails, with
// Result.TimedOut set.
func (p *Proc) WaitWithin(d time.Duration) Result {
	p.t.Helper()
	p.within = d
	timer := time.AfterFunc(d, func() { p.late.Store(true); _ = p.cmd.Process.Kill() })
	defer timer.Stop()
	return p.Wait()
}

// Wait waits for the command to end and returns its Result. A timeout
// marks the test failed (Result.TimedOut, Code -1); a binary that could not
// be run is fatal.
func (p *Proc) Wait() Result {
	p.t.Helper()
	defer p.cancel()
	defer os.Remove(p.rssFile)
	err := p.cmd.Wait()
	res := Result{Stdout: p.stdout.String(), Stderr: p.stderr.String(), Elapsed: time.Since(p.start)}
	rss, _ := os.ReadFile(p.rssFile)
	if msg, ok := strings.CutPrefix(string(rss), "start: "); ok {
		p.t.Fatalf("testenv: running %s: %s", p.binary, msg)
	}
	res.MaxRSS, _ = strconv.ParseInt(string(rss), 10, 64)
	var exitErr *exec.ExitError
	switch {
	case p.late.Load():
		res.Code, res.TimedOut = -1, true
		p.t.Errorf("testenv: %s %s: still running %v after it was due to end", filepath.Base(p.binary), strings.Join(p.args, " "), p.within)
	case p.ctx.Err() != nil:
		res.Code, res.TimedOut = -1, true
		p.t.Errorf("testenv: %s %s: timed out after %v", filepath.Base(p.binary), strings.Join(p.args, " "), res.Elapsed.Round(time.Second))
	case err == nil:
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
	default:
		p.t.Fatalf("testenv: running %s: %v", p.binary, err)
	}
	p.t.Logf("$ %s %s  (exit %d, %v, %d MiB)\n%s", filepath.Base(p.binary), strings.Join(p.args, " "), res.Code,
		res.Elapsed.Round(time.Millisecond), res.MaxRSS>>20, indentOutput(res))
	return res
}
