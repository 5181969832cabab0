package cmd

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ctl-dev/ctl/pkg/engine"
	"github.com/ctl-dev/ctl/pkg/golden"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/ctl-dev/ctl/pkg/transfer"
)

// marked is an error of text that is kind, as pkg/registry marks one.
type marked struct {
	text string
	kind error
}

func (m marked) Error() string   { return m.text }
func (m marked) Unwrap() []error { return []error{m.kind} }

// TestErrorTextHints: pkg/ reports failures without ctl's flags; the
// message ctl prints names the flag that fixes them, once, where pkg/
// reported the failure.
func TestErrorTextHints(t *testing.T) {
	t.Parallel()
	untrusted := marked{`Get "https://reg.example/v2/": x509: certificate signed by unknown authority`, registry.ErrUntrusted}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"untrusted certificate, classified twice",
			fmt.Errorf("listing: %w", fmt.Errorf("%w", untrusted)),
			`listing: Get "https://reg.example/v2/": x509: certificate signed by unknown authority (the registry's certificate is not trusted: add its CA with --ca-file or to docker's certs.d/HOST[:PORT]/ca.crt; or, to use it unverified, name it with --insecure-registry HOST[:PORT])`},
		{"plain HTTP answer",
			marked{"Get: http: server gave HTTP response to HTTPS client", registry.ErrNotTLS},
			"Get: http: server gave HTTP response to HTTPS client (the registry speaks plain HTTP, not HTTPS: if the network to it is trusted, name it with --insecure-registry HOST[:PORT])"},
		{"plain HTTP answer to a request: its host named",
			fmt.Errorf("listing: %w", &url.Error{Op: "Get", URL: "https://10.0.0.1:5000/v2/", Err: marked{"http: server gave HTTP response to HTTPS client", registry.ErrNotTLS}}),
			`listing: Get "https://10.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client (the registry speaks plain HTTP, not HTTPS: if the network to it is trusted, name it with --insecure-registry 10.0.0.1:5000)`},
		{"untrusted certificate of a request: its host named",
			&url.Error{Op: "Get", URL: "https://reg.example/v2/", Err: marked{"x509: certificate signed by unknown authority", registry.ErrUntrusted}},
			`Get "https://reg.example/v2/": x509: certificate signed by unknown authority (the registry's certificate is not trusted: add its CA with --ca-file or to docker's certs.d/reg.example/ca.crt; or, to use it unverified, name it with --insecure-registry reg.example)`},
		{"plain HTTP refused",
			fmt.Errorf(`Get "http://10.0.0.1:5000/v2/": %w; Get "https://10.0.0.1:5000/v2/": refused`, &transport.PlainHTTPError{Host: "10.0.0.1:5000"}),
			`Get "http://10.0.0.1:5000/v2/": plain HTTP refused to 10.0.0.1:5000: only localhost, 127.0.0.0/8, ::1 and registries given with --insecure-registry are reached without TLS; Get "https://10.0.0.1:5000/v2/": refused`},
		{"shared manifest",
			fmt.Errorf("deleting: %w: %w", &registry.SharedManifestError{Host: "reg", Tag: "reg/app:v1", Digest: "sha256:1", Others: []string{"v2", "v3"}}, registry.ErrSharedManifest),
			"deleting: reg cannot delete a tag alone, and deleting reg/app:v1 by digest sha256:1 would also remove v2, v3 (use --force to delete them all): manifest has other tags"},
		{"other repository",
			fmt.Errorf("tagging a as b: %w", registry.ErrOtherRepository),
			"tagging a as b: source and target must be in the same repository (copy it there first: ctl copy)"},
		{"image without platform",
			&store.PlatformError{First: "app:bare"},
			"app:bare has no platform in its config: give it with --platform app:bare=OS/ARCH[/VARIANT]"},
		{"image of an index without platform",
			&store.PlatformError{First: "reg/app:v1@sha256:1", Index: "reg/app:v1"},
			"reg/app:v1@sha256:1 has no platform in its config, nor in reg/app:v1's entry: name it as a SOURCE of its own instead of reg/app:v1, with --platform reg/app:v1@sha256:1=OS/ARCH[/VARIANT]"},
		{"no home for the store",
			&store.DirError{Err: errors.New("$HOME is not defined")},
			"locating the image store: $HOME is not defined (set CTL_STORE or use --store)"},
		{"read-only store",
			fmt.Errorf("tagging: %w", &store.DirError{Dir: "/ro", Err: errors.New("permission denied")}),
			"tagging: locking the image store: permission denied (is /ro writable? choose another with --store)"},
		{"bad prefix",
			&golden.PrefixError{Prefix: "Golden/App", Err: reference.ErrInvalid},
			fmt.Sprintf("--allow %q: %v", "Golden/App", reference.ErrInvalid)},
		{"empty prefix",
			&golden.PrefixError{Err: reference.ErrInvalid},
			reference.ErrInvalid.Error() + ": empty --allow prefix"},
		{"engine image by digest",
			fmt.Errorf("%w: %w", store.ErrInvalidInput, &transfer.EngineTagError{Ref: "app@sha256:1"}),
			store.ErrInvalidInput.Error() + ": app@sha256:1: push --from-engine takes a tag (the engine's images are named by tag)"},
		{"no hint", errors.New("boom"), "boom"},
	} {
		if got := errorText(tc.err); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	if got := reasonText(golden.ReasonPinned); !strings.HasSuffix(got, "(--update re-resolves)") {
		t.Errorf("reasonText(ReasonPinned) = %q", got)
	}
}

func TestExitCodeMapping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error  // what a command returned
		code int    // exit code
		hint string // hint line
	}{
		{errors.New("boom"), exitFailure, ""},
		{fmt.Errorf("pulling: %w", store.ErrNotFound), exitNotFound, ""},
		{fmt.Errorf("reading x: %w", store.ErrInvalidInput), exitUsage, ""},
		{fmt.Errorf("get: %w", registry.ErrNotFound), exitNotFound, ""},
		{fmt.Errorf("push: %w", &registry.AuthError{Host: "reg.example:5000", Err: errors.New("denied")}), exitAuth, "run: ctl login reg.example:5000"},
		// Docker Hub is ctl login's default: docker's hint names no host.
		{fmt.Errorf("pull: %w", &registry.AuthError{Host: registry.DockerHub, Err: errors.New("denied")}), exitAuth, "run: ctl login docker.io"},
		{fmt.Errorf("delete: %w", registry.ErrDeleteDisabled), exitFailure, ""},
	} {
		code, hint := exitCode(tc.err)
		if code != tc.code || hint != tc.hint {
			t.Errorf("exitCode(%v) = %d, %q; want %d, %q", tc.err, code, hint, tc.code, tc.hint)
		}
	}
}

// TestEscapeControl: server text prints on one line, every control
// character escaped, newline and tab included.
func TestEscapeControl(t *testing.T) {
	t.Parallel()
	if got, want := escapeControl("tag\x1b[31mred\x07\nnext\tok\r"), `tag\x1b[31mred\a\nnext\tok\r`; got != want {
		t.Errorf("escapeControl = %q, want %q", got, want)
	}
	// A bidi override, a zero-width space and a line separator would
	// reorder or hide what is printed.
	if got, want := escapeControl("v1\u202e2v\u200b\u2028x é"), `v1\u202e2v\u200b\u2028x é`; got != want {
		t.Errorf("escapeControl = %q, want %q", got, want)
	}
}

// TestMessageLines: an error prints line by line, each escaped and cut to
// maxMessageLine bytes.
func TestMessageLines(t *testing.T) {
	t.Parallel()
	huge := "token realm \"" + strings.Repeat("é", 2<<20) + "\""
	got := messageLines("first\x1b[0m\n" + huge)
	if len(got) != 2 || got[0] != `first\x1b[0m` {
		t.Fatalf("lines %q", got[:1])
	}
	if len(got[1]) > maxMessageLine+64 || !strings.HasSuffix(got[1], " more bytes)") || !utf8.ValidString(got[1]) {
		t.Fatalf("second line: %d bytes, ends %q", len(got[1]), got[1][len(got[1])-40:])
	}
	// Another program's stderr quoted at the end: no empty last line.
	if got := messageLines("ssh failed: stderr=ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n"); len(got) != 1 || !strings.HasSuffix(got[0], "Connection refused") {
		t.Errorf("lines %q, want one ending with the refusal", got)
	}
}

func TestAuthErrorHint(t *testing.T) {
	t.Parallel()
	code, hint := exitCode(fmt.Errorf("pushing: %w", &registry.AuthError{Host: "reg.example", Err: errors.New("UNAUTHORIZED")}))
	if code != exitAuth || hint != "run: ctl login reg.example" {
		t.Errorf("exit %d, hint %q", code, hint)
	}
}

func TestEngineExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error  // what a command returned
		code int    // exit code
		hint string // start of the hint line
	}{
		{fmt.Errorf("%w: app:v1", engine.ErrNotFound), exitNotFound, ""},
		{fmt.Errorf("%w at unix:///var/run/docker.sock (docker's default): refused", engine.ErrUnreachable), exitFailure, "point DOCKER_HOST at"},
		{fmt.Errorf("%w: broke off", engine.ErrEngine), exitFailure, ""},
		// An engine's archive the store refuses is the engine's failure,
		// even should the store's sentinel come along.
		{fmt.Errorf("%w: %w", engine.ErrEngine, store.ErrInvalidInput), exitFailure, ""},
		{errors.Join(engine.ErrNotFound, engine.ErrEngine), exitNotFound, ""},
	} {
		code, hint := exitCode(tc.err)
		if code != tc.code || !strings.HasPrefix(hint, tc.hint) || (tc.hint == "") != (hint == "") {
			t.Errorf("exitCode(%v) = %d %q, want %d %q", tc.err, code, hint, tc.code, tc.hint)
		}
	}
}

// TestTagNotFoundHint: a registry's "not found" for a tag says how to see
// the repository's tags; one for a digest has no such hint.
func TestTagNotFoundHint(t *testing.T) {
	t.Parallel()
	host, _, _ := registryFixture(t, "v1")
	for _, tc := range []struct {
		args []string
		hint string
	}{
		{[]string{"digest", host + "/app:v2"}, "run: ctl tags list " + host + "/app (to see the tags it has)\n"},
		{[]string{"manifest", "get", host + "/app:v2"}, "run: ctl tags list " + host + "/app (to see the tags it has)\n"},
		{[]string{"digest", host + "/app@sha256:" + strings.Repeat("0", 64)}, ""},
	} {
		_, errOut, code := run(t, append([]string{"--store", t.TempDir()}, tc.args...)...)
		lines := strings.SplitAfter(errOut, "\n")
		if code != exitNotFound || !strings.HasPrefix(errOut, "Error: ") || (tc.hint == "") != (len(lines) == 2) || tc.hint != "" && lines[1] != tc.hint {
			t.Errorf("%q: exit %d, stderr %q; want exit 3 and hint %q", tc.args, code, errOut, tc.hint)
		}
	}
}
