package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults of the transport. They are generous for real registries; tests
// shorten them through Options.
const (
	// DefaultAttempts is how many times one request is tried in all.
	DefaultAttempts = 5
	// DefaultBackoff is the wait before the first retry; it doubles after.
	DefaultBackoff = 500 * time.Millisecond
	// DefaultMaxBackoff caps the doubling backoff.
	DefaultMaxBackoff = 10 * time.Second
	// DefaultRetryTime bounds the time one request spends in retries.
	DefaultRetryTime = 3 * time.Minute
	// DefaultMaxRetryAfter is the longest Retry-After waited for; a
	// registry asking for longer ends the request with a RetryError that
	// says when to retry.
	DefaultMaxRetryAfter = time.Minute
	// DefaultResponseHeaderTimeout bounds the wait for response headers
	// once a request is sent.
	DefaultResponseHeaderTimeout = time.Minute
	// DefaultIdleTimeout is the window over which a response body must
	// keep up DefaultMinRate: a body that stalls, or drips, fails within it.
	DefaultIdleTimeout = time.Minute
	// DefaultMinRate is the slowest a response body may arrive, in bytes
	// per second averaged over each DefaultIdleTimeout window.
	DefaultMinRate = 1 << 10
	// DefaultCertsDir is docker's system-wide certs.d directory.
	DefaultCertsDir = "/etc/docker/certs.d"
)

// RetryPolicy bounds how a failed request is retried: on connection resets,
// EOF, timeouts and 408, 429, 500, 502, 503 and 504 answers, with doubling
// backoff, honouring Retry-After.
type RetryPolicy struct {
	// Attempts is the total number of tries of one request (1: no retry).
	Attempts int
	// Backoff is the first wait; each later wait doubles, up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// MaxTime bounds the time spent on one request, retries included, up
	// to its response headers and, for the small answers read whole
	// (manifests, tag and catalog lists), to the end of the body. A
	// streamed body (a layer) is bounded by the rate floor instead.
	MaxTime time.Duration
	// MaxRetryAfter is the longest Retry-After honoured.
	MaxRetryAfter time.Duration
}

// withDefaults is p with its zero fields set to the defaults, and
// MaxBackoff raised to Backoff when below it.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = DefaultAttempts
	}
	if p.Backoff <= 0 {
		p.Backoff = DefaultBackoff
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = DefaultMaxBackoff
	}
	if p.MaxTime <= 0 {
		p.MaxTime = DefaultRetryTime
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	p.MaxBackoff = max(p.MaxBackoff, p.Backoff)
	return p
}

// RateLimit is Docker Hub's view of the pull rate limit, from the
// ratelimit-limit and ratelimit-remaining headers of a response.
type RateLimit struct {
	Host      string        // as messages name it (DockerHub for Docker Hub)
	Limit     int           // pulls allowed per Window (0 if not given)
	Remaining int           // pulls left in the current window
	Window    time.Duration // the window (0 if not given)
}

// retryTransport closes the gaps go-containerregistry's retry transport
// leaves: it honours Retry-After (seconds or an HTTP date, up to a cap), is
// bounded in attempts and in total time and says so when it gives up, replays
// request bodies through GetBody (so a request re-sent after a 401 carries
// its body, instead of failing with "ContentLength=N with Body length 0"),
// reports Docker Hub's rate-limit headers, and fails a response body that
// falls below minRate over an idle window (stalled or dripped).
type retryTransport struct {
	inner   http.RoundTripper
	policy  RetryPolicy
	idle    time.Duration
	minRate int64
	onLimit func(RateLimit)
	sleep   func(context.Context, time.Duration) error
	now     func() time.Time
}

// retryStatus are the answers worth another try.
var retryStatus = map[int]bool{
	http.StatusRequestTimeout:      true,
	http.StatusTooManyRequests:     true,
	http.StatusInternalServerError: true,
	http.StatusBadGateway:          true,
	http.StatusServiceUnavailable:  true,
	http.StatusGatewayTimeout:      true,
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	hasBody := req.Body != nil && req.Body != http.NoBody
	// A body without GetBody cannot be sent twice; PATCH appends to an
	// upload, where a retry after a partial write could duplicate data.
	if hasBody && req.GetBody == nil || req.Method == http.MethodPatch {
		resp, err := t.attempt(req, 0)
		if resp != nil {
			t.reportLimit(req.URL.Host, resp.Header)
		}
		return resp, err
	}
	b := budgetOf(ctx)
	b.bind(t)
	for {
		r := req
		if hasBody {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := t.attempt(r, max(b.deadline().Sub(t.now()), 1))
		if resp != nil {
			t.reportLimit(req.URL.Host, resp.Header)
		}
		var last error
		var after time.Duration
		var afterAt time.Time
		switch {
		case err != nil:
			if ctx.Err() != nil || !Retryable(err) {
				return nil, err
			}
			last = err
		case retryStatus[resp.StatusCode]:
			afterAt, after = retryAfter(resp.Header.Get("Retry-After"), t.now())
			last = CheckError(resp) // reads a bounded body, keeps the registry's message
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests && after == 0 {
				// Docker Hub answers an exhausted pull limit with 429 and
				// ratelimit-remaining: 0, no Retry-After: waiting seconds
				// will not help.
				if rem, w, ok := parseLimit(resp.Header.Get("Ratelimit-Remaining")); ok && rem == 0 {
					limit, _, _ := parseLimit(resp.Header.Get("Ratelimit-Limit"))
					return nil, b.giveUp(req.URL.Host, last, &RateLimit{Host: ShownHost(req.URL.Host), Limit: limit, Remaining: 0, Window: w})
				}
			}
		case bufferable(req, resp):
			// Small JSON answers (manifests, tag lists) are read here, so
			// that a connection cut mid-body is retried like one cut
			// before the answer.
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil {
				resp.Body = io.NopCloser(bytes.NewReader(body))
				return resp, nil
			}
			if ctx.Err() != nil || !Retryable(rerr) {
				return nil, rerr
			}
			last = fmt.Errorf("%s %s: reading the answer: %w", req.Method, RedactURL(req.URL), rerr)
		default:
			if hasBody {
				req.Body.Close() // the original body: every attempt used a copy
			}
			if ib, ok := resp.Body.(*idleBody); ok {
				ib.endTotal() // a streamed body: the rate floor bounds it
			}
			return resp, nil
		}
		wait, gaveUp := b.spend(req.URL.Host, last, after, afterAt)
		if gaveUp != nil {
			return nil, gaveUp
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// maxBuffered bounds the answers retryTransport reads whole.
const maxBuffered = 4 << 20

// bufferable reports whether resp is a small JSON answer to a GET, which
// the retry loop reads whole: manifests, indexes, tag and catalog lists.
func bufferable(req *http.Request, resp *http.Response) bool {
	if req.Method != http.MethodGet || resp.StatusCode != http.StatusOK ||
		resp.ContentLength <= 0 || resp.ContentLength > maxBuffered {
		return false
	}
	ct := strings.ToLower(resp.Header.Get("Content-Type"))
	return strings.Contains(ct, "json") || strings.Contains(ct, "manifest")
}

// attempt sends r once. Its response body must keep up the rate floor
// (minRate over each idle window), and until endTotal the whole attempt
// ends after left (0: no bound), what is left of the request's retry
// budget.
func (t *retryTransport) attempt(r *http.Request, left time.Duration) (*http.Response, error) {
	if t.idle <= 0 && left == 0 {
		return t.inner.RoundTrip(r)
	}
	ctx, cancel := context.WithCancel(r.Context())
	ib := &idleBody{cancel: cancel, idle: t.idle, minBytes: int64(float64(t.minRate) * t.idle.Seconds()), host: r.URL.Host,
		maxTime: t.policy.MaxTime, stopTotal: func() bool { return true }}
	if left > 0 {
		total := time.AfterFunc(left, func() { ib.expired.Store(true); cancel() })
		ib.stopTotal = total.Stop
	}
	resp, err := t.inner.RoundTrip(r.WithContext(ctx))
	if err != nil {
		ib.stopTotal()
		cancel()
		if ib.expired.Load() && r.Context().Err() == nil {
			return nil, ib.expiredError()
		}
		return nil, err
	}
	ib.rc = resp.Body
	if t.idle > 0 {
		ib.window = time.AfterFunc(t.idle, ib.checkRate)
	}
	resp.Body = ib
	return resp, nil
}

// reportLimit passes Docker Hub's ratelimit-* headers to onLimit.
func (t *retryTransport) reportLimit(host string, h http.Header) {
	rem := h.Get("Ratelimit-Remaining")
	if t.onLimit == nil || rem == "" {
		return
	}
	l := RateLimit{Host: ShownHost(host)}
	var ok bool
	if l.Remaining, l.Window, ok = parseLimit(rem); !ok {
		return
	}
	l.Limit, _, _ = parseLimit(h.Get("Ratelimit-Limit"))
	t.onLimit(l)
}

// parseLimit reads "100;w=21600" as 100 and 6h.
func parseLimit(s string) (int, time.Duration, bool) {
	n, rest, _ := strings.Cut(s, ";")
	v, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil {
		return 0, 0, false
	}
	var w time.Duration
	for _, p := range strings.Split(rest, ";") {
		if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && k == "w" {
			if sec, err := strconv.Atoi(val); err == nil {
				w = time.Duration(sec) * time.Second
			}
		}
	}
	return v, w, true
}

// maxRetryAfterValue caps what a Retry-After value is read as: a year,
// far beyond any wait honoured, so that a registry asking for longer (or
// for an overflowing number, or the year 9999) is told apart from one
// sending nonsense, and messages say when in sensible units.
const maxRetryAfterValue = 365 * 24 * time.Hour

// retryAfter parses a Retry-After value, delay-seconds or an HTTP date, into
// the moment it names and the wait from now, at most maxRetryAfterValue;
// zero when absent or invalid.
func retryAfter(v string, now time.Time) (time.Time, time.Duration) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, 0
	}
	if sec, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if sec <= 0 {
			return time.Time{}, 0
		}
		d := maxRetryAfterValue
		if sec < int64(maxRetryAfterValue/time.Second) {
			d = time.Duration(sec) * time.Second
		}
		return now.Add(d), d
	}
	at, err := http.ParseTime(v)
	if err != nil || !at.After(now) {
		return time.Time{}, 0
	}
	if latest := now.Add(maxRetryAfterValue); at.After(latest) {
		at = latest
	}
	return at, at.Sub(now)
}

// Retryable reports whether err is a connection failure worth
// another try: resets, EOF, broken pipes, closed connections and
// timeouts, not TLS or DNS failures nor a cancelled context.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, net.ErrClosed) || errors.Is(err, ErrTimeout) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Sleep waits for d, or until ctx is done (then with its error).
func Sleep(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

// idleBody is a response body that fails when fewer than minBytes arrive
// in an idle window (a stalled or dripped body), or when the request's
// total time runs out before endTotal.
type idleBody struct {
	rc        io.ReadCloser
	window    *time.Timer // nil without an idle window
	cancel    context.CancelFunc
	idle      time.Duration
	minBytes  int64
	got       atomic.Int64 // bytes in the current window
	host      string
	maxTime   time.Duration
	stopTotal func() bool
	slow      atomic.Bool // fell below the rate floor
	expired   atomic.Bool // the total time ran out
}

// checkRate ends a window: too few bytes in it fail the body, else the
// next window starts.
func (b *idleBody) checkRate() {
	if got := b.got.Swap(0); got < max(b.minBytes, 1) {
		b.slow.Store(true)
		b.cancel()
		return
	}
	b.window.Reset(b.idle)
}

// endTotal lifts the total time bound: the body is streamed to its end,
// as fast as the rate floor demands.
func (b *idleBody) endTotal() { b.stopTotal() }

func (b *idleBody) expiredError() error {
	return fmt.Errorf("%w: no complete answer from %s within %s", ErrTimeout, b.host, b.maxTime)
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.got.Add(int64(n))
	switch {
	case b.slow.Load():
		return n, fmt.Errorf("%w: %s sent less than %d bytes in %s, below the floor of %.0f bytes/s", ErrTimeout, b.host, max(b.minBytes, 1), b.idle, float64(b.minBytes)/b.idle.Seconds())
	case b.expired.Load():
		return n, b.expiredError()
	}
	return n, err
}

func (b *idleBody) Close() error {
	if b.window != nil {
		b.window.Stop()
	}
	b.stopTotal()
	err := b.rc.Close()
	b.cancel()
	return err
}
