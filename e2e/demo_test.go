package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// TestDemo runs scripts/demo.sh — what `make demo` runs, the first command of
// the README — with the built binary, so that the README stays true.
func TestDemo(t *testing.T) {
	t.Parallel()
	root := testenv.RepoRoot(t)
	e := testenv.NewEnv(t)
	e.Setenv("CTL", testenv.CtlBinary(t))
	useMachineGo(t, e)
	e.Dir = root
	r := e.Exec(t, "bash", "", 5*time.Minute, filepath.Join(root, "scripts", "demo.sh"))
	if r.Code != 0 {
		t.Fatalf("demo: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	out := r.Stdout + r.Stderr
	for _, want := range []string{
		"Canonical:  docker.io/diamol/golang:latest",
		"Loaded image: image-gallery:latest",
		"The push refers to repository [",
		"2.1.106: digest: sha256:",
		"Untagged: ",
		"Deleted: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	// After deleting by digest, the last `tags list` prints nothing: the
	// demo's output ends with that command followed by the closing line.
	if !strings.Contains(out, "/gallery/ui\n\n# done") {
		t.Errorf("the last tags list was not empty:\n%s", out[max(0, len(out)-400):])
	}
}

// useMachineGo gives commands in e this machine's go on PATH and its Go
// caches: the scripts and make targets run `go build` and `go tool`, which
// would otherwise rebuild everything under the test's empty HOME.
func useMachineGo(t *testing.T, e *testenv.Env) {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		e.Setenv("PATH", filepath.Dir(p)+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH").Output()
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range strings.Fields(string(goenv)) {
		e.Setenv([]string{"GOCACHE", "GOMODCACHE", "GOPATH"}[i], v)
	}
}
