package engine

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/store"
)

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// startTLSServer serves 404 over TLS with cert on 127.0.0.1 and returns
// HOST:PORT.
func startTLSServer(t *testing.T, cert *testenv.IssuedCert) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLSCertificate()}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// hostEnv is an environment with DOCKER_HOST only.
func hostEnv(host string) Options {
	return Options{Getenv: func(k string) string {
		if k == "DOCKER_HOST" {
			return host
		}
		return ""
	}}
}

var galleryFiles = map[string]string{
	"Dockerfile": "FROM scratch\nCOPY index.html /usr/share/nginx/html/index.html\nCMD [\"/index.html\"]\n",
	"index.html": "<h1>image gallery</h1>\n",
}

func TestEngineRoundTrip(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	id := p.Build(t, "example.test/gallery:v1", galleryFiles)
	ctx := t.Context()
	c, err := Open(ctx, hostEnv(p.Host))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	imgs, err := c.List(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].ID.String() != id || len(imgs[0].RepoTags) != 1 || imgs[0].RepoTags[0] != "example.test/gallery:v1" {
		t.Fatalf("List = %+v, want one image %s tagged example.test/gallery:v1", imgs, id)
	}

	if _, err := c.Inspect(ctx, "example.test/nope:v1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Inspect of a missing image: %v, want ErrNotFound", err)
	}
	if _, err := c.save(ctx, []string{"example.test/gallery:v1", "example.test/nope:v1"}); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "example.test/nope:v1") {
		t.Errorf("Save with a missing image: %v, want ErrNotFound naming it", err)
	}

	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var read int64
	entries, err := c.SaveToStore(ctx, s, []string{"example.test/gallery:v1"}, func(n int64) { read = n })
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].ID.String() != id || entries[0].Ref != "example.test/gallery:v1" {
		t.Fatalf("SaveToStore = %+v, want example.test/gallery:v1 with ID %s", entries, id)
	}
	if read == 0 {
		t.Error("progress was never called")
	}

	// Back into the engine under another name: the same image ID.
	if err := s.Tag(entries[0], mustParse(t, "example.test/gallery:v2")); err != nil {
		t.Fatal(err)
	}
	e2, err := s.Resolve("example.test/gallery:v2")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := c.LoadFromStore(ctx, s, []store.Entry{e2}, platform.Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "example.test/gallery:v2") {
		t.Errorf("LoadFromStore answered %q", lines)
	}
	if got := p.ImageID(t, "example.test/gallery:v2"); got != id {
		t.Errorf("the engine has v2 as %s, want %s", got, id)
	}
}

func TestOpenNoEngine(t *testing.T) {
	t.Parallel()
	notEngine := testenv.StartSocket(t, http.NotFoundHandler())
	hangUp := testenv.StartSocket(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close()
		}
	}))
	ok200 := testenv.StartSocket(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "OK") }))
	refused := listenAndClose(t)
	tests := []struct {
		name string
		host string
		want error  // sentinel
		text string // in the message
	}{
		{"no socket", "unix://" + t.TempDir() + "/none.sock", ErrUnreachable, "none.sock (from DOCKER_HOST)"},
		{"connection refused", "tcp://" + refused, ErrUnreachable, refused},
		{"an HTTP server that is not an engine", notEngine.Host, ErrEngine, "does not answer as a Docker Engine API"},
		{"a socket that hangs up", hangUp.Host, ErrEngine, "does not answer as a Docker Engine API"},
		{"an HTTP server that answers OK", ok200.Host, ErrEngine, "no API-Version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Open(t.Context(), hostEnv(tt.host))
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("Open: %v, want %v with %q", err, tt.want, tt.text)
			}
			// The cause in the system's words, not the API client's
			// guess at a docker daemon.
			if errors.Is(err, ErrUnreachable) && (strings.Contains(err.Error(), "Docker daemon") || !containsAny(err.Error(), "connection refused", "no such file")) {
				t.Errorf("Open: %v, want the dial's cause", err)
			}
		})
	}
}

// listenAndClose returns a 127.0.0.1 address where nothing listens.
func listenAndClose(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func mustParse(t *testing.T, s string) reference.Reference {
	t.Helper()
	r, err := reference.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestEngineThatStopsAnswering: an engine that never answers a request,
// stops sending its archive, or never answers a load, is given up on
// after the idle timeout, and nothing is stored.
func TestEngineThatStopsAnswering(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	p.Build(t, "example.test/gallery:v1", galleryFiles)
	proxy := testenv.NewProxy(t, "http://"+p.TCP(t), nil)
	o := hostEnv("tcp://" + proxy.Host)
	o.IdleTimeout = time.Second
	c, err := Open(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []testenv.Fault{
		{PathRegexp: "/images/.*/json", Kind: testenv.FaultHang, Times: 1},
		{PathRegexp: "/images/get", Kind: testenv.FaultHang, Times: 1},
	} {
		proxy.AddFault(f)
		_, err := c.SaveToStore(t.Context(), s, []string{"example.test/gallery:v1"}, nil)
		if !errors.Is(err, ErrEngine) || !containsAny(err.Error(), "did not answer within 1s", "sent nothing of the archive of example.test/gallery:v1 for 1s") {
			t.Errorf("%s hangs: %v", f.PathRegexp, err)
		}
	}
	if all, err := s.List(); err != nil || len(all) != 0 {
		t.Errorf("the store holds %v (%v)", all, err)
	}
	// A load the engine never answers: given up on too.
	proxy.AddFault(testenv.Fault{Method: "POST", PathRegexp: "/images/load", Kind: testenv.FaultHang, Times: 1})
	start := time.Now()
	if _, err := c.Load(t.Context(), strings.NewReader("an archive")); !errors.Is(err, ErrEngine) || !strings.Contains(err.Error(), "neither read the archive nor answered the load for 1s") {
		t.Errorf("a load that hangs: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a load that hangs took %v to give up on", d)
	}
	// The same client works once the engine answers again.
	if _, err := c.SaveToStore(t.Context(), s, []string{"example.test/gallery:v1"}, nil); err != nil {
		t.Fatal(err)
	}
}
