package transport

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// tlsServer is an https server and the PEM file of its (self-signed)
// certificate.
func tlsServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	f := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, f
}

// tlsGet sends a GET to srv through a hostTransports with caFiles and
// certsDirs.
func tlsGet(t *testing.T, srv *httptest.Server, caFiles, certsDirs []string) error {
	t.Helper()
	ht, err := newHostTransports(caFiles, certsDirs, nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ht.RoundTrip(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func TestTLSTrustRules(t *testing.T) {
	t.Parallel()
	srv, caFile := tlsServer(t)
	host := mustHost(t, srv.URL)

	t.Run("system roots only: not trusted, roots left to Go", func(t *testing.T) {
		t.Parallel()
		cfg, err := tlsConfig(host, nil, []string{t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.RootCAs != nil {
			t.Errorf("RootCAs set without extra CAs: the system pool is loaded for nothing")
		}
		var unknown x509.UnknownAuthorityError
		if err := tlsGet(t, srv, nil, nil); !errors.As(err, &unknown) {
			t.Errorf("got %v, want an unknown authority error", err)
		}
	})
	t.Run("--ca-file", func(t *testing.T) {
		t.Parallel()
		if err := tlsGet(t, srv, []string{caFile}, nil); err != nil {
			t.Errorf("with --ca-file: %v", err)
		}
	})
	t.Run("certs.d CA", func(t *testing.T) {
		t.Parallel()
		b, _ := os.ReadFile(caFile)
		root := certsDir(t, host, map[string][]byte{"ca.crt": b})
		if err := tlsGet(t, srv, nil, []string{root}); err != nil {
			t.Errorf("with certs.d/%s/ca.crt: %v", host, err)
		}
		cfg, err := tlsConfig("other.example:5000", nil, []string{root})
		if err != nil || cfg.RootCAs != nil {
			t.Errorf("another host got the CA (err %v)", err)
		}
	})
	t.Run("certs.d client certificate without key", func(t *testing.T) {
		t.Parallel()
		b, _ := os.ReadFile(caFile)
		root := certsDir(t, host, map[string][]byte{"client.cert": b})
		if err := tlsGet(t, srv, nil, []string{root}); err == nil {
			t.Errorf("a .cert without its .key was accepted")
		}
	})
}

// A plain-HTTP request never waits for another scheme's or host's
// transport, and each scheme://host gets one transport.
func TestHostTransportsPerKey(t *testing.T) {
	t.Parallel()
	ht, err := newHostTransports(nil, nil, nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ht.get("https", "Reg.example:5000")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ht.get("https", "reg.example:5000")
	c, _ := ht.get("http", "reg.example:5000")
	if a != b || a == c || c.TLSClientConfig != nil {
		t.Errorf("transports: same key %v, other scheme distinct %v", a == b, a != c)
	}
	// Hold the https transport's construction: http still gets through.
	done := make(chan struct{})
	h := &hostTransport{}
	ht.mu.Lock()
	ht.hosts["https://slow.example"] = h
	ht.mu.Unlock()
	release := make(chan struct{})
	go h.once.Do(func() { <-release; h.t = &http.Transport{} })
	go func() {
		_, _ = ht.get("http", "slow.example")
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Errorf("http transport waited for the https one")
	}
	close(release)
}

func mustHost(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// A redirect to another port (blob storage, say) does not present the
// registry's certs.d client certificate: each host:port has its own TLS
// configuration.
func TestRedirectKeepsClientCertificate(t *testing.T) {
	t.Parallel()
	var regCerts, otherCerts atomic.Int32
	start := func(h http.HandlerFunc) *httptest.Server {
		s := httptest.NewUnstartedServer(h)
		s.TLS = &tls.Config{ClientAuth: tls.RequestClientCert}
		s.StartTLS()
		t.Cleanup(s.Close)
		return s
	}
	other := start(func(w http.ResponseWriter, r *http.Request) {
		otherCerts.Add(int32(len(r.TLS.PeerCertificates)))
	})
	reg := start(func(w http.ResponseWriter, r *http.Request) {
		regCerts.Add(int32(len(r.TLS.PeerCertificates)))
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: reg.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	client := testenv.NewCA(t).IssueClient(t, "ctl")
	root := certsDir(t, mustHost(t, reg.URL), map[string][]byte{"client.cert": client.CertPEM, "client.key": client.KeyPEM})
	rt, err := New(Options{CAFiles: []string{caFile}, CertsDirs: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: rt}).Get(reg.URL + "/v2/app/blobs/sha256:1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if regCerts.Load() == 0 {
		t.Fatal("the registry saw no client certificate")
	}
	if n := otherCerts.Load(); n != 0 {
		t.Errorf("the redirect target was shown %d client certificates", n)
	}
}

// certsDir makes a certs.d root holding files for host, docker's layout
// (ROOT/HOST[:PORT]/{ca.crt,client.cert,client.key}), and returns ROOT.
func certsDir(t *testing.T, host string, files map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, host)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// SkipVerify accepts the certificate of the hosts it names only: a
// registry listed insecure is reached over HTTPS with its self-signed
// certificate, and a host it redirects to, not listed, is still verified.
func TestSkipVerifyOnlyNamedHosts(t *testing.T) {
	t.Parallel()
	other, _ := tlsServer(t)
	reg := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, other.URL+"/v2/", http.StatusTemporaryRedirect)
		}
	}))
	t.Cleanup(reg.Close)
	regHost := mustHost(t, reg.URL)
	rt, err := New(Options{CertsDirs: []string{t.TempDir()}, SkipVerify: func(host string) bool { return host == regHost }})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: rt}
	resp, err := c.Get(reg.URL + "/v2/")
	if err != nil {
		t.Fatalf("the listed host, self-signed: %v", err)
	}
	resp.Body.Close()
	var unknown x509.UnknownAuthorityError
	if _, err := c.Get(other.URL + "/v2/"); !errors.As(err, &unknown) {
		t.Errorf("a host not listed: %v, want an unknown authority error", err)
	}
	if _, err := c.Get(reg.URL + "/redirect"); !errors.As(err, &unknown) {
		t.Errorf("redirected from the listed host to another: %v, want an unknown authority error", err)
	}
}
