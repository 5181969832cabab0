package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildTimeout bounds `go build` and `go tool -n`: on a cold CI machine the
// registry alone takes minutes to compile on two cores.
const buildTimeout = 15 * time.Minute

// onceValue caches the result (or the error) of an expensive computation for
// the life of the test process.
type onceValue struct {
	once sync.Once
	val  string
	err  error
}

func (o *onceValue) get(t testing.TB, f func() (string, error)) string {
	t.Helper()
	o.once.Do(func() { o.val, o.err = f() })
	if o.err != nil {
		t.Fatalf("testenv: %v", o.err)
	}
	return o.val
}

var (
	repoRoot     onceValue
	ctlBinary    onceValue
	toolsMu      sync.Mutex
	toolBins     = map[string]*onceValue{}
	tempDirsMu   sync.Mutex
	tempDirsToRm []string
)

// RepoRoot returns the root directory of the ctl module (the directory of
// the go.mod reported by `go env GOMOD`).
func RepoRoot(t testing.TB) string {
	t.Helper()
	return repoRoot.get(t, func() (string, error) {
		out, err := goCmd(context.Background(), "", "env", "GOMOD")
		if err != nil {
			return "", err
		}
		gomod := strings.TrimSpace(out)
		if gomod == "" || gomod == os.DevNull {
			return "", fmt.Errorf("go env GOMOD: not inside a module")
		}
		return filepath.Dir(gomod), nil
	})
}

// CtlBinary builds the ctl command (main.go at the module root) once per
// test process into a temporary directory and returns the binary's path.
func CtlBinary(t testing.TB) string {
	t.Helper()
	return buildOnce(t, &ctlBinary, "ctl", ".")
}

// buildOnce builds the package pkg of this module (a path relative to the
// module root) once per test process, caching the result in o, into a
// temporary directory removed by Main, and returns the binary's path.
func buildOnce(t testing.TB, o *onceValue, name, pkg string) string {
	t.Helper()
	root := RepoRoot(t)
	return o.get(t, func() (string, error) {
		dir, err := os.MkdirTemp("", "ctl-testenv-"+name+"-")
		if err != nil {
			return "", err
		}
		rememberTempDir(dir)
		bin := filepath.Join(dir, name)
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		if _, err := goCmd(ctx, root, "build", "-o", bin, pkg); err != nil {
			return "", fmt.Errorf("building %s: %v", name, err)
		}
		return bin, nil
	})
}

// RegistryBinary returns the path of the pinned distribution registry
// binary, building it into Go's build cache if needed (once per process).
func RegistryBinary(t testing.TB) string {
	t.Helper()
	return ToolBinary(t, "registry")
}

// CraneBinary returns the path of the pinned crane binary, building it into
// Go's build cache if needed (once per process).
func CraneBinary(t testing.TB) string {
	t.Helper()
	return ToolBinary(t, "crane")
}

// ToolBinary returns the path of a tool pinned in tools/go.mod (registry,
// crane, oras, regctl, regsync), building it into Go's build cache if needed
// (once per process).
func ToolBinary(t testing.TB, tool string) string {
	t.Helper()
	root := RepoRoot(t)
	toolsMu.Lock()
	o, ok := toolBins[tool]
	if !ok {
		o = &onceValue{}
		toolBins[tool] = o
	}
	toolsMu.Unlock()
	return o.get(t, func() (string, error) { return toolPath(root, tool) })
}

// SystemBinary returns the path of a program installed from Debian's
// packages by scripts/install-deps.sh (podman, skopeo). A missing one fails
// the test: make test installs them, so absence is a set-up error, not a
// reason to skip.
func SystemBinary(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("testenv: %s is not installed (make test installs it with scripts/install-deps.sh): %v", name, err)
	}
	return path
}

// Main runs the tests of a package and then removes the temporary
// directories testenv created for the whole process (such as the one
// holding the ctl binary). Use it from TestMain: os.Exit(testenv.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	tempDirsMu.Lock()
	defer tempDirsMu.Unlock()
	for _, d := range tempDirsToRm {
		_ = os.RemoveAll(d)
	}
	tempDirsToRm = nil
	return code
}

func rememberTempDir(dir string) {
	tempDirsMu.Lock()
	defer tempDirsMu.Unlock()
	tempDirsToRm = append(tempDirsToRm, dir)
}

// toolPath asks `go tool -n` for the path of a tool of tools/go.mod; it
// builds the tool into the build cache if needed but does not run it.
func toolPath(root, tool string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	out, err := goCmd(ctx, root, "tool", "-modfile=tools/go.mod", "-n", tool)
	if err != nil {
		return "", fmt.Errorf("locating tool %s: %v", tool, err)
	}
	path := strings.TrimSpace(out)
	if i := strings.LastIndexByte(path, '\n'); i >= 0 {
		path = strings.TrimSpace(path[i+1:])
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("go tool -n %s printed %q: %v", tool, path, err)
	}
	return path, nil
}

func goCmd(ctx context.Context, dir string, args ...string) (string, error) {
	// `go test` puts its own GOROOT/bin first in PATH.
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}
