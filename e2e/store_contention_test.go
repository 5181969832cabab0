package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// TestPushHoldsTheStore: an rmi and an image prune while a push from the
// store is under way do not take its blobs from under it: the prune waits
// for the push, which completes, then reclaims the image's blobs. Both
// while the layers go up one by one (-j 1, through a slow proxy) and while
// a docker save image's layers are compressed for the push, one after
// another (GOMAXPROCS=1), each under the writers' lock: a prune waiting
// between two of them must not deadlock with the push.
func TestPushHoldsTheStore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, e *testenv.Env, ref string)
		// busy reports whether the push is under way, past its first step.
		busy func(t *testing.T, e *testenv.Env, proxy *testenv.Proxy) bool
	}{
		{"layers going up", func(t *testing.T, e *testenv.Env, ref string) {
			seed(t, e, 6, 256<<10, ref)
		}, func(t *testing.T, e *testenv.Env, proxy *testenv.Proxy) bool {
			return proxy.Count("PUT", "/blobs/uploads/") > 0
		}},
		{"layers being compressed", func(t *testing.T, e *testenv.Env, ref string) {
			archive := filepath.Join(e.Dir, "big.tar")
			testenv.TextDockerSaveTar(t, archive, 4, 8<<20)
			wantCode(t, e.Run(t, "load", "-i", archive), 0)
			wantCode(t, e.Run(t, "tag", "big:1", ref), 0)
			wantCode(t, e.Run(t, "rmi", "big:1"), 0)
			e.Setenv("GOMAXPROCS", "1")
		}, func(t *testing.T, e *testenv.Env, _ *testenv.Proxy) bool {
			ents, _ := os.ReadDir(filepath.Join(e.Store, "gzip", "sha256"))
			return len(ents) > 0 // the first layer is compressed
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
			proxy := testenv.NewProxy(t, reg.URL, nil)
			e := testenv.NewEnv(t)
			ref := proxy.Host + "/app:v1"
			tc.setup(t, e, ref)
			for _, r := range strings.Fields(e.Run(t, "images", "--format", "{{.Repository}}:{{.Tag}}").Stdout) {
				if r != ref {
					wantCode(t, e.Run(t, "rmi", r), 0)
				}
			}
			proxy.SetDelay(200 * time.Millisecond)
			push := e.Start(t, testenv.CtlBinary(t), nil, 2*time.Minute, "push", "-j", "1", ref)
			testenv.WaitFor(t, time.Minute, "the push under way", func() bool { return tc.busy(t, e, proxy) })
			wantCode(t, e.Run(t, "rmi", ref), 0)
			prune := e.Start(t, testenv.CtlBinary(t), nil, 2*time.Minute, "image", "prune", "--force")
			res := push.WaitWithin(time.Minute)
			if res.Code != 0 {
				t.Fatalf("push with an rmi and a prune beside it: exit %d\n%s", res.Code, res.Stderr)
			}
			pr := prune.WaitWithin(time.Minute)
			wantCode(t, pr, 0)
			if strings.Contains(pr.Stdout, "space: 0B") {
				t.Errorf("the prune after the push reclaimed nothing: %q", pr.Stdout)
			}
			// What went up is whole: a pull verifies every blob.
			proxy.SetDelay(0)
			wantCode(t, testenv.NewEnv(t).Run(t, "pull", "-q", ref), 0)
		})
	}
}
