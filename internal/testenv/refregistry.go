package testenv

import (
	"os/exec"
	"testing"
)

var refRegistryBinary onceValue

// ReferrersRegistryBinary builds the test-tree registry with the OCI
// referrers API (internal/testenv/refregistry) once per test process into
// a temporary directory and returns the binary's path.
func ReferrersRegistryBinary(t testing.TB) string {
	t.Helper()
	return buildOnce(t, &refRegistryBinary, "refregistry", "./internal/testenv/refregistry")
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
