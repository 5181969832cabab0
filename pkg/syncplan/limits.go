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
// ratelimit-remaining), fed by the client's rate-limit callback, and the
// hosts that refused a copy with 429 Too Many Requests beyond what the
// transport waits out, until when. It is safe for concurrent use; the zero
// value knows no limits.
type Limits struct {
	mu    sync.Mutex
	by    map[string]transport.RateLimit
	until map[string]time.Time
}

// Hold is why a host takes no new copy: the pull limit it last reported,
// or (Until set) a 429 that asked to retry only then.
type Hold struct {
	transport.RateLimit
	Until time.Time
}

func (h Hold) String() string {
	if !h.Until.IsZero() {
		return fmt.Sprintf("%s answers 429 Too Many Requests until %s", h.Host, h.Until.UTC().Format(time.RFC1123))
	}
	s := fmt.Sprintf("%s has %d pulls left", h.Host, h.Remaining)
	if h.Limit > 0 && h.Window > 0 {
		s += fmt.Sprintf(" of %d per %s", h.Limit, h.Window)
	}
	return s
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

// refuse records that host answered 429 asking to retry at until.
func (l *Limits) refuse(host string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.until == nil {
		l.until = map[string]time.Time{}
	}
	l.until[strings.ToLower(transport.ShownHost(host))] = until
}

// low reports whether host takes no new copy: it refused with 429 until a
// time still to come, or has fewer than min pulls left (or none), as last
// reported; and why.
func (l *Limits) low(host string, min int) (Hold, bool) {
	if l == nil {
		return Hold{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	h := strings.ToLower(transport.ShownHost(host))
	if at, ok := l.until[h]; ok && time.Now().Before(at) {
		return Hold{RateLimit: transport.RateLimit{Host: transport.ShownHost(host)}, Until: at}, true
	}
	rl, ok := l.by[h]
	return Hold{RateLimit: rl}, ok && (rl.Remaining <= 0 || rl.Remaining < min)
}

// ErrRateLimited: the sync stopped before the end because a source's pull
// limit ran low.
var ErrRateLimited = errors.New("stopped by a pull rate limit")

// RateLimitedError lists what a rate limit left uncopied.
type RateLimitedError struct {
	Limit Hold
	Min   int
	Items []Item
}

func (e *RateLimitedError) Error() string {
	var b strings.Builder
	b.WriteString(e.Limit.String())
	if e.Limit.Until.IsZero() {
		fmt.Fprintf(&b, " (threshold %d)", e.Min)
	}
	fmt.Fprintf(&b, ": %d image(s) left to copy:", len(e.Items))
	for _, it := range e.Items {
		fmt.Fprintf(&b, "\n  %s", it.Source)
	}
	return b.String()
}

// Unwrap makes a RateLimitedError an ErrRateLimited.
func (e *RateLimitedError) Unwrap() error { return ErrRateLimited }

// pollEvery is how often a waiting sync asks a limited host again: the
// window when it is short, else a minute; a host that answered 429 with a
// time to retry at, then.
func pollEvery(h Hold) time.Duration {
	if !h.Until.IsZero() {
		return max(time.Until(h.Until), 0)
	}
	if h.Window > 0 && h.Window < time.Minute {
		return max(h.Window, time.Second)
	}
	return time.Minute
}
