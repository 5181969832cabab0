package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string        // the header value
		want time.Duration // the wait it asks for
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"99999999999999999999", maxRetryAfterValue},
		{"-99999999999999999999", 0},
		{"Fri, 31 Dec 9999 23:59:59 GMT", maxRetryAfterValue},
	} {
		if _, got := retryAfter(tc.in, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseLimit(t *testing.T) {
	t.Parallel()
	n, w, ok := parseLimit("76;w=21600")
	if !ok || n != 76 || w != 6*time.Hour {
		t.Errorf("parseLimit = %d, %s, %v", n, w, ok)
	}
	if _, _, ok := parseLimit("x"); ok {
		t.Error("parseLimit(x) ok")
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("https://user:pw@blob.example/x?X-Amz-Signature=abc&X-Amz-Credential=def&digest=sha256:1&_state=zzz")
	got := RedactURL(u)
	for _, secret := range []string{"pw", "abc", "def", "zzz"} {
		if strings.Contains(got, secret) {
			t.Errorf("redactURL kept %q: %s", secret, got)
		}
	}
	if !strings.Contains(got, "digest=sha256%3A1") {
		t.Errorf("redactURL lost the digest: %s", got)
	}
}

func TestLogRedactsSecrets(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session=cookiesecret")
		w.Header().Set("Location", "https://s3.example/blob?X-Amz-Signature=sigsecret&X-Amz-Security-Token=tok")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"token":"bodysecret"}`)
	}))
	defer srv.Close()
	var log bytes.Buffer
	rt, err := New(Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/token?password=pwsecret&scope=repository:a:pull", nil)
	req.Header.Set("Authorization", "Basic YWxpY2U6czNjcmV0")
	req.Header.Set("Cookie", "c=cookie2")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	out := log.String()
	for _, secret := range []string{"YWxpY2U6czNjcmV0", "cookiesecret", "cookie2", "sigsecret", "pwsecret", "bodysecret", "tok\""} {
		if strings.Contains(out, secret) {
			t.Errorf("log shows %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"> GET ", "Basic REDACTED", "< GET ", "200 OK", "scope=repository%3Aa%3Apull"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestRedirectPolicy(t *testing.T) {
	t.Parallel()
	var gotAuth atomic.Value
	gotAuth.Store("")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization") + r.Header.Get("Cookie"))
	}))
	defer other.Close()
	// Another port on the same host is another origin: no credentials.
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/blob", http.StatusTemporaryRedirect)
	}))
	defer reg.Close()
	rt, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	// An Authorization header set per request by a transport (as
	// go-containerregistry's do) must not follow the redirect.
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Host == strings.TrimPrefix(reg.URL, "http://") {
			r.Header.Set("Authorization", "Bearer secret")
		} else {
			r.Header.Set("Authorization", "Bearer leaked")
			r.Header.Set("Cookie", "c=leaked")
		}
		return rt.RoundTrip(r)
	})}
	resp, err := hc.Get(reg.URL + "/v2/x/blobs/sha256:1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := gotAuth.Load().(string); got != "" {
		t.Errorf("redirect target got credentials %q", got)
	}

	// https -> http is refused.
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/blob", http.StatusTemporaryRedirect)
	}))
	defer tls.Close()
	rt2, err := New(Options{Base: tls.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&http.Client{Transport: rt2}).Get(tls.URL + "/v2/")
	if !errors.Is(err, ErrRedirect) {
		t.Errorf("https->http redirect: err = %v, want ErrRedirect", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fakeClock makes retry waits instant and measurable.
type fakeClock struct {
	now   time.Time
	slept []time.Duration
}

func (f *fakeClock) sleep(_ context.Context, d time.Duration) error {
	f.slept = append(f.slept, d)
	f.now = f.now.Add(d)
	return nil
}

func newRetry(inner http.RoundTripper, p RetryPolicy) (*retryTransport, *fakeClock) {
	clk := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if p.Attempts == 0 {
		p = RetryPolicy{Attempts: 4, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second, MaxTime: time.Minute, MaxRetryAfter: 30 * time.Second}
	}
	return &retryTransport{inner: inner, policy: p, sleep: clk.sleep, now: func() time.Time { return clk.now }}, clk
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	rt, clk := newRetry(http.DefaultTransport, RetryPolicy{})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(clk.slept) != 2 || clk.slept[0] != 7*time.Second || clk.slept[1] != 7*time.Second {
		t.Errorf("waits = %v, want [7s 7s]", clk.slept)
	}
}

func TestRetryAfterBeyondCap(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	rt, clk := newRetry(http.DefaultTransport, RetryPolicy{})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	_, err := rt.RoundTrip(req)
	var re *RetryError
	if !errors.As(err, &re) || re.RetryAfter.IsZero() {
		t.Fatalf("err = %v, want a RetryError with RetryAfter", err)
	}
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusTooManyRequests {
		t.Errorf("err = %v, want the 429 reachable", err)
	}
	if !strings.Contains(err.Error(), "retry after") || len(clk.slept) != 0 {
		t.Errorf("err = %v, waits %v", err, clk.slept)
	}
}

func TestRetryBounded(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	rt, clk := newRetry(http.DefaultTransport, RetryPolicy{})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	_, err := rt.RoundTrip(req)
	var re *RetryError
	if !errors.As(err, &re) || re.Attempts != 4 || n.Load() != 4 {
		t.Fatalf("err = %v after %d requests, want RetryError after 4", err, n.Load())
	}
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}; len(clk.slept) != 3 || clk.slept[2] != want[2] {
		t.Errorf("waits = %v, want %v", clk.slept, want)
	}
	if !strings.Contains(err.Error(), "giving up on") || !strings.Contains(err.Error(), "503") {
		t.Errorf("message: %v", err)
	}
	// Total time bounds retries too.
	n.Store(0)
	rt, _ = newRetry(http.DefaultTransport, RetryPolicy{Attempts: 100, Backoff: time.Second, MaxBackoff: time.Second, MaxTime: 3500 * time.Millisecond, MaxRetryAfter: time.Second})
	_, err = rt.RoundTrip(req)
	if !errors.As(err, &re) || n.Load() != 4 {
		t.Errorf("MaxTime: err = %v after %d requests, want 4", err, n.Load())
	}
}

func TestRetryNotOnClientErrors(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	rt, _ := newRetry(http.DefaultTransport, RetryPolicy{})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil || resp.StatusCode != 404 || n.Load() != 1 {
		t.Errorf("404: %v, %d requests", err, n.Load())
	}
}

// A request re-sent after a 401 (as go-containerregistry's bearer transport
// does after refreshing a token) carries its body again.
func TestResendReplaysBody(t *testing.T) {
	t.Parallel()
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		if len(bodies) == 1 {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	rt, _ := newRetry(http.DefaultTransport, RetryPolicy{})
	req, _ := http.NewRequest("PUT", srv.URL, bytes.NewBufferString("manifest"))
	for range 2 {
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(bodies) != 2 || bodies[1] != "manifest" {
		t.Errorf("bodies = %q", bodies)
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "12345")
		w.(http.Flusher).Flush()
		<-release
	}))
	defer srv.Close()
	defer close(release)
	rt, err := New(Options{ResponseHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, ErrTimeout) || time.Since(start) > 5*time.Second {
		t.Errorf("stalled body: err = %v after %s", err, time.Since(start))
	}
}

func TestResponseHeaderTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	rt, err := New(Options{ResponseHeaderTimeout: 100 * time.Millisecond, Retry: RetryPolicy{Attempts: 2, Backoff: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	start := time.Now()
	_, err = rt.RoundTrip(req)
	var re *RetryError
	if !errors.As(err, &re) || re.Attempts != 2 || time.Since(start) > 5*time.Second {
		t.Errorf("hanging server: err = %v after %s", err, time.Since(start))
	}
}

func TestRateLimitReported(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Ratelimit-Limit", "100;w=21600")
		w.Header().Set("Ratelimit-Remaining", "7;w=21600")
	}))
	defer srv.Close()
	var got []RateLimit
	rt, err := New(Options{OnRateLimit: func(l RateLimit) { got = append(got, l) }})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("HEAD", srv.URL+"/v2/library/nginx/manifests/latest", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := RateLimit{Host: strings.TrimPrefix(srv.URL, "http://"), Limit: 100, Remaining: 7, Window: 6 * time.Hour}
	if len(got) != 1 || got[0] != want {
		t.Errorf("reported %+v, want %+v", got, want)
	}
}

func TestTokenCache(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/token":
			n.Add(1)
			io.WriteString(w, `{"token":"t`+r.URL.Query().Get("scope")+`","expires_in":300}`)
		default:
			if r.Header.Get("Authorization") == "Bearer trevoked" {
				w.WriteHeader(http.StatusUnauthorized)
			}
		}
	}))
	defer srv.Close()
	rt, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, authz string) string {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	get("/token?service=s&scope=a", "Basic x")
	get("/token?service=s&scope=a", "Basic x")
	if n.Load() != 1 {
		t.Errorf("%d token requests for one scope, want 1", n.Load())
	}
	get("/token?service=s&scope=b", "Basic x")
	get("/token?service=s&scope=a", "Basic other")
	if n.Load() != 3 {
		t.Errorf("%d token requests for 3 scope/credential sets, want 3", n.Load())
	}
	// A token the registry refuses is forgotten.
	get("/token?service=s&scope=revoked", "")
	get("/v2/", "Bearer trevoked")
	get("/token?service=s&scope=revoked", "")
	if n.Load() != 5 {
		t.Errorf("%d token requests, want 5 (refused token fetched again)", n.Load())
	}
}

func TestDockerHubLimitExhausted(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Ratelimit-Limit", "100;w=21600")
		w.Header().Set("Ratelimit-Remaining", "0;w=21600")
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}`)
	}))
	defer srv.Close()
	rt, _ := newRetry(http.DefaultTransport, RetryPolicy{})
	req, _ := http.NewRequest("GET", srv.URL+"/v2/library/nginx/manifests/latest", nil)
	_, err := rt.RoundTrip(req)
	if err == nil || n.Load() != 1 || !strings.Contains(err.Error(), "pull rate limit reached (100 pulls per 6h0m0s); retry when") {
		t.Errorf("exhausted limit: %v after %d requests", err, n.Load())
	}
}

// A manifest whose connection is cut mid-body is fetched again.
func TestRetryMidBody(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Content-Length", "20")
		if n.Add(1) == 1 {
			io.WriteString(w, `{"schemaVer`)
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		io.WriteString(w, `{"schemaVersion": 2}`)
	}))
	defer srv.Close()
	rt, _ := newRetry(http.DefaultTransport, RetryPolicy{})
	req, _ := http.NewRequest("GET", srv.URL+"/v2/a/manifests/v1", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != `{"schemaVersion": 2}` || n.Load() != 2 {
		t.Errorf("body %q, %v after %d requests", b, err, n.Load())
	}
}

// Requests sent with one Budget's context share its attempts: a logical
// request made of several (an upload's POST and PUTs) is bounded as one.
func TestBudgetShared(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	rt, clk := newRetry(http.DefaultTransport, RetryPolicy{})
	ctx, b := WithBudget(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	_, err := rt.RoundTrip(req)
	var re *RetryError
	if !errors.As(err, &re) || re.Attempts != 4 || n.Load() != 4 {
		t.Fatalf("first request: %v after %d requests, want RetryError after 4", err, n.Load())
	}
	// The budget is spent: a second request gets one try, and a retry of
	// the logical request by its caller is refused at once.
	_, err = rt.RoundTrip(req.Clone(ctx))
	if !errors.As(err, &re) || re.Attempts != 5 || n.Load() != 5 {
		t.Errorf("second request: %v after %d requests, want RetryError after 5", err, n.Load())
	}
	cause := errors.New("session lost")
	if err := b.Retry(ctx, "h", cause); !errors.As(err, &re) || !errors.Is(err, cause) {
		t.Errorf("Retry of a spent budget: %v", err)
	}
	if len(clk.slept) != 3 {
		t.Errorf("waits %v, want the 3 of the first request", clk.slept)
	}
}

// TestSchemeMemoryRefusalIsSchemeMismatch: once a host answered a TLS
// handshake with plain HTTP, a later HTTPS request to it is refused
// without a connection, and fails as the first did (http.ErrSchemeMismatch),
// so that whichever of two racing requests learned it, the caller sees the
// same error and names the same fix.
func TestSchemeMemoryRefusalIsSchemeMismatch(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	s := &schemeMemory{inner: &http.Transport{}}
	c := &http.Client{Transport: s} // the client turns the handshake's error into ErrSchemeMismatch
	u := "https://" + strings.TrimPrefix(srv.URL, "http://") + "/v2/"
	for i := range 2 {
		_, err := c.Get(u)
		if !errors.Is(err, http.ErrSchemeMismatch) {
			t.Errorf("request %d: %v, want http.ErrSchemeMismatch", i, err)
		}
	}
	if _, ok := s.known[strings.TrimPrefix(srv.URL, "http://")]; !ok {
		t.Errorf("the scheme was not learned: %v", s.known)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the plain-HTTP server", n)
	}
}

// NotTLS: a TLS handshake answered in plain text is a plain-HTTP server,
// whether the answer starts "HTTP/" (net/http's ErrSchemeMismatch) or is a
// bare page (an HTTP/0.9-style error, crypto/tls's record header error); a
// binary answer is not.
func TestNotTLS(t *testing.T) {
	t.Parallel()
	record := func(h string) error {
		var rhe tls.RecordHeaderError
		rhe.Msg = "first record does not look like a TLS handshake"
		copy(rhe.RecordHeader[:], h)
		return &url.Error{Op: "Get", URL: "https://reg.example/v2/", Err: rhe}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("pinging: %w", http.ErrSchemeMismatch), true},
		{record("<!DOC"), true},
		{record("\r\n<ht"), true},
		{record("SSH-2"), true},
		{record("\x00\x01\x02\x03\x04"), false},
		{x509.UnknownAuthorityError{}, false},
		{io.EOF, false},
	} {
		if got := NotTLS(tc.err); got != tc.want {
			t.Errorf("NotTLS(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// A server that answers a TLS handshake with a bare HTML page (Python's
// http.server does, for a request line it cannot read) is learned as
// plain HTTP like one that answers "HTTP/1.1 400": the first HTTPS request
// fails as NotTLS, later ones are refused without a connection.
func TestSchemeMemoryLearnsBarePage(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var conns atomic.Int32
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			io.WriteString(conn, "<!DOCTYPE HTML>\n<html><body>Error code: 400</body></html>\n")
			conn.Close()
		}
	}()
	s := &schemeMemory{inner: &http.Transport{}}
	c := &http.Client{Transport: s}
	for i := range 2 {
		if _, err := c.Get("https://" + ln.Addr().String() + "/v2/"); !NotTLS(err) {
			t.Errorf("request %d: %v, want a NotTLS error", i, err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1: the plain-text answer was not learned", n)
	}
}
