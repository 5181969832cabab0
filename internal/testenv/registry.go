package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// RegistryOptions selects the flavour of registry StartRegistry runs.
type RegistryOptions struct {
	// DeleteEnabled turns on storage.delete.enabled; without it DELETE
	// answers 405 UNSUPPORTED.
	DeleteEnabled bool
	// HTPasswd enables htpasswd (basic) auth with Users. It implies TLS.
	HTPasswd bool
	// Token enables bearer-token auth against a TokenServer started for
	// the registry (Registry.Token). The registry stays plain HTTP unless
	// TLS is set too.
	Token bool
	// TLS serves HTTPS with a certificate from a CA generated for the test.
	TLS bool
	// ClientCA requires client certificates signed by the test CA (mTLS).
	// It implies TLS; Registry.ClientCertFile/ClientKeyFile hold one.
	ClientCA bool
	// TokenTTL is the lifetime of tokens for Token; default 5m.
	TokenTTL time.Duration
	// Users maps user names to passwords for HTPasswd and Token; default
	// {"alice": "s3cret"}.
	Users map[string]string
	// PublicRepos lists repository prefixes anonymous clients may pull
	// (Token only).
	PublicRepos []string
	// PullThrough makes the registry a pull-through cache (proxycache.go).
	PullThrough *PullThrough
}

// Registry is a running distribution v3 registry process.
type Registry struct {
	// Host is "127.0.0.1:PORT".
	Host string
	// URL is "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT".
	URL string
	// CACertFile holds the test CA in PEM form ("" without TLS).
	CACertFile string
	// CAPEM is the test CA in PEM form (nil without TLS).
	CAPEM []byte
	// CA is the test CA (nil without TLS or Token).
	CA *CA
	// ClientCertFile and ClientKeyFile are a client certificate and its
	// PKCS#8 key signed by the CA ("" without TLS).
	ClientCertFile, ClientKeyFile string
	// Token is the registry's token server (nil unless Token).
	Token *TokenServer
	// StorageDir is the filesystem storage root.
	StorageDir string
	// ConfigFile is the registry's configuration file.
	ConfigFile string
	// Users maps user names to passwords (HTPasswd and Token).
	Users map[string]string
	// Options are the options the registry was started with.
	Options RegistryOptions

	clientCert *IssuedCert
	cmd        *exec.Cmd
	log        *syncBuffer
	waitDone   chan struct{}
	stopOnce   sync.Once
}

// registryStartTimeout bounds how long StartRegistry waits for the process.
const registryStartTimeout = 60 * time.Second

// registrySecret is http.secret: fixed, so upload state survives restarts.
const registrySecret = "ctl-testenv-fixed-http-secret"

var listeningRE = regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)

// StartRegistry starts a registry on an ephemeral 127.0.0.1 port and waits
// until GET /v2/ answers. It stops when the test ends, and its log is
// printed if the test failed.
func StartRegistry(t testing.TB, o RegistryOptions) *Registry {
	t.Helper()
	bin := RegistryBinary(t)
	if o.HTPasswd || o.ClientCA {
		o.TLS = true
	}
	r := &Registry{
		StorageDir: t.TempDir(),
		Users:      defaultUsers(o.Users),
		Options:    o,
		log:        &syncBuffer{},
		waitDone:   make(chan struct{}),
	}
	dir := t.TempDir()

	httpCfg := map[string]any{
		"addr":   "127.0.0.1:0",
		"secret": registrySecret,
		"headers": map[string][]string{
			"X-Content-Type-Options": {"nosniff"},
		},
	}
	cfg := map[string]any{
		"version": "0.1",
		"log": map[string]any{
			"level":     "info",
			"formatter": "text",
			"accesslog": map[string]any{"disabled": false},
		},
		"storage": map[string]any{
			"filesystem": map[string]any{"rootdirectory": r.StorageDir},
			"delete":     map[string]any{"enabled": o.DeleteEnabled},
			"maintenance": map[string]any{
				"uploadpurging": map[string]any{"enabled": false},
			},
		},
		"http": httpCfg,
	}
	if o.TLS || o.Token {
		r.CA = NewCA(t)
	}
	if o.TLS {
		server := r.CA.IssueServer(t)
		client := r.CA.IssueClient(t, "ctl-testenv-client")
		r.clientCert = client
		r.CACertFile, r.CAPEM = r.CA.CertFile, r.CA.CertPEM
		r.ClientCertFile, r.ClientKeyFile = client.CertFile, client.KeyFile
		tlsCfg := map[string]any{
			"certificate": server.CertFile,
			"key":         server.KeyFile,
		}
		if o.ClientCA {
			tlsCfg["clientcas"] = []string{r.CA.CertFile}
		}
		httpCfg["tls"] = tlsCfg
	}
	auth := map[string]any{}
	if o.HTPasswd {
		htpasswd := filepath.Join(dir, "htpasswd")
		writeFile(t, htpasswd, htpasswdFile(t, r.Users))
		auth["htpasswd"] = map[string]any{"realm": "ctl-testenv", "path": htpasswd}
	}
	if o.Token {
		r.Token = NewTokenServer(t, TokenOptions{
			Users:       r.Users,
			PublicRepos: o.PublicRepos,
			TTL:         o.TokenTTL,
			CA:          r.CA,
		})
		auth["token"] = map[string]any{
			"realm":          r.Token.URL,
			"service":        r.Token.Service,
			"issuer":         r.Token.Issuer,
			"rootcertbundle": r.Token.RootCertFile,
		}
	}
	if len(auth) > 0 {
		cfg["auth"] = auth
	}
	if o.PullThrough != nil {
		cfg["proxy"] = o.PullThrough.config()
	}
	// JSON is YAML; distribution parses it with its YAML parser.
	cfgJSON, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	r.ConfigFile = filepath.Join(dir, "config.yml")
	writeFile(t, r.ConfigFile, cfgJSON)

	r.cmd = exec.Command(bin, "serve", r.ConfigFile)
	r.cmd.Dir = dir
	r.cmd.Env = []string{
		"HOME=" + dir,
		"PATH=" + os.Getenv("PATH"),
		"TMPDIR=" + dir,
		"OTEL_TRACES_EXPORTER=none",
		"OTEL_METRICS_EXPORTER=none",
		"OTEL_LOGS_EXPORTER=none",
		"OTEL_SDK_DISABLED=true",
	}
	r.cmd.Env = append(r.cmd.Env, o.PullThrough.env()...)
	r.launch(t)
	return r
}

// launch starts r.cmd, which must print "listening on 127.0.0.1:PORT",
// and waits until the registry answers GET /v2/ (over TLS when
// r.Options.TLS).
func (r *Registry) launch(t testing.TB) {
	t.Helper()
	setProcAttr(r.cmd)
	pr, pw := io.Pipe()
	r.cmd.Stdout = io.MultiWriter(r.log, pw)
	r.cmd.Stderr = r.cmd.Stdout
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("testenv: starting registry: %v", err)
	}
	go func() {
		_ = r.cmd.Wait()
		_ = pw.Close()
		close(r.waitDone)
	}()
	t.Cleanup(r.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("registry %s log:\n%s", r.Host, tail(r.Log(), 64<<10))
		}
	})

	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil && !found {
				found = true
				addr <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	deadline := time.NewTimer(registryStartTimeout)
	defer deadline.Stop()
	select {
	case r.Host = <-addr:
	case <-r.waitDone:
		t.Fatalf("testenv: registry exited during startup:\n%s", r.Log())
	case <-deadline.C:
		t.Fatalf("testenv: registry did not report its address within %v:\n%s", registryStartTimeout, r.Log())
	}
	if r.Options.TLS {
		r.URL = "https://" + r.Host
	} else {
		r.URL = "http://" + r.Host
	}
	r.waitReady(t, deadline.C)
}

// waitReady polls GET /v2/ until the registry answers with any HTTP status.
func (r *Registry) waitReady(t testing.TB, deadline <-chan time.Time) {
	t.Helper()
	client := r.Client()
	defer client.CloseIdleConnections()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL+"/v2/", nil)
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			cancel()
			return
		}
		cancel()
		select {
		case <-r.waitDone:
			t.Fatalf("testenv: registry exited during startup:\n%s", r.Log())
		case <-deadline:
			t.Fatalf("testenv: registry at %s not ready: %v\n%s", r.URL, err, r.Log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop kills the registry process and waits for it to exit. It is safe to
// call more than once; it also runs when the test ends.
func (r *Registry) Stop() {
	r.stopOnce.Do(func() {
		if r.cmd == nil || r.cmd.Process == nil {
			return
		}
		_ = r.cmd.Process.Kill()
		select {
		case <-r.waitDone:
		case <-time.After(30 * time.Second):
		}
	})
}

// Log returns what the registry has written so far to stdout and stderr
// (its log and access log), for failure messages.
func (r *Registry) Log() string { return r.log.String() }

// Ref returns a reference to repo (which may carry ":tag" or "@digest") on
// this registry, e.g. "127.0.0.1:PORT/repo:tag".
func (r *Registry) Ref(repo string) string { return r.Host + "/" + repo }

// User returns a user name and its password (the alphabetically first
// user), for registries with HTPasswd or Token.
func (r *Registry) User() (name, password string) {
	names := make([]string, 0, len(r.Users))
	for n := range r.Users {
		names = append(names, n)
	}
	sort.Strings(names)
	return names[0], r.Users[names[0]]
}

// TLSConfig returns a client TLS configuration trusting the test CA and,
// for ClientCA registries, presenting the client certificate. It is nil
// without TLS.
func (r *Registry) TLSConfig() *tls.Config {
	if r.CAPEM == nil {
		return nil
	}
	cfg := &tls.Config{RootCAs: r.CA.Pool(), MinVersion: tls.VersionTLS12}
	if r.Options.ClientCA && r.clientCert != nil {
		cfg.Certificates = []tls.Certificate{r.clientCert.TLSCertificate()}
	}
	return cfg
}

// Transport returns a new HTTP transport suited to the registry: TLS
// settings from TLSConfig, no proxy from the environment.
func (r *Registry) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = r.TLSConfig()
	return tr
}

// Client returns an HTTP client using Transport and a 30 s timeout.
func (r *Registry) Client() *http.Client {
	return &http.Client{Transport: r.Transport(), Timeout: 30 * time.Second}
}

func htpasswdFile(t testing.TB, users map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		// MinCost keeps tests fast; distribution accepts any bcrypt cost.
		h, err := bcrypt.GenerateFromPassword([]byte(users[n]), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("testenv: bcrypt: %v", err)
		}
		fmt.Fprintf(&b, "%s:%s\n", n, h)
	}
	return b.Bytes()
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return "...\n" + s
}
