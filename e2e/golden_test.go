package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// writeDockerfile writes content to name in the Env's working directory.
func writeDockerfile(t *testing.T, e *testenv.Env, name, content string) string {
	t.Helper()
	p := filepath.Join(e.Dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckDockerfileBinary runs the CI check on the built binary: the
// report on stdout, the verdict in the exit code.
func TestCheckDockerfileBinary(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	writeDockerfile(t, e, "Dockerfile", `# escape=\
ARG REGISTRY=registry.local:5000
FROM --platform=$BUILDPLATFORM ${REGISTRY}/golden/golang:1.22 AS build
RUN go build -o /app
FROM build AS test
FROM docker.io/golden/aspnet-core:3.0
COPY --from=build /app /app
`)
	writeDockerfile(t, e, "svc/Dockerfile", "FROM golden/aspnet-core:3.0 AS base\nFROM \\\n  nginx:latest\n")

	allow := []string{"--allow", "golden/", "--allow", "registry.local:5000/golden/"}
	r := e.Run(t, append([]string{"check", "dockerfile"}, allow...)...)
	if r.Code != 0 || r.Stdout != "" {
		t.Errorf("clean Dockerfile: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}

	r = e.Run(t, append([]string{"check", "dockerfile", "Dockerfile", "svc/Dockerfile"}, allow...)...)
	want := "svc/Dockerfile:2: base image nginx:latest is not approved (allowed: golden/, registry.local:5000/golden/)\n"
	if r.Code != 1 || r.Stdout != want || !strings.Contains(r.Stderr, "1 problem found") {
		t.Errorf("unapproved base: exit %d stdout %q stderr %q; want exit 1, %q", r.Code, r.Stdout, r.Stderr, want)
	}

	r = e.Run(t, "check", "dockerfile", "--require-pinned", "--format", "{{.Line}} {{.Problem}}", "Dockerfile")
	if r.Code != 1 || r.Stdout != "3 unpinned\n6 unpinned\n" {
		t.Errorf("--require-pinned: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}

	writeDockerfile(t, e, "bad/Dockerfile", "FROM golden/App:1\n")
	for _, args := range [][]string{
		{"check", "dockerfile", "--allow", "golden/", "bad/Dockerfile"},
		{"check", "dockerfile", "--allow", "golden/", "missing/Dockerfile"},
		{"check", "dockerfile", "Dockerfile"},
	} {
		if r := e.Run(t, args...); r.Code != 2 || r.Stdout != "" || !strings.HasPrefix(r.Stderr, "Error: ") {
			t.Errorf("%q: exit %d stdout %q stderr %q; want exit 2", args, r.Code, r.Stdout, r.Stderr)
		}
	}
}

// TestPinBinary pins FROM lines against the real registry: the digests are
// exactly what crane digest prints, for an image and a multi-platform index,
// and a second run changes nothing.
func TestPinBinary(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	reg.PushRandomImage(t, "golden/base:1.0", 1, 256)
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(reg.ParseRef(t, "golden/multi:2"), idx, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	craneDigest := func(ref string) string {
		r := e.Crane(t, "digest", "--insecure", ref)
		if r.Code != 0 {
			t.Fatalf("crane digest %s: %+v", ref, r)
		}
		return strings.TrimSpace(r.Stdout)
	}
	dBase, dMulti := craneDigest(reg.Ref("golden/base:1.0")), craneDigest(reg.Ref("golden/multi:2"))

	src := "# syntax=docker/dockerfile:1\nARG MULTI=" + reg.Ref("golden/multi:2") + "\n" +
		"FROM " + reg.Ref("golden/base:1.0") + " AS build\nRUN make\nFROM ${MULTI}\nCOPY --from=build /app /app\n"
	want := "# syntax=docker/dockerfile:1\nARG MULTI=" + reg.Ref("golden/multi:2") + "@" + dMulti + "\n" +
		"FROM " + reg.Ref("golden/base:1.0") + "@" + dBase + " AS build\nRUN make\nFROM ${MULTI}\nCOPY --from=build /app /app\n"
	p := writeDockerfile(t, e, "Dockerfile", src)

	r := e.Run(t, "pin", "--dry-run")
	if b, _ := os.ReadFile(p); r.Code != 0 || string(b) != src || !strings.Contains(r.Stdout, "+FROM "+reg.Ref("golden/base:1.0")+"@"+dBase+" AS build\n") {
		t.Errorf("pin --dry-run: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = e.Run(t, "pin")
	if b, _ := os.ReadFile(p); r.Code != 0 || string(b) != want {
		t.Errorf("pin: exit %d stderr %q\n%s\nwant\n%s", r.Code, r.Stderr, b, want)
	}
	r = e.Run(t, "pin")
	if b, _ := os.ReadFile(p); r.Code != 0 || string(b) != want || r.Stdout != "" {
		t.Errorf("second pin: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	// The pinned file passes the CI check.
	r = e.Run(t, "check", "dockerfile", "--allow", reg.Host+"/golden/", "--require-pinned")
	if r.Code != 0 {
		t.Errorf("check after pin: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}

	writeDockerfile(t, e, "missing/Dockerfile", "FROM "+reg.Ref("golden/nope:1")+"\n")
	if r := e.Run(t, "pin", "missing/Dockerfile"); r.Code != 3 {
		t.Errorf("pin of a missing tag: exit %d stderr %q", r.Code, r.Stderr)
	}
}
