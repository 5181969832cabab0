package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var refRegistryBinary onceValue

// ReferrersRegistryBinary builds the test-tree registry with the OCI
// referrers API (internal/testenv/refregistry) once per test process into
// a temporary directory and returns the binary's path.
func ReferrersRegistryBinary(t testing.TB) string {
	t.Helper()
	root := RepoRoot(t)
	return refRegistryBinary.get(t, func() (string, error) {
		dir, err := os.MkdirTemp("", "ctl-testenv-refregistry-")
		if err != nil {
			return "", err
		}
		rememberTempDir(dir)
		bin := filepath.Join(dir, "refregistry")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		if _, err := goCmd(ctx, root, "build", "-o", bin, "./internal/testenv/refregistry"); err != nil {
			return "", fmt.Errorf("building refregistry: %v", err)
		}
		return bin, nil
	})
}

// StartReferrersRegistry starts go-containerregistry's in-memory registry
// with the OCI referrers API (GET /v2/NAME/referrers/DIGEST) as its own
// process on an ephemeral 127.0.0.1 port, plain HTTP, deletion enabled, no
// auth. StartRegistry's distribution v3 answers that endpoint 404, so the
// two together cover both ways the distribution spec allows for finding
// referrers (the API and the sha256-<hex> tag schema). It stops when the
// test ends; its request log is printed if the test failed.
func StartReferrersRegistry(t testing.TB) *Registry {
	t.Helper()
	bin := ReferrersRegistryBinary(t)
	dir := t.TempDir()
	r := &Registry{
		Options:  RegistryOptions{DeleteEnabled: true},
		log:      &syncBuffer{},
		waitDone: make(chan struct{}),
	}
	r.cmd = exec.Command(bin)
	r.cmd.Dir = dir
	r.cmd.Env = []string{"HOME=" + dir, "TMPDIR=" + dir}
	r.launch(t)
	return r
}
