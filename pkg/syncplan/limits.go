package syncplan

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ctl-dev/ctl/pkg/registry/transport"
)

// Limits keeps the pull limit each source host last reported (Docker Hub's
// ratelimit-remaining), fed by the client's rate-limit callback. It is
// safe for concurrent use; the zero value knows no limits.
type Limits struct {
	mu sync.Mutex
	by map[string]transport.RateLimit
}

// Observe records a host's reported limit.
func (l *Limits) Observe(rl transport.RateLimit) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.by == nil {
		l.by = map[string]transport.RateLimit{}
	}
	l.by[strings.ToLower(rl.Host)] = rl
}

// low reports whether host has fewer than min pulls left (or none), as
// last reported, and that report.
func (l *Limits) low(host string, min int) (transport.RateLimit, bool) {
	if l == nil {
		return transport.RateLimit{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	rl, ok := l.by[strings.ToLower(transport.ShownHost(host))]
	return rl, ok && (rl.Remaining <= 0 || rl.Remaining < min)
}

// ErrRateLimited: the sync stopped before the end because a source's pull
// limit ran low.
var ErrRateLimited = errors.New("stopped by a pull rate limit")

// RateLimitedError lists what a rate limit left uncopied.
type RateLimitedError struct {
	Limit transport.RateLimit
	Min   int
	Items []Item
}

func (e *RateLimitedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s has %d pulls left", e.Limit.Host, e.Limit.Remaining)
	if e.Limit.Limit > 0 && e.Limit.Window > 0 {
		fmt.Fprintf(&b, " of %d per %s", e.Limit.Limit, e.Limit.Window)
	}
	fmt.Fprintf(&b, " (threshold %d): %d image(s) left to copy:", e.Min, len(e.Items))
	for _, it := range e.Items {
		fmt.Fprintf(&b, "\n  %s", it.Source)
	}
	return b.String()
}

// Unwrap makes a RateLimitedError an ErrRateLimited.
func (e *RateLimitedError) Unwrap() error { return ErrRateLimited }

// pollEvery is how often a waiting sync asks a limited host again: the
// window when it is short, else a minute.
func pollEvery(rl transport.RateLimit) time.Duration {
	if rl.Window > 0 && rl.Window < time.Minute {
		return max(rl.Window, time.Second)
	}
	return time.Minute
}
