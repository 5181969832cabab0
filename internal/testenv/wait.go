package testenv

import (
	"testing"
	"time"
)

// WaitFor polls done every 2 ms (a window a command is in may be short)
// until it reports true. If timeout passes first, the test fails at once,
// naming what (a phrase such as "a PUT /manifests/ at the proxy") as what
// never came. done runs on t's goroutine, so it may call t's methods.
func WaitFor(t testing.TB, timeout time.Duration, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("testenv: waited %v for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
