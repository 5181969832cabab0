package registry

import (
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

	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

func TestSchemeGuard(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c, err := New(WithInsecure("reg.example:5000", "192.168.0.0/16", "fd00::/8", "http://lab.example:5000", "HTTPS://lab2.example/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host       string // a registry host
		plain      bool   // whether plain HTTP is allowed
		unverified bool   // whether its certificate goes unverified
	}{
		{"localhost:5000", true, false},
		{"127.0.0.1:5000", true, false},
		{"127.9.9.9", true, false},
		{"[::1]:5000", true, false},
		{"reg.example:5000", true, true},
		{"REG.example:5000", true, true},
		{"reg.example:5001", false, false},
		{"reg.example", false, false},
		{"10.0.0.1:5000", false, false},
		{"192.168.1.1", true, true},
		{"192.168.1.1:5000", true, true},
		{"[fd00::1]:5000", true, true},
		{"[fe80::1]:5000", false, false},
		{"192.169.0.1:5000", false, false},
		{"192.168.1.1.nip.io:5000", false, false},
		{"172.16.0.1:5000", false, false},
		{"printer.local", false, false},
		{"localhost.evil.example", false, false},
		{"lab.example:5000", true, true}, // listed as http://lab.example:5000, as daemon.json may
		{"lab2.example", true, true},
		{"lab.example", false, false},
	} {
		if got := c.PlainHTTP(tc.host); got != tc.plain {
			t.Errorf("PlainHTTP(%q) = %v, want %v", tc.host, got, tc.plain)
		}
		if got := c.http.SkipVerify(tc.host); got != tc.unverified {
			t.Errorf("SkipVerify(%q) = %v, want %v", tc.host, got, tc.unverified)
		}
	}
	// The transport refuses plain HTTP to a private address even though
	// go-containerregistry would try it.
	req, _ := http.NewRequest("GET", "http://10.0.0.1:5000/v2/", nil)
	if _, err := c.transport.RoundTrip(req); !errors.Is(err, ctltransport.ErrPlainHTTP) {
		t.Errorf("plain HTTP to 10.0.0.1: err = %v, want ctltransport.ErrPlainHTTP", err)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/v2/", nil)
	resp, err := c.transport.RoundTrip(req)
	if err != nil {
		t.Fatalf("plain HTTP to loopback: %v", err)
	}
	resp.Body.Close()
}

func TestOptionConflicts(t *testing.T) {
	t.Parallel()
	if _, err := New(WithTransport(http.DefaultTransport), WithCAFiles("x.pem")); err == nil {
		t.Error("WithTransport with WithCAFiles: no error")
	}
	if _, err := New(WithCAFiles("/nonexistent/ca.pem")); err == nil {
		t.Error("missing CA file: no error")
	}
	if _, err := New(WithInsecure("http://x/v2/")); err == nil {
		t.Error("insecure URL with a path: no error")
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

// An untrusted certificate and a plain-HTTP answer to HTTPS are marked
// (ErrUntrusted, ErrNotTLS: cmd names the fix) once, however often an
// error is classified on its way up, with the cause still reachable.
func TestClassifyMarksOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cause error
		kind  error
	}{
		{x509.UnknownAuthorityError{}, ErrUntrusted},
		{http.ErrSchemeMismatch, ErrNotTLS},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake", RecordHeader: [5]byte{'<', '!', 'D', 'O', 'C'}}, ErrNotTLS},
	} {
		inner := &url.Error{Op: "Get", URL: "https://reg.example/v2/", Err: tc.cause}
		once := classify("reg.example", inner)
		err := classify("reg.example", fmt.Errorf("listing: %w", once))
		if !errors.Is(err, tc.kind) || err.Error() != "listing: "+once.Error() {
			t.Errorf("%v: %q, want %v marked once", tc.cause, err, tc.kind)
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

// TestClassifyRefusedPlainly: a 401 or 403 reads as the registry's words,
// without go-containerregistry's "use GET for details" or a Go map dump.
func TestClassifyRefusedPlainly(t *testing.T) {
	t.Parallel()
	head, _ := http.NewRequest(http.MethodHead, "http://reg.example/v2/gallery/ui/manifests/v1", nil)
	get, _ := http.NewRequest(http.MethodGet, "http://reg.example/v2/gallery/ui/tags/list", nil)
	for _, tc := range []struct {
		te   *transport.Error
		want string
	}{
		{&transport.Error{StatusCode: http.StatusUnauthorized, Request: head},
			"pulling: HEAD http://reg.example/v2/gallery/ui/manifests/v1: 401 Unauthorized: access denied by reg.example"},
		{&transport.Error{StatusCode: http.StatusUnauthorized, Request: get, Errors: []transport.Diagnostic{{
			Code: transport.UnauthorizedErrorCode, Message: "authentication required",
			Detail: []any{map[string]any{"Type": "repository", "Name": "gallery/ui", "Action": "pull"}}}}},
			"pulling: GET http://reg.example/v2/gallery/ui/tags/list: UNAUTHORIZED: authentication required: access denied by reg.example"},
	} {
		err := classify("reg.example", fmt.Errorf("pulling: %w", tc.te))
		if err.Error() != tc.want || !errors.Is(err, ErrUnauthorized) || !errors.As(err, new(*transport.Error)) {
			t.Errorf("%q, want %q", err, tc.want)
		}
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
	if err := (&ctltransport.RetryError{Host: "index.docker.io", Attempts: 3, Err: errors.New("503")}); !strings.HasPrefix(err.Error(), "giving up on docker.io ") {
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

var hex64 = strings.Repeat("ab", 32)

// TestRedirectTargetRefusing: blob storage the registry redirects to
// refusing the download (an expired presigned URL) is no refusal of the
// credentials: it names both hosts, and is no ErrUnauthorized (which would
// say "run: ctl login REGISTRY", to no avail).
func TestRedirectTargetRefusing(t *testing.T) {
	t.Parallel()
	storage := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
	})
	reg, c, ref, _ := seeded(t, 1024, 1)
	reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		http.Redirect(w, r, storage.URL+"/bucket/blob?X-Amz-Expires=1", http.StatusTemporaryRedirect)
		return true
	}
	_, err := c.Pull(context.Background(), ref, newMemSink(), PullOptions{})
	if err == nil || errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), reg.host()+" redirected the request to "+hostOf(storage)+", which refused it") {
		t.Errorf("pull redirected to storage answering 403: %v; want a failure naming both hosts, not ErrUnauthorized", err)
	}
	// The registry's own refusal stays one.
	reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		w.WriteHeader(http.StatusForbidden)
		return true
	}
	if _, err := c.Pull(context.Background(), ref, newMemSink(), PullOptions{}); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("the registry's own 403: %v; want ErrUnauthorized", err)
	}
}
