package testenv

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

func TestWaitFor(t *testing.T) {
	t.Parallel()
	n := 0
	WaitFor(t, 10*time.Second, "the third poll", func() bool { n++; return n == 3 })
	if n != 3 {
		t.Errorf("done called %d times, want 3", n)
	}

	ft := &fatalTB{TB: t}
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		WaitFor(ft, 50*time.Millisecond, "nothing", func() bool { return false })
	}()
	<-done
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("gave up after %v, want at least 50ms", d)
	}
	if want := "testenv: waited 50ms for nothing"; ft.msg != want {
		t.Errorf("failed with %q, want %q", ft.msg, want)
	}
}

// fatalTB records what Fatalf was called with and ends the goroutine, as
// t.Fatalf does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
