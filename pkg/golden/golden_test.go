package golden

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/dockerfile"
	"github.com/ctl-dev/ctl/pkg/reference"
)

func TestAllowlist(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix string
		image  string
		want   bool
	}{
		{"golden/", "golden/aspnet-core:3.0", true},
		{"golden/", "docker.io/golden/aspnet-core:3.0", true},
		{"docker.io/golden/", "golden/aspnet-core:3.0", true},
		{"index.docker.io/golden/", "golden/aspnet-core:3.0", true},
		{"golden/", "golden", false},                         // library/golden is not under golden/
		{"golden/", "goldenx/app:1", false},                  // component boundary
		{"golden/", "registry.local:5000/golden/a:1", false}, // another registry
		{"registry.local:5000/golden/", "registry.local:5000/golden/a/b:1", true},
		{"registry.local:5000/golden/", "registry.local:5000/gold/a:1", false},
		{"REGISTRY.local:5000/golden/", "registry.local:5000/golden/a:1", true},
		{"registry.local:5000/", "registry.local:5000/anything:1", true},
		{"registry.local:5000/", "registry.local:5001/anything:1", false},
		{"docker.io/", "nginx", true},
		{"golden/aspnet-core", "golden/aspnet-core:3.0", true},
		{"golden/aspnet-core", "golden/aspnet-core/sub:3.0", true},
		{"golden/aspnet-core", "golden/aspnet-core-preview:3.0", false},
		{"golden/aspnet-core:3.0", "golden/aspnet-core:3.0@sha256:" + strings.Repeat("a", 64), true},
		{"golden/aspnet-core:3.0", "golden/aspnet-core:3.1", false},
		{"golden/aspnet-core@sha256:" + strings.Repeat("a", 64), "golden/aspnet-core@sha256:" + strings.Repeat("a", 64), true},
		{"golden/aspnet-core@sha256:" + strings.Repeat("a", 64), "golden/aspnet-core:3.0", false},
		{"nginx", "docker.io/library/nginx:1.25", true},
		{"nginx", "nginx-unprivileged:1", false},
		{"library/", "nginx:1.25", true}, // official images
		{"docker.io/library/", "docker.io/library/alpine", true},
		{"library/", "golden/a:1", false},
	}
	for _, tt := range tests {
		a, err := ParseAllowlist([]string{tt.prefix})
		if err != nil {
			t.Fatalf("ParseAllowlist(%q): %v", tt.prefix, err)
		}
		r, err := reference.Parse(tt.image)
		if err != nil {
			t.Fatal(err)
		}
		if _, got := a.Allows(r); got != tt.want {
			t.Errorf("--allow %s, FROM %s: allowed = %v, want %v", tt.prefix, tt.image, got, tt.want)
		}
	}
	for _, bad := range []string{"", "golden//", "golden/:x", "gold en/", "golden/App"} {
		if _, err := ParseAllowlist([]string{bad}); !errors.Is(err, reference.ErrInvalid) {
			t.Errorf("ParseAllowlist(%q) error = %v, want reference.ErrInvalid", bad, err)
		}
	}
}

const pinned = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestCheck(t *testing.T) {
	t.Parallel()
	allow, err := ParseAllowlist([]string{"golden/", "registry.local:5000/golden/"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		src    string
		pinned bool   // --require-pinned
		noAllw bool   // no --allow
		want   string // findings as "LINE problem", "; "-separated
	}{
		{
			name: "approved bases, stages and scratch are clean",
			src: `# syntax=docker/dockerfile:1
FROM golden/golang:1.22 AS build
FROM build AS test
FROM docker.io/golden/aspnet-core:3.0
FROM registry.local:5000/golden/static:1 AS final
FROM scratch
`,
		},
		{
			name: "unapproved bases are reported with their lines",
			src:  "FROM golden/golang:1.22 AS build\nRUN x\nFROM nginx:1.25\nFROM registry.local:5000/other/x:1\n",
			want: "3 unapproved; 4 unapproved",
		},
		{
			name: "ARG defaults decide the base",
			src:  "ARG BASE=nginx\nARG TAG=1\nFROM ${BASE}:${TAG:-2}\nFROM ${GOLDEN:-golden/a}:1\n",
			want: "3 unapproved",
		},
		{
			name:   "require pinned: a digest pins, whatever the tag (what pin writes)",
			src:    "FROM golden/a:latest" + pinned + "\nFROM golden/b" + pinned + "\nFROM golden/c:1\nFROM golden/d:1" + pinned + "\nFROM golden/e\nFROM golden/f:latest\n",
			pinned: true,
			want:   "3 unpinned; 5 unpinned; 6 unpinned",
		},
		{
			name:   "pinning alone, with no allow list",
			src:    "FROM nginx:1.25" + pinned + "\nFROM alpine\n",
			pinned: true, noAllw: true,
			want: "2 unpinned",
		},
		{
			name:   "both problems on one line",
			src:    "FROM \\\n  nginx \\\n  AS web\n",
			pinned: true,
			want:   "1 unapproved; 1 unpinned",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := CheckOptions{Allow: allow, RequirePinned: tt.pinned}
			if tt.noAllw {
				opts.Allow = nil
			}
			fs, err := Check("Dockerfile", []byte(tt.src), opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				got = append(got, fmt.Sprintf("%d %s", f.Line, f.Problem))
				if !strings.HasPrefix(f.String(), fmt.Sprintf("Dockerfile:%d: base image ", f.Line)) {
					t.Errorf("report line %q", f.String())
				}
			}
			if g := strings.Join(got, "; "); g != tt.want {
				t.Errorf("findings = %q, want %q", g, tt.want)
			}
		})
	}
}

func TestCheckMessages(t *testing.T) {
	t.Parallel()
	allow, _ := ParseAllowlist([]string{"golden/"})
	fs, err := Check("app/Dockerfile", []byte("FROM nginx:latest\n"), CheckOptions{Allow: allow, RequirePinned: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`app/Dockerfile:1: base image nginx:latest is not approved (allowed: golden/)`,
		`app/Dockerfile:1: base image nginx:latest is not pinned: tag "latest", no digest`,
	}
	if len(fs) != 2 || fs[0].String() != want[0] || fs[1].String() != want[1] {
		t.Errorf("findings = %q", fs)
	}
	if fs[0].Reference != "docker.io/library/nginx:latest" {
		t.Errorf("reference = %q", fs[0].Reference)
	}
}

func TestCheckErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src      string
		sentinel error
		want     string
	}{
		{"FROM Nginx:1\n", reference.ErrInvalid, "Dockerfile:1: invalid reference"},
		{"\n\nFROM a b\n", dockerfile.ErrSyntax, "Dockerfile: dockerfile syntax error: line 3"},
		{"ARG X\nFROM $X:1\n", reference.ErrInvalid, "Dockerfile:2:"},
	}
	for _, tt := range tests {
		_, err := Check("Dockerfile", []byte(tt.src), CheckOptions{RequirePinned: true})
		if !errors.Is(err, tt.sentinel) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Check(%q) error = %v, want %v containing %q", tt.src, err, tt.sentinel, tt.want)
		}
	}
}

// fakeResolver answers from a map of canonical reference -> digest and
// counts its calls.
type fakeResolver struct {
	digests map[string]string
	calls   []string
}

func (f *fakeResolver) Digest(_ context.Context, r reference.Reference) (string, error) {
	f.calls = append(f.calls, r.Canonical())
	d, ok := f.digests[r.Canonical()]
	if !ok {
		return "", fmt.Errorf("%s: not found", r.Canonical())
	}
	return d, nil
}

func TestPin(t *testing.T) {
	t.Parallel()
	dA := "sha256:" + strings.Repeat("a", 64)
	dB := "sha256:" + strings.Repeat("b", 64)
	res := map[string]string{
		"docker.io/golden/golang:1.22":                  dA,
		"docker.io/library/alpine:latest":               dB,
		"registry.local:5000/golden/static:1":           dA,
		"docker.io/golden/aspnet-core:3.0":              dB,
		"mcr.microsoft.com/windows/servercore:ltsc2022": dA,
	}
	tests := []struct {
		name   string
		src    string
		update bool
		want   string // the rewritten file
		calls  int    // registry lookups
	}{
		{
			name: "every base pinned, formatting and comments kept",
			src: "# syntax=docker/dockerfile:1\n\n# build stage\nfrom  --platform=$BUILDPLATFORM   golden/golang:1.22   as build\nRUN go build   # not touched\n" +
				"FROM build AS test\nFROM alpine\nFROM scratch\nFROM registry.local:5000/golden/static:1 \\\n    AS final\n",
			want: "# syntax=docker/dockerfile:1\n\n# build stage\nfrom  --platform=$BUILDPLATFORM   golden/golang:1.22@" + dA + "   as build\nRUN go build   # not touched\n" +
				"FROM build AS test\nFROM alpine:latest@" + dB + "\nFROM scratch\nFROM registry.local:5000/golden/static:1@" + dA + " \\\n    AS final\n",
			calls: 3,
		},
		{
			name:  "already pinned bases are kept without --update",
			src:   "FROM golden/aspnet-core:3.0@" + dA + "\nFROM alpine@" + dA + "\n",
			want:  "FROM golden/aspnet-core:3.0@" + dA + "\nFROM alpine@" + dA + "\n",
			calls: 0,
		},
		{
			name:   "--update re-resolves the tag",
			src:    "FROM golden/aspnet-core:3.0@" + dA + "\r\nFROM alpine@" + dA + "\r\n",
			update: true,
			want:   "FROM golden/aspnet-core:3.0@" + dB + "\r\nFROM alpine@" + dA + "\r\n",
			calls:  1,
		},
		{
			name:  "bases written with build arguments are kept",
			src:   "ARG TAG=1.22\nFROM golden/golang:${TAG}\nFROM golden/aspnet-core:3.0",
			want:  "ARG TAG=1.22\nFROM golden/golang:${TAG}\nFROM golden/aspnet-core:3.0@" + dB,
			calls: 1,
		},
		{
			name:  "a FROM that is one ARG pins the ARG default, once",
			src:   "# base\nARG  BASE=golden/aspnet-core:3.0   TAG=1.22\nFROM ${BASE} AS a\nFROM $BASE\nFROM golden/golang:$TAG\n",
			want:  "# base\nARG  BASE=golden/aspnet-core:3.0@" + dB + "   TAG=1.22\nFROM ${BASE} AS a\nFROM $BASE\nFROM golden/golang:$TAG\n",
			calls: 1,
		},
		{
			name:  "escape directive",
			src:   "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022 `\n  AS base\n",
			want:  "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022@" + dA + " `\n  AS base\n",
			calls: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fr := &fakeResolver{digests: res}
			out, _, err := Pin(context.Background(), "Dockerfile", []byte(tt.src), fr, PinOptions{Update: tt.update})
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want {
				t.Errorf("pinned:\n%s\nwant:\n%s", out, tt.want)
			}
			if len(fr.calls) != tt.calls {
				t.Errorf("resolver calls = %q, want %d", fr.calls, tt.calls)
			}
			// Idempotent: pinning the output again changes nothing.
			again, changes, err := Pin(context.Background(), "Dockerfile", out, fr, PinOptions{Update: tt.update})
			if err != nil || string(again) != string(out) {
				t.Errorf("second pin changed the file (%v):\n%s", err, again)
			}
			for _, c := range changes {
				if c.Action == PinPinned {
					t.Errorf("second pin: %+v", c)
				}
			}
		})
	}
}

func TestPinArgOverridden(t *testing.T) {
	t.Parallel()
	src := "ARG BASE=golden/aspnet-core:3.0\nFROM ${BASE}\n"
	fr := &fakeResolver{}
	out, changes, err := Pin(context.Background(), "Dockerfile", []byte(src), fr, PinOptions{BuildArgs: map[string]string{"BASE": "golden/x:1"}})
	if err != nil || string(out) != src || len(changes) != 1 || changes[0].Action != PinKept || len(fr.calls) != 0 {
		t.Errorf("overridden ARG: %v %q %+v", err, out, changes)
	}
}

// TestPinResolveError: a base that cannot be resolved is reported and left
// as it is; the others are still pinned.
func TestPinResolveError(t *testing.T) {
	t.Parallel()
	dA := "sha256:" + strings.Repeat("a", 64)
	out, changes, err := Pin(context.Background(), "Dockerfile", []byte("FROM golden/missing:1\nFROM a\n"),
		&fakeResolver{digests: map[string]string{"docker.io/library/a:latest": dA}}, PinOptions{})
	if err != nil || string(out) != "FROM golden/missing:1\nFROM a:latest@"+dA+"\n" {
		t.Fatalf("pin: %v\n%s", err, out)
	}
	if len(changes) != 2 || changes[0].Action != PinFailed || changes[0].Err == nil ||
		!strings.HasPrefix(changes[0].Reason, "docker.io/golden/missing:1: not found") || changes[1].Action != PinPinned {
		t.Errorf("changes %+v", changes)
	}
}

// TestPinArgRegistry: a FROM whose registry is a build argument gets the
// digest resolved with the ARG default, the variable kept; changes come in
// line order, the ARG's line first.
func TestPinArgRegistry(t *testing.T) {
	t.Parallel()
	dA := "sha256:" + strings.Repeat("a", 64)
	dB := "sha256:" + strings.Repeat("b", 64)
	fr := &fakeResolver{digests: map[string]string{
		"registry.local:5000/golden/sdk:3.0":    dA,
		"registry.local:5000/golden/app:latest": dB,
	}}
	src := "ARG REG=registry.local:5000 TAG=3.0\nFROM $REG/golden/sdk:3.0 AS build\nFROM ${REG}/golden/app\nFROM $REG/golden/sdk:$TAG\n"
	// The last one's tag is a variable: kept.
	want := "ARG REG=registry.local:5000 TAG=3.0\nFROM $REG/golden/sdk:3.0@" + dA + " AS build\nFROM ${REG}/golden/app:latest@" + dB + "\nFROM $REG/golden/sdk:$TAG\n"
	out, changes, err := Pin(context.Background(), "Dockerfile", []byte(src), fr, PinOptions{})
	if err != nil || string(out) != want {
		t.Fatalf("pin: %v\n%s\nwant:\n%s", err, out, want)
	}
	var lines []int
	for _, c := range changes {
		lines = append(lines, c.Line)
	}
	if !slices.IsSorted(lines) {
		t.Errorf("changes out of line order: %v", lines)
	}
	// What pin writes, check --require-pinned accepts.
	fs, err := Check("Dockerfile", out, CheckOptions{RequirePinned: true})
	if err != nil || len(fs) != 1 || fs[0].Line != 4 || changes[3-1].Action != PinKept {
		t.Errorf("check of the pinned file: %v %+v, want only the FROM with a variable tag (kept: %+v)", err, fs, changes)
	}
	// Pinned through a global ARG: the ARG's line is reported first.
	src = "FROM golden/sdk:3.0\nFROM $B\n"
	src = "ARG B=registry.local:5000/golden/app\n" + src
	fr.digests["docker.io/golden/sdk:3.0"] = dA
	_, changes, _ = Pin(context.Background(), "Dockerfile", []byte(src), fr, PinOptions{})
	if len(changes) != 2 || changes[0].Line != 1 || changes[1].Line != 2 {
		t.Errorf("changes %+v, want line 1 (the ARG) then 2", changes)
	}
}

func TestUnifiedDiff(t *testing.T) {
	t.Parallel()
	a := "1\n2\n3\n4\nFROM a\n6\n7\n8\n9\n10\n11\n12\n13\nFROM b\n"
	b := "1\n2\n3\n4\nFROM a@x\n6\n7\n8\n9\n10\n11\n12\n13\nFROM b@y\n"
	want := `--- Dockerfile
+++ Dockerfile
@@ -2,7 +2,7 @@
 2
 3
 4
-FROM a
+FROM a@x
 6
 7
 8
@@ -11,4 +11,4 @@
 11
 12
 13
-FROM b
+FROM b@y
`
	if got := UnifiedDiff("Dockerfile", []byte(a), []byte(b)); got != want {
		t.Errorf("diff:\n%s\nwant:\n%s", got, want)
	}
	if got := UnifiedDiff("x", []byte(a), []byte(a)); got != "" {
		t.Errorf("diff of equal inputs = %q", got)
	}
	if got := UnifiedDiff("x", []byte("FROM a"), []byte("FROM b")); got != "--- x\n+++ x\n@@ -1 +1 @@\n-FROM a\n\\ No newline at end of file\n+FROM b\n\\ No newline at end of file\n" {
		t.Errorf("diff without final newline = %q", got)
	}
}
