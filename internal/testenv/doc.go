// Package testenv is the end-to-end test harness for ctl.
//
// It builds the ctl binary, locates the pinned registry and crane binaries
// (from tools/go.mod), starts real distribution v3 registries in every
// flavour ctl must support (plain HTTP, TLS, htpasswd, bearer tokens, mTLS),
// runs a token server, and puts a fault-injecting reverse proxy in front of
// any of them. Every helper takes a testing.TB and releases what it started
// with t.Cleanup, so tests in any package can use it directly.
//
// A typical test:
//
//	func TestPullRetries(t *testing.T) {
//		t.Parallel()
//		reg := testenv.StartRegistry(t, testenv.RegistryOptions{Token: true})
//		reg.PushRandomImage(t, "app:v1", 2, 1024)
//		p := testenv.NewProxy(t, reg.URL, reg.CAPEM)
//		p.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/blobs/", Kind: testenv.FaultStatus, Status: 503, RetryAfter: "1", Times: 1})
//		e := testenv.NewEnv(t)
//		user, pass := reg.User()
//		e.AddDockerAuth(t, p.Host, user, pass)
//		res := e.Run(t, "pull", p.Host+"/app:v1")
//		if res.Code != 0 {
//			t.Fatalf("pull failed: %s", res.Stderr)
//		}
//	}
//
// Binaries are built or located once per test process. Packages whose tests
// call CtlBinary may use Main from their TestMain to remove the temporary
// build directory when the process ends.
package testenv
