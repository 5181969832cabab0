package e2e

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// forwardProxy is an HTTP proxy (HTTP_PROXY / HTTPS_PROXY) that sends
// every request, whatever host it names, to one registry: plain requests
// are forwarded, CONNECT tunnels are opened to the registry's port. It lets
// the binary meet a plain-HTTP registry under a name that is not loopback
// (every test registry listens on 127.0.0.1), and records what it was sent.
type forwardProxy struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "CONNECT host" or "METHOD URL"
}

func newForwardProxy(t *testing.T, registryHost string) *forwardProxy {
	t.Helper()
	p := &forwardProxy{}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.Out.URL.Scheme, r.Out.URL.Host = "http", registryHost
	}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		if r.Method == http.MethodConnect {
			p.seen = append(p.seen, "CONNECT "+r.Host)
		} else {
			p.seen = append(p.seen, r.Method+" "+r.URL.String())
		}
		p.mu.Unlock()
		if r.Method != http.MethodConnect {
			rp.ServeHTTP(w, r)
			return
		}
		upstream, err := net.Dial("tcp", registryHost)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer upstream.Close()
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n")
		go io.Copy(upstream, buf)
		io.Copy(conn, upstream)
	}))
	t.Cleanup(p.Close)
	return p
}

// plain returns the plain-HTTP requests the proxy forwarded.
func (p *forwardProxy) plain() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, s := range p.seen {
		if !strings.HasPrefix(s, "CONNECT ") {
			out = append(out, s)
		}
	}
	return out
}

func (p *forwardProxy) reset() {
	p.mu.Lock()
	p.seen = nil
	p.mu.Unlock()
}

// A plain-HTTP registry under a private address (10.0.0.0/8, which
// go-containerregistry would reach over plain HTTP on its own) or a
// hostname: ctl tries HTTPS only and says how to allow plain HTTP, until
// the registry is named with --insecure-registry (or is in a CIDR given
// there), and then only that one.
func TestPlainHTTPOnlyForInsecureRegistries(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	reg.PushRandomImage(t, "team/app:v1", 1, 256)
	proxy := newForwardProxy(t, reg.Host)
	u, _ := url.Parse(proxy.URL)
	e := testenv.NewEnv(t)
	e.Setenv("HTTP_PROXY", "http://"+u.Host)
	e.Setenv("HTTPS_PROXY", "http://"+u.Host)

	for _, host := range []string{"10.1.2.3:5000", "registry.example:5000"} {
		t.Run(host, func(t *testing.T) {
			proxy.reset()
			r := e.Run(t, "tags", "list", host+"/team/app")
			if r.Code != 1 || !strings.Contains(r.Stderr, host) || !strings.Contains(r.Stderr, "--insecure-registry") {
				t.Errorf("tags list on a plain-HTTP %s: exit %d, stderr %q; want exit 1 naming the host and --insecure-registry", host, r.Code, r.Stderr)
			}
			if got := proxy.plain(); len(got) > 0 {
				t.Errorf("plain-HTTP requests sent to %s without --insecure-registry: %q", host, got)
			}

			r = e.Run(t, "--insecure-registry", host, "tags", "list", host+"/team/app")
			if r.Code != 0 || r.Stdout != "v1\n" {
				t.Errorf("tags list with --insecure-registry %s: exit %d, stdout %q, stderr %q", host, r.Code, r.Stdout, r.Stderr)
			}
			if len(proxy.plain()) == 0 {
				t.Errorf("with --insecure-registry %s nothing went through the proxy over plain HTTP", host)
			}

			// Naming another registry insecure does not make this one so.
			proxy.reset()
			r = e.Run(t, "--insecure-registry", "other.example:5000", "tags", "list", host+"/team/app")
			if r.Code != 1 || len(proxy.plain()) > 0 {
				t.Errorf("--insecure-registry for another host: exit %d, plain requests %q", r.Code, proxy.plain())
			}
		})
	}

	// A CIDR (docker's daemon.json allows them) covers IP addresses inside
	// it, never host names.
	if r := e.Run(t, "--insecure-registry", "10.0.0.0/8", "tags", "list", "10.1.2.3:5000/team/app"); r.Code != 0 || r.Stdout != "v1\n" {
		t.Errorf("--insecure-registry 10.0.0.0/8 for 10.1.2.3:5000: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	proxy.reset()
	if r := e.Run(t, "--insecure-registry", "10.0.0.0/8", "tags", "list", "registry.example:5000/team/app"); r.Code != 1 || len(proxy.plain()) > 0 {
		t.Errorf("--insecure-registry 10.0.0.0/8 for a host name: exit %d, plain requests %q", r.Code, proxy.plain())
	}
}

// A registry listed insecure that serves HTTPS with a certificate ctl
// cannot verify (self-signed, no --ca-file) is used as docker uses it:
// over HTTPS, unverified. Listing is what allows it: without the flag the
// certificate is refused (loopback too: ctl only lets loopback use plain
// HTTP) with a hint naming both fixes, and listing one registry leaves
// every other verified. Credentials go to the listed registry over that
// HTTPS, as docker sends them.
func TestInsecureRegistryHTTPSUnverified(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{TLS: true})
	reg.PushRandomImage(t, "team/app:v1", 1, 256)
	auth := testenv.StartRegistry(t, testenv.RegistryOptions{HTPasswd: true})
	e := testenv.NewEnv(t)
	repo := reg.Host + "/team/app"

	r := e.Run(t, "tags", "list", repo)
	if r.Code != 1 || !strings.Contains(r.Stderr, "x509: certificate signed by unknown authority") ||
		!strings.Contains(r.Stderr, "--ca-file or to docker's certs.d/"+reg.Host+"/ca.crt") || !strings.Contains(r.Stderr, "--insecure-registry "+reg.Host+")") {
		t.Errorf("tags list on a self-signed registry not listed: exit %d, stderr %q; want exit 1 with the x509 error and both fixes, for its host", r.Code, r.Stderr)
	}

	r = e.Run(t, "-v", "--insecure-registry", reg.Host, "tags", "list", repo)
	if r.Code != 0 || r.Stdout != "v1\n" {
		t.Errorf("tags list with --insecure-registry: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if want := "< GET https://" + reg.Host + "/v2/team/app/tags/list 200"; !strings.Contains(r.Stderr, want) {
		t.Errorf("-v with --insecure-registry: no %q in %q", want, r.Stderr)
	}
	if r := e.Run(t, "--insecure-registry", reg.Host, "copy", repo+":v1", repo+":v2"); r.Code != 0 {
		t.Errorf("copy with --insecure-registry: exit %d, stderr %q", r.Code, r.Stderr)
	}

	// Another registry stays verified while this one is listed.
	r = e.Run(t, "--insecure-registry", reg.Host, "tags", "list", auth.Host+"/team/app")
	if r.Code != 1 || !strings.Contains(r.Stderr, "x509:") {
		t.Errorf("a registry not listed, beside one listed: exit %d, stderr %q; want the x509 error", r.Code, r.Stderr)
	}

	// ctl's config file lists it as the flag does; login checks and stores
	// the credentials over the unverified HTTPS.
	dir := filepath.Join(e.XDGConfig, "ctl")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := `{"insecure-registries": ["` + reg.Host + `", "` + auth.Host + `"]}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.Run(t, "tags", "list", repo); r.Code != 0 || r.Stdout != "v1\nv2\n" {
		t.Errorf("tags list with insecure-registries in config.json: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	var user, pass string
	for user, pass = range auth.Users {
	}
	if r := e.RunStdin(t, pass+"\n", "login", "-u", user, "--password-stdin", auth.Host); r.Code != 0 || !strings.Contains(r.Stdout, "Login Succeeded") {
		t.Errorf("login to a listed self-signed registry: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if r := e.Run(t, "copy", repo+":v1", auth.Host+"/team/app:v1"); r.Code != 0 {
		t.Errorf("copy to the listed registry with credentials: exit %d, stderr %q", r.Code, r.Stderr)
	}
}

// A server that answers a TLS handshake with a bare HTML page instead of
// an HTTP status line (Python's http.server does so for the request line it
// cannot read) speaks plain HTTP too: ctl says so and names the flag, as
// for "server gave HTTP response to HTTPS client".
func TestPlainTextAnswerToHTTPSHint(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			// As a plain HTTP server answers a request it cannot parse:
			// the ClientHello read first, so that closing with it unread
			// does not reset the connection before the page arrives.
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			conn.Read(make([]byte, 16<<10))
			io.WriteString(conn, "<!DOCTYPE HTML>\n<html><body><h1>Error response</h1><p>Error code: 400</p></body></html>\n")
			conn.Close()
		}
	}()
	proxy := newForwardProxy(t, ln.Addr().String())
	u, _ := url.Parse(proxy.URL)
	e := testenv.NewEnv(t)
	e.Setenv("HTTPS_PROXY", "http://"+u.Host)
	r := e.Run(t, "tags", "list", "registry.example:5000/team/app")
	// The error is the TLS handshake's, or (when the request beside the
	// ping comes second) the scheme memory's "speaks http, not https";
	// either way with the hint.
	if r.Code != 1 || !strings.Contains(r.Stderr, "first record does not look like a TLS handshake") && !strings.Contains(r.Stderr, "speaks http, not https") ||
		!strings.Contains(r.Stderr, "the registry speaks plain HTTP, not HTTPS: if the network to it is trusted, name it with --insecure-registry registry.example:5000)") {
		t.Errorf("tags list on a registry answering HTTPS with a bare page: exit %d, stderr %q; want exit 1 with the plain-HTTP hint", r.Code, r.Stderr)
	}
}
