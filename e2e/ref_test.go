package e2e

import (
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// TestRefBinary checks the contract's reference examples on the built binary:
// stdout carries only results, errors go to stderr with exit code 2.
func TestRefBinary(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	r := e.Run(t, "ref", "--format", "{{.Canonical}} {{.Familiar}}", "diamol/golang", "registry.local:5000/gallery/ui:v1", "index.docker.io/library/nginx:1.25")
	want := "docker.io/diamol/golang:latest diamol/golang\n" +
		"registry.local:5000/gallery/ui:v1 registry.local:5000/gallery/ui:v1\n" +
		"docker.io/library/nginx:1.25 nginx:1.25\n"
	if r.Code != 0 || r.Stdout != want {
		t.Fatalf("exit %d stdout %q stderr %q; want %q", r.Code, r.Stdout, r.Stderr, want)
	}
	for _, bad := range []string{"gallery/UI", strings.Repeat("ab", 32), "nginx:" + strings.Repeat("t", 129), "nginx@sha256:abc", "a//b", ""} {
		r := e.Run(t, "ref", "nginx", bad)
		if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, "invalid reference") {
			t.Errorf("ref %q: exit %d stdout %q stderr %q; want exit 2, nothing on stdout", bad, r.Code, r.Stdout, r.Stderr)
		}
	}
	if r := e.Run(t, "version"); r.Code != 0 || !strings.HasPrefix(r.Stdout, "ctl version ") {
		t.Errorf("version: %+v", r)
	}
}
