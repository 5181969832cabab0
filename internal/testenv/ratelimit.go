package testenv

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// HubLimiter is a Docker Hub stand-in's pull limit: a reverse proxy on a
// 127.0.0.1 ephemeral port, in front of another server (a registry or a
// Proxy), that counts manifest GETs as Docker Hub counts pulls (HEADs are
// free), sends ratelimit-limit and ratelimit-remaining headers with every
// manifest response, and answers a GET past the limit with 429 and
// ratelimit-remaining: 0 (no Retry-After, as Docker Hub does). The count
// starts again Window after the first pull of a window. It stops when the
// test ends.
type HubLimiter struct {
	// URL is "http://127.0.0.1:PORT"; Host is "127.0.0.1:PORT".
	URL, Host string

	limit  int
	window time.Duration

	mu      sync.Mutex
	pulls   int       // manifest GETs answered in this window
	refused int       // manifest GETs refused with 429
	start   time.Time // when the window began (zero: none yet)
}

// NewHubLimiter starts a limiter allowing limit pulls per window in front of
// targetURL (plain HTTP).
func NewHubLimiter(t testing.TB, targetURL string, limit int, window time.Duration) *HubLimiter {
	t.Helper()
	target, err := url.Parse(targetURL)
	if err != nil || target.Host == "" {
		t.Fatalf("testenv: NewHubLimiter: bad target URL %q: %v", targetURL, err)
	}
	l := &HubLimiter{limit: limit, window: window}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
		ModifyResponse: func(resp *http.Response) error {
			if strings.Contains(resp.Request.URL.Path, "/manifests/") {
				l.headers(resp.Header)
			}
			return nil
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: NewHubLimiter: %v", err)
	}
	l.Host = ln.Addr().String()
	l.URL = "http://" + l.Host
	srv := &http.Server{
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/") && !l.take() {
				l.headers(w.Header())
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				_, _ = io.WriteString(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}`)
				return
			}
			rp.ServeHTTP(w, r)
		}),
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l
}

// take counts a pull, reporting whether the limit allows it.
func (l *HubLimiter) take() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll()
	if l.pulls >= l.limit {
		l.refused++
		return false
	}
	if l.start.IsZero() {
		l.start = time.Now()
	}
	l.pulls++
	return true
}

// roll starts a new window once the current one is over; l.mu is held.
func (l *HubLimiter) roll() {
	if !l.start.IsZero() && time.Since(l.start) >= l.window {
		l.pulls, l.start = 0, time.Time{}
	}
}

// headers sets Docker Hub's ratelimit headers as of now.
func (l *HubLimiter) headers(h http.Header) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll()
	w := int(l.window / time.Second)
	h.Set("Ratelimit-Limit", fmt.Sprintf("%d;w=%d", l.limit, w))
	h.Set("Ratelimit-Remaining", fmt.Sprintf("%d;w=%d", max(l.limit-l.pulls, 0), w))
}

// Pulls returns the manifest GETs answered in the current window and
// those refused with 429 since the start.
func (l *HubLimiter) Pulls() (answered, refused int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pulls, l.refused
}
