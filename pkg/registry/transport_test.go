package registry

import (
	"bytes"
	"context"
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
	got := redactURL(u)
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
	c, err := New(WithLog(&log), WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/token?password=pwsecret&scope=repository:a:pull", nil)
	req.Header.Set("Authorization", "Basic YWxpY2U6czNjcmV0")
	req.Header.Set("Cookie", "c=cookie2")
	resp, err := c.transport.RoundTrip(req)
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

func TestSchemeGuard(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c, err := New(WithInsecure("reg.example:5000", "192.168.0.0/16", "fd00::/8"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host  string // a registry host
		plain bool   // whether plain HTTP is allowed
	}{
		{"localhost:5000", true},
		{"127.0.0.1:5000", true},
		{"127.9.9.9", true},
		{"[::1]:5000", true},
		{"reg.example:5000", true},
		{"reg.example:5001", false},
		{"reg.example", false},
		{"10.0.0.1:5000", false},
		{"192.168.1.1", true},
		{"192.168.1.1:5000", true},
		{"[fd00::1]:5000", true},
		{"[fe80::1]:5000", false},
		{"192.169.0.1:5000", false},
		{"192.168.1.1.nip.io:5000", false},
		{"172.16.0.1:5000", false},
		{"printer.local", false},
		{"localhost.evil.example", false},
	} {
		if got := c.PlainHTTP(tc.host); got != tc.plain {
			t.Errorf("PlainHTTP(%q) = %v, want %v", tc.host, got, tc.plain)
		}
	}
	// The transport refuses plain HTTP to a private address even though
	// go-containerregistry would try it.
	req, _ := http.NewRequest("GET", "http://10.0.0.1:5000/v2/", nil)
	if _, err := c.transport.RoundTrip(req); !errors.Is(err, ErrPlainHTTP) {
		t.Errorf("plain HTTP to 10.0.0.1: err = %v, want ErrPlainHTTP", err)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/v2/", nil)
	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		t.Fatalf("plain HTTP to loopback: %v", err)
	}
	resp.Body.Close()
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
	c, err := New()
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
		return c.transport.RoundTrip(r)
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
	c2, err := New(WithTransport(tls.Client().Transport))
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&http.Client{Transport: c2.transport}).Get(tls.URL + "/v2/")
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
	// A streamed body cannot be replayed: the re-send is a retryable
	// error that keeps the 401.
	bodies = nil
	req, _ = http.NewRequest("PATCH", srv.URL, io.NopCloser(strings.NewReader("stream")))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, err = rt.RoundTrip(req)
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != 401 || !errors.As(err, new(*replayError)) {
		t.Errorf("re-send of a stream: err = %v", err)
	}
	if !errors.As(classify("h", err), new(*AuthError)) {
		t.Errorf("classify(%v) is not an AuthError", err)
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
	c, err := New(WithTimeouts(200*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := c.transport.RoundTrip(req)
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
	c, err := New(WithTimeouts(100*time.Millisecond, 0), WithRetryPolicy(RetryPolicy{Attempts: 2, Backoff: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	start := time.Now()
	_, err = c.transport.RoundTrip(req)
	var re *RetryError
	if !errors.As(err, &re) || re.Attempts != 2 || time.Since(start) > 5*time.Second {
		t.Errorf("hanging server: err = %v after %s", err, time.Since(start))
	}
}

func TestOptionConflicts(t *testing.T) {
	t.Parallel()
	if _, err := New(WithTransport(http.DefaultTransport), WithCAFiles("x.pem")); err == nil {
		t.Error("WithTransport with WithCAFiles: no error")
	}
	if _, err := New(WithCAFiles("/nonexistent/ca.pem")); err == nil {
		t.Error("missing CA file: no error")
	}
	if _, err := New(WithInsecure("http://x/")); err == nil {
		t.Error("insecure URL: no error")
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
	c, err := New(WithRateLimitFunc(func(l RateLimit) { got = append(got, l) }))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("HEAD", srv.URL+"/v2/library/nginx/manifests/latest", nil)
	resp, err := c.transport.RoundTrip(req)
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
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, authz string) string {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := c.transport.RoundTrip(req)
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

func TestClassifyRedacts(t *testing.T) {
	t.Parallel()
	inner := &url.Error{Op: "Get", URL: "https://s3.example/blob?X-Amz-Signature=sigsecret&digest=sha256:1", Err: io.ErrUnexpectedEOF}
	err := classify("reg.example", fmt.Errorf("pulling: %w", inner))
	if strings.Contains(err.Error(), "sigsecret") || !strings.Contains(err.Error(), "s3.example/blob") {
		t.Errorf("error text %q", err.Error())
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("errors.Is lost the cause")
	}
}

// The hints for an untrusted certificate and for a plain-HTTP answer to
// HTTPS appear once, however often an error is classified on its way up.
func TestClassifyHintsOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cause error
		hint  string
	}{
		{x509.UnknownAuthorityError{}, "--ca-file"},
		{http.ErrSchemeMismatch, "--insecure-registry"},
	} {
		inner := &url.Error{Op: "Get", URL: "https://reg.example/v2/", Err: tc.cause}
		err := classify("reg.example", fmt.Errorf("listing: %w", classify("reg.example", inner)))
		if n := strings.Count(err.Error(), tc.hint); n != 1 {
			t.Errorf("%v: hint %q appears %d times in %q", tc.cause, tc.hint, n, err.Error())
		}
		if !errors.Is(err, tc.cause) && !errors.As(err, new(x509.UnknownAuthorityError)) {
			t.Errorf("%v: the cause is lost", tc.cause)
		}
	}
}

// A missing manifest or repository is named in the error, which is still
// ErrNotFound; a HEAD of a missing manifest has no body to explain the 404.
func TestClassifyHeadNotFound(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/v2/gallery/ui/manifests/nope":            "reg.example/gallery/ui:nope: manifest unknown (HEAD answered 404 Not Found)",
		"/v2/gallery/ui/manifests/sha256:" + hex64: "reg.example/gallery/ui@sha256:" + hex64 + ": manifest unknown (HEAD answered 404 Not Found)",
	} {
		req, _ := http.NewRequest(http.MethodHead, "http://reg.example"+path, nil)
		te := &transport.Error{StatusCode: http.StatusNotFound, Request: req}
		err := classify("reg.example", fmt.Errorf("wrapped: %w", te))
		if err.Error() != want || !errors.Is(err, ErrNotFound) || !errors.As(err, new(*transport.Error)) {
			t.Errorf("%s: %q (not found %v)", path, err, errors.Is(err, ErrNotFound))
		}
	}
	// A GET says what is missing in the registry's own words.
	for path, tc := range map[string]struct{ code, msg, want string }{
		"/v2/gallery/ui/manifests/v1": {"MANIFEST_UNKNOWN", "manifest unknown", "reg.example/gallery/ui:v1: manifest unknown"},
		"/v2/gallery/ui/tags/list":    {"NAME_UNKNOWN", "repository name not known to registry", "reg.example/gallery/ui: repository name not known to registry"},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://reg.example"+path, nil)
		te := &transport.Error{StatusCode: http.StatusNotFound, Request: req,
			Errors: []transport.Diagnostic{{Code: transport.ErrorCode(tc.code), Message: tc.msg, Detail: map[string]any{"name": "gallery/ui"}}}}
		err := classify("reg.example", fmt.Errorf("wrapped: %w", te))
		if err.Error() != tc.want || !errors.Is(err, ErrNotFound) || !errors.As(err, new(*transport.Error)) {
			t.Errorf("GET %s: %q", path, err)
		}
	}
	// A blob HEAD keeps its text.
	req, _ := http.NewRequest(http.MethodHead, "http://reg.example/v2/a/blobs/sha256:"+hex64, nil)
	te := &transport.Error{StatusCode: http.StatusNotFound, Request: req}
	if err := classify("reg.example", te); err.Error() != te.Error() || !errors.Is(err, ErrNotFound) {
		t.Errorf("blob HEAD: %q", err)
	}
}

var hex64 = strings.Repeat("ab", 32)

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

// Docker Hub is named docker.io in errors (its API host index.docker.io is
// what go-containerregistry sends requests to, not what users type).
func TestClassifyNamesDockerHub(t *testing.T) {
	t.Parallel()
	denied := &transport.Error{StatusCode: http.StatusUnauthorized}
	var ae *AuthError
	if err := classify("index.docker.io", fmt.Errorf("pulling: %w", denied)); !errors.As(err, &ae) || ae.Host != DockerHub ||
		strings.Contains(err.Error(), "index.docker.io") {
		t.Errorf("auth error %v (host %q)", err, ae.Host)
	}
	refused := &url.Error{Op: "Get", URL: "https://index.docker.io/v2/", Err: &net.OpError{Op: "dial", Err: errors.New("refused")}}
	if err := classify("index.docker.io", refused); !strings.HasPrefix(err.Error(), "registry docker.io unreachable: ") {
		t.Errorf("unreachable: %q", err)
	}
	req, _ := http.NewRequest(http.MethodHead, "https://index.docker.io/v2/library/nginx/manifests/nope", nil)
	if err := classify("index.docker.io", &transport.Error{StatusCode: http.StatusNotFound, Request: req}); !strings.HasPrefix(err.Error(), "docker.io/library/nginx:nope: ") {
		t.Errorf("not found: %q", err)
	}
	if err := (&RetryError{Host: "index.docker.io", Attempts: 3, Err: errors.New("503")}); !strings.HasPrefix(err.Error(), "giving up on docker.io ") {
		t.Errorf("retries: %q", err)
	}
	// Other registries keep their host.
	if err := classify("reg.example:5000", fmt.Errorf("pulling: %w", denied)); !errors.As(err, &ae) || ae.Host != "reg.example:5000" {
		t.Errorf("other registry: %v", err)
	}
}

// A message names the reference once: a registry's not-found answer
// already does, other errors get the reference as a prefix.
func TestAboutNamesTheReferenceOnce(t *testing.T) {
	t.Parallel()
	ref := mustRef(t, "reg.example/app:v1")
	if got := about("pulling", ref.String(), notFoundError{errors.New("reg.example/app:v1: manifest unknown")}).Error(); got != "reg.example/app:v1: manifest unknown" {
		t.Errorf("not found: %q", got)
	}
	err := about("pulling", ref.String(), io.ErrUnexpectedEOF)
	if got := err.Error(); got != "pulling reg.example/app:v1: unexpected EOF" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("other error: %q", got)
	}
}
