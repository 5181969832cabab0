package testenv

import (
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// Socket is an HTTP server on a unix socket that counts the connections it
// accepts: what DOCKER_HOST points at to prove that a command never
// contacts an engine, or to play a socket that is not an engine.
type Socket struct {
	// Path is the socket's path; Host is "unix://" + Path.
	Path, Host string

	conns atomic.Int64
}

// StartSocket serves h on a new unix socket until the test ends.
func StartSocket(t testing.TB, h http.Handler) *Socket {
	t.Helper()
	dir, err := os.MkdirTemp("", "ctl-sock-") // short: the 108-byte limit
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	s := &Socket{Path: filepath.Join(dir, "s.sock")}
	s.Host = "unix://" + s.Path
	ln, err := net.Listen("unix", s.Path)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				s.conns.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = os.RemoveAll(dir)
	})
	return s
}

// Connections returns how many connections the socket has accepted.
func (s *Socket) Connections() int { return int(s.conns.Load()) }
