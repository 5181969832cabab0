package e2e

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestPushThroughResetsAnd503s: with the connection reset on the first
// upload of each blob and a 503 on every 9th request, a push completes,
// every time (it used to fail about 1 run in 5 with "use of closed network
// connection"). 50 runs, 5 at a time, each through a proxy of its own.
func TestPushThroughResetsAnd503s(t *testing.T) {
	t.Parallel()
	const runs, together = 50, 5
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	// One image per run, so that every run uploads all its blobs.
	refs := map[string]v1.Image{}
	for i := range runs {
		refs[fmt.Sprintf("local/app%d:v1", i)] = randomImage(t, 32<<10, 3)
	}
	archive := filepath.Join(t.TempDir(), "images.tar")
	testenv.ImagesTar(t, archive, refs, false)
	wantCode(t, e.Run(t, "load", "-i", archive), 0)

	var mu sync.Mutex
	failed := 0
	sem := make(chan struct{}, together)
	var wg sync.WaitGroup
	for i := range runs {
		proxy := testenv.NewProxy(t, reg.URL, nil)
		// 4 blobs (a config and 3 layers): the first 4 upload PUTs are cut.
		proxy.AddFault(testenv.Fault{Method: "PUT", PathRegexp: "/blobs/uploads/", Times: 4, Kind: testenv.FaultDropBeforeResponse})
		proxy.AddFault(testenv.Fault{Every: 9, Kind: testenv.FaultStatus, Status: 503})
		ref := fmt.Sprintf("%s/app%d:v1", proxy.Host, i)
		wantCode(t, e.Run(t, "tag", fmt.Sprintf("local/app%d:v1", i), ref), 0)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res := e.Run(t, "push", ref)
			dropped, unavailable := 0, 0
			for _, r := range proxy.Requests() {
				switch {
				case r.Status == 0:
					dropped++
				case r.Status == 503:
					unavailable++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if res.Code != 0 {
				failed++
				t.Errorf("run %d of %d: exit %d: %s", i+1, runs, res.Code, res.Stderr)
			}
			if dropped < 4 || unavailable == 0 {
				t.Errorf("run %d: %d requests cut and %d answered 503: the faults did not fire", i+1, dropped, unavailable)
			}
		}()
	}
	wg.Wait()
	if failed > 0 {
		t.Fatalf("%d of %d pushes failed", failed, runs)
	}
}
