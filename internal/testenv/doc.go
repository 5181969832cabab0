// Package testenv is the end-to-end test harness for ctl.
//
// It builds the ctl binary, locates the pinned registry and crane binaries
// (from tools/go.mod), starts real distribution v3 registries in every
// flavour ctl must support (plain HTTP, TLS, htpasswd, bearer tokens, mTLS),
// runs a token server, and puts a fault-injecting reverse proxy in front of
// any of them. Every helper takes a testing.TB and releases what it started
// with t.Cleanup, so tests in any package can use it directly.
//
// Binaries are built or located once per test process. Packages whose tests
// call CtlBinary may use Main from their TestMain to remove the temporary
// build directory when the process ends.
package testenv
