package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FaultKind says what a Fault does to a matching request.
type FaultKind int

const (
	// FaultStatus answers Fault.Status (with Fault.RetryAfter as a
	// Retry-After header and Fault.Body as the body, when set) without
	// forwarding the request.
	FaultStatus FaultKind = iota + 1
	// FaultDropMidBody forwards the request, then cuts the connection after
	// Fault.Bytes bytes of the response body (with Bytes 0 the client may
	// not even see the status line).
	FaultDropMidBody
	// FaultDropBeforeResponse closes the connection without forwarding the
	// request or answering.
	FaultDropBeforeResponse
	// FaultCorruptBody forwards the request and flips the bits of one byte
	// of the response body: the byte at offset Fault.Bytes, clamped to the
	// last byte when the Content-Length is known (a body of unknown length
	// shorter than Bytes passes unchanged).
	FaultCorruptBody
	// FaultHang never answers: the handler blocks until the client gives
	// up or the test ends.
	FaultHang
	// FaultRedirect answers 307 Temporary Redirect (or Fault.Status if it
	// is a 3xx) with Location: Fault.Location, in which "{path}" is
	// replaced by the request's path and "{query}" by its raw query.
	FaultRedirect
)

// String returns the name of the fault kind.
func (k FaultKind) String() string {
	switch k {
	case FaultStatus:
		return "status"
	case FaultDropMidBody:
		return "drop-mid-body"
	case FaultDropBeforeResponse:
		return "drop-before-response"
	case FaultCorruptBody:
		return "corrupt-body"
	case FaultHang:
		return "hang"
	case FaultRedirect:
		return "redirect"
	}
	return "FaultKind(" + strconv.Itoa(int(k)) + ")"
}

// Fault is a fault-injection rule of a Proxy.
type Fault struct {
	// Method matches the request method; "" matches any.
	Method string
	// PathRegexp matches the request's URL path (unanchored); "" matches
	// any.
	PathRegexp string
	// Times is how many requests the rule fires for; 0 means forever.
	Times int
	// Every, when above 1, makes the rule fire on every Every-th matching
	// request only (the Every-th, the 2×Every-th, ...).
	Every int
	// Kind is what the rule does.
	Kind FaultKind
	// Status is the status for FaultStatus (and optionally FaultRedirect).
	Status int
	// RetryAfter is the Retry-After header for FaultStatus ("" for none).
	RetryAfter string
	// Body is the response body for FaultStatus.
	Body string
	// Header holds extra response headers for FaultStatus and
	// FaultRedirect.
	Header http.Header
	// Bytes is the body offset for FaultDropMidBody and FaultCorruptBody.
	Bytes int
	// Location is the redirect target for FaultRedirect.
	Location string
}

// TagDeleteRefused is the Fault of a registry that deletes manifests only
// by digest, as distribution v2 did: a DELETE of a manifest by tag (a
// reference without ':', which every digest has) answers 405 UNSUPPORTED,
// while DELETE by digest goes through.
func TagDeleteRefused() Fault {
	return Fault{Method: http.MethodDelete, PathRegexp: `/manifests/[^:/]+$`, Kind: FaultStatus, Status: http.StatusMethodNotAllowed,
		Body: `{"errors":[{"code":"UNSUPPORTED","message":"The operation is unsupported."}]}`}
}

type faultRule struct {
	Fault
	re      *regexp.Regexp
	fired   int
	matched int
}

// RequestRecord describes one request that reached a Proxy.
type RequestRecord struct {
	// Method is the request method.
	Method string
	// Path is the request's URL path.
	Path string
	// RawQuery is the request's raw query string.
	RawQuery string
	// Status is the status answered; 0 if the connection was dropped
	// before a response, or the request is still in flight.
	Status int
	// Time is when the request arrived.
	Time time.Time
	// Authorization tells whether the request carried an Authorization
	// header.
	Authorization bool
	// Range is the request's Range header ("" for none).
	Range string
	// Fault is the kind of fault injected, or 0 for none.
	Fault FaultKind
	// Answered is when the proxy had sent its whole answer (zero while
	// the request is under way).
	Answered time.Time
}

// Proxy is a fault-injecting HTTP reverse proxy listening on a 127.0.0.1
// ephemeral port. It forwards to its target keeping the client's Host
// header (so a registry writes Location URLs pointing back at the proxy)
// and telling the target X-Forwarded-Proto: http. Bodies are streamed in
// both directions. It stops when the test ends.
type Proxy struct {
	// URL is "http://127.0.0.1:PORT".
	URL string
	// Host is "127.0.0.1:PORT".
	Host string

	target *url.URL
	rp     *httputil.ReverseProxy
	srv    *http.Server
	done   chan struct{}

	mu          sync.Mutex
	delay       time.Duration
	faults      []*faultRule
	records     []RequestRecord
	gen         int // incremented by Reset
	connections int
}

type ctxKey struct{}

type proxyReqState struct {
	fault *faultRule
}

// NewProxy starts a proxy in front of targetURL. caPEM is the CA the proxy
// trusts for an https target (nil for plain HTTP targets or to use the
// system roots).
func NewProxy(t testing.TB, targetURL string, caPEM []byte) *Proxy {
	t.Helper()
	target, err := url.Parse(targetURL)
	if err != nil || target.Host == "" {
		t.Fatalf("testenv: NewProxy: bad target URL %q: %v", targetURL, err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DisableCompression = true
	tr.MaxIdleConnsPerHost = 64
	tr.ForceAttemptHTTP2 = false
	if caPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			t.Fatalf("testenv: NewProxy: no certificate in caPEM")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	p := &Proxy{target: target, done: make(chan struct{})}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// Keep the client's Host so Location headers point back here.
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set("X-Forwarded-Proto", "http")
		},
		Transport:      tr,
		FlushInterval:  -1,
		ErrorLog:       log.New(io.Discard, "", 0),
		ModifyResponse: p.modifyResponse,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			http.Error(w, "testenv proxy: "+err.Error(), http.StatusBadGateway)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: NewProxy: %v", err)
	}
	p.Host = ln.Addr().String()
	p.URL = "http://" + p.Host
	p.srv = &http.Server{
		Handler:           http.HandlerFunc(p.serve),
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				p.mu.Lock()
				p.connections++
				p.mu.Unlock()
			}
		},
	}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(func() {
		close(p.done)
		_ = p.srv.Close()
		tr.CloseIdleConnections()
	})
	return p
}

// SetDelay adds latency to every request, before it is forwarded or a
// fault fires.
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// AddFault appends a fault rule. Rules are checked in order; the first
// matching rule that has not used up its Times fires.
func (p *Proxy) AddFault(f Fault) {
	r := &faultRule{Fault: f}
	if f.PathRegexp != "" {
		r.re = regexp.MustCompile(f.PathRegexp)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, r)
}

// ClearFaults removes all fault rules.
func (p *Proxy) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

// Requests returns a copy of the requests received so far, in arrival
// order.
func (p *Proxy) Requests() []RequestRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]RequestRecord(nil), p.records...)
}

// Count returns how many requests matched method ("" for any) and
// pathRegexp ("" for any, unanchored, against the URL path).
func (p *Proxy) Count(method, pathRegexp string) int {
	var re *regexp.Regexp
	if pathRegexp != "" {
		re = regexp.MustCompile(pathRegexp)
	}
	n := 0
	for _, r := range p.Requests() {
		if (method == "" || r.Method == method) && (re == nil || re.MatchString(r.Path)) {
			n++
		}
	}
	return n
}

// Connections returns how many TCP connections the proxy has accepted.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.connections
}

// Reset clears the request records and the connection count (fault rules
// stay; see ClearFaults).
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.records = nil
	p.gen++
	p.connections = 0
}

func (p *Proxy) pickFault(r *http.Request) *faultRule {
	for _, f := range p.faults {
		if f.Method != "" && f.Method != r.Method {
			continue
		}
		if f.re != nil && !f.re.MatchString(r.URL.Path) {
			continue
		}
		if f.Times > 0 && f.fired >= f.Times {
			continue
		}
		if f.matched++; f.Every > 1 && f.matched%f.Every != 0 {
			continue
		}
		f.fired++
		return f
	}
	return nil
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	delay := p.delay
	idx := len(p.records)
	p.records = append(p.records, RequestRecord{
		Method:        r.Method,
		Path:          r.URL.Path,
		RawQuery:      r.URL.RawQuery,
		Time:          time.Now(),
		Authorization: r.Header.Get("Authorization") != "",
		Range:         r.Header.Get("Range"),
	})
	gen := p.gen
	p.mu.Unlock()

	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		p.mu.Lock()
		// Reset may have replaced the records meanwhile.
		if p.gen == gen {
			p.records[idx].Status = sw.status
			p.records[idx].Answered = time.Now()
		}
		p.mu.Unlock()
	}()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		case <-p.done:
			return
		}
	}

	p.mu.Lock()
	f := p.pickFault(r)
	if f != nil && p.gen == gen {
		p.records[idx].Fault = f.Kind
	}
	p.mu.Unlock()

	if f == nil {
		p.rp.ServeHTTP(sw, r)
		return
	}
	switch f.Kind {
	case FaultStatus:
		for k, vs := range f.Header {
			sw.Header()[k] = vs
		}
		if f.RetryAfter != "" {
			sw.Header().Set("Retry-After", f.RetryAfter)
		}
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		if f.Body != "" && sw.Header().Get("Content-Type") == "" {
			sw.Header().Set("Content-Type", "application/json")
		}
		sw.Header().Set("Content-Length", strconv.Itoa(len(f.Body)))
		sw.WriteHeader(status)
		_, _ = io.WriteString(sw, f.Body)
	case FaultRedirect:
		for k, vs := range f.Header {
			sw.Header()[k] = vs
		}
		loc := strings.ReplaceAll(f.Location, "{path}", r.URL.Path)
		loc = strings.ReplaceAll(loc, "{query}", r.URL.RawQuery)
		sw.Header().Set("Location", loc)
		status := http.StatusTemporaryRedirect
		if f.Status >= 300 && f.Status < 400 {
			status = f.Status
		}
		sw.WriteHeader(status)
	case FaultDropBeforeResponse:
		hijackAndClose(w)
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-p.done:
		}
		hijackAndClose(w)
	case FaultDropMidBody, FaultCorruptBody:
		ctx := context.WithValue(r.Context(), ctxKey{}, &proxyReqState{fault: f})
		p.rp.ServeHTTP(sw, r.WithContext(ctx))
	default:
		http.Error(sw, "testenv proxy: unknown fault kind "+f.Kind.String(), http.StatusInternalServerError)
	}
}

// errDropped is the error a truncated body reports; the reverse proxy then
// aborts the client connection.
var errDropped = errors.New("testenv proxy: connection dropped by fault")

func (p *Proxy) modifyResponse(resp *http.Response) error {
	st, _ := resp.Request.Context().Value(ctxKey{}).(*proxyReqState)
	if st == nil {
		return nil
	}
	switch st.fault.Kind {
	case FaultDropMidBody:
		resp.Body = &dropReader{rc: resp.Body, left: int64(st.fault.Bytes)}
	case FaultCorruptBody:
		off := int64(st.fault.Bytes)
		if resp.ContentLength > 0 && off >= resp.ContentLength {
			off = resp.ContentLength - 1
		}
		resp.Body = &corruptReader{rc: resp.Body, at: off}
	}
	return nil
}

type dropReader struct {
	rc   io.ReadCloser
	left int64
}

func (d *dropReader) Read(b []byte) (int, error) {
	if d.left <= 0 {
		return 0, errDropped
	}
	if int64(len(b)) > d.left {
		b = b[:d.left]
	}
	n, err := d.rc.Read(b)
	d.left -= int64(n)
	if err == io.EOF && n == 0 {
		// The body was shorter than the cut: drop anyway.
		return 0, errDropped
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}

func (d *dropReader) Close() error { return d.rc.Close() }

type corruptReader struct {
	rc  io.ReadCloser
	pos int64
	at  int64
}

func (c *corruptReader) Read(b []byte) (int, error) {
	n, err := c.rc.Read(b)
	if c.at >= c.pos && c.at < c.pos+int64(n) {
		b[c.at-c.pos] ^= 0xff
	}
	c.pos += int64(n)
	return n, err
}

func (c *corruptReader) Close() error { return c.rc.Close() }

func hijackAndClose(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// statusWriter records the status written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
