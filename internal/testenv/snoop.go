package testenv

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Snoop is an HTTP server on a 127.0.0.1 ephemeral port that records every
// request, to check that credentials are not sent to another host (for
// example behind a FaultRedirect). It answers paths registered with Serve
// and 404 otherwise. It stops when the test ends.
//
// To check a whole pull through a redirect, a Proxy in front of a second,
// auth-less registry works too: its RequestRecords say whether
// Authorization was present.
type Snoop struct {
	// URL is "http://127.0.0.1:PORT".
	URL string
	// Host is "127.0.0.1:PORT".
	Host string

	mu       sync.Mutex
	requests []SnoopRequest
	bodies   map[string][]byte
}

// SnoopRequest is one request a Snoop received.
type SnoopRequest struct {
	// Method and Path are the request method and URL path.
	Method, Path string
	// Header is a copy of the request headers.
	Header http.Header
	// Time is when the request arrived.
	Time time.Time
}

// NewSnoopServer starts a Snoop.
func NewSnoopServer(t testing.TB) *Snoop {
	t.Helper()
	s := &Snoop{bodies: map[string][]byte{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: NewSnoopServer: %v", err)
	}
	s.Host = ln.Addr().String()
	s.URL = "http://" + s.Host
	srv := &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: time.Minute}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Serve makes the Snoop answer GET and HEAD of path with body (200,
// application/octet-stream).
func (s *Snoop) Serve(path string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bodies[path] = body
}

// Requests returns a copy of the requests received so far.
func (s *Snoop) Requests() []SnoopRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SnoopRequest(nil), s.requests...)
}

// SawAuthorization reports whether any request carried an Authorization
// header.
func (s *Snoop) SawAuthorization() bool {
	for _, r := range s.Requests() {
		if r.Header.Get("Authorization") != "" {
			return true
		}
	}
	return false
}

func (s *Snoop) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, SnoopRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Time: time.Now()})
	body, ok := s.bodies[r.URL.Path]
	s.mu.Unlock()
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}
