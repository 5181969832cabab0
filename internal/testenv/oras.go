package testenv

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Oras runs the pinned oras (ToolBinary "oras") with args in e: its
// credentials are e's DOCKER_CONFIG and HOME, both in the test's temporary
// directory. Pass --plain-http for a 127.0.0.1 registry.
func (e *Env) Oras(t testing.TB, args ...string) Result {
	t.Helper()
	return e.Exec(t, ToolBinary(t, "oras"), "", RunTimeout, args...)
}

// OrasAttach attaches a small artifact of artifactType to subject (a
// reference on a plain-HTTP registry) with oras, its one file holding
// content, and returns the new manifest's digest.
func (e *Env) OrasAttach(t testing.TB, subject, artifactType, content string, annotations ...string) string {
	t.Helper()
	file := strings.NewReplacer("/", "-", "+", "-", ".", "-").Replace(artifactType) + ".txt"
	if err := os.WriteFile(filepath.Join(e.Dir, file), []byte(content), 0o600); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	args := []string{"attach", "--plain-http", "--no-tty", "--format", "go-template", "--template", "{{.digest}}",
		"--artifact-type", artifactType}
	for _, a := range annotations {
		args = append(args, "--annotation", a)
	}
	res := e.Oras(t, append(args, subject, file)...)
	if res.Code != 0 {
		t.Fatalf("testenv: oras attach to %s failed: %s", subject, res.Stderr)
	}
	return strings.TrimSpace(res.Stdout)
}

// OrasNode is one referrer in `oras discover --format json`: its digest
// and artifact type, and what refers to it in turn.
type OrasNode struct {
	Digest       string     `json:"digest"`
	ArtifactType string     `json:"artifactType"`
	MediaType    string     `json:"mediaType"`
	Size         int64      `json:"size"`
	Referrers    []OrasNode `json:"referrers"`
}

// OrasDiscover returns the referrers tree of ref (on a plain-HTTP
// registry) as oras sees it, recursively.
func (e *Env) OrasDiscover(t testing.TB, ref string) []OrasNode {
	t.Helper()
	res := e.Oras(t, "discover", "--plain-http", "--no-tty", "--format", "json", ref)
	if res.Code != 0 {
		t.Fatalf("testenv: oras discover %s failed: %s", ref, res.Stderr)
	}
	var out struct {
		Referrers []OrasNode `json:"referrers"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &out); err != nil {
		t.Fatalf("testenv: oras discover %s: %v\n%s", ref, err, res.Stdout)
	}
	return out.Referrers
}
