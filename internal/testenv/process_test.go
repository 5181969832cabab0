package testenv

import (
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestProcMaxRSS: MaxRSS is the command's own peak, not the test process's
// (which the kernel would carry into a child started directly by Go).
func TestProcMaxRSS(t *testing.T) {
	ballast := make([]byte, 256<<20)
	for i := range ballast {
		ballast[i] = 1 // touched: resident
	}
	e := NewEnv(t)
	small := e.Exec(t, "/bin/sh", "", time.Minute, "-c", "true")
	runtime.KeepAlive(ballast)
	if small.Code != 0 || small.MaxRSS <= 0 || small.MaxRSS > 64<<20 {
		t.Fatalf("sh -c true: exit %d, MaxRSS %d MiB; want a few MiB, not the test's 256", small.Code, small.MaxRSS>>20)
	}
	// The shell holds the 64 MB of the command substitution in memory.
	big := e.Exec(t, "/bin/sh", "", time.Minute, "-c", `x=$(head -c 64000000 /dev/zero | tr '\0' a); echo ${#x}`)
	if big.Code != 0 || strings.TrimSpace(big.Stdout) != "64000000" || big.MaxRSS < 64e6 || big.MaxRSS > 256<<20 {
		t.Fatalf("exit %d, stdout %q, MaxRSS %d MiB: want about 64 MB", big.Code, big.Stdout, big.MaxRSS>>20)
	}
	if big.Elapsed <= 0 {
		t.Fatalf("Elapsed %v", big.Elapsed)
	}
}

// TestProcSignal: a signal sent through Proc reaches the command, once a
// Pipe shows it is blocked reading stdin.
func TestProcSignal(t *testing.T) {
	t.Parallel()
	e := NewEnv(t)
	in := NewPipe(t)
	p := e.Start(t, "/bin/sh", in.Reader(), time.Minute, "-c", `trap 'echo got TERM; exit 7' TERM; read x; exit 0`)
	in.Write("no newline yet")
	in.WaitDrained(30 * time.Second) // sh reads its line byte by byte: the trap is set
	p.Signal(syscall.SIGTERM)
	res := p.WaitWithin(10 * time.Second)
	if res.Code != 7 || !strings.Contains(res.Stdout, "got TERM") {
		t.Fatalf("result %+v, want the trap's exit 7", res)
	}
}
