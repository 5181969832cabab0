package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// TestMakeInstall runs README's `make install`: ctl lands in $GOBIN when it
// is set, else in ~/.local/bin, and runs from there.
func TestMakeInstall(t *testing.T) {
	t.Parallel()
	root := testenv.RepoRoot(t)
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Fatalf("make is needed to test make install: %v", err)
	}
	for _, tc := range []struct {
		name  string
		gobin bool // GOBIN set in the environment
	}{{"GOBIN", true}, {"home", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := testenv.NewEnv(t)
			useMachineGo(t, e)
			want := filepath.Join(e.Home, ".local", "bin", "ctl")
			if tc.gobin {
				gobin := filepath.Join(t.TempDir(), "gobin")
				e.Setenv("GOBIN", gobin)
				want = filepath.Join(gobin, "ctl")
			}
			e.Dir = root
			// BIN elsewhere: the test leaves the work tree's bin/ alone.
			r := e.Exec(t, makeBin, "", 5*time.Minute, "-s", "install", "BIN="+t.TempDir())
			if r.Code != 0 || !strings.Contains(r.Stdout, "installed "+want+"\n") {
				t.Fatalf("make install: exit %d, stdout %q, stderr %q; want it installed as %s", r.Code, r.Stdout, r.Stderr, want)
			}
			if v := e.Exec(t, want, "", time.Minute, "version"); v.Code != 0 || !strings.HasPrefix(v.Stdout, "ctl ") {
				t.Errorf("installed ctl version: exit %d, %q", v.Code, v.Stdout)
			}
		})
	}
}
