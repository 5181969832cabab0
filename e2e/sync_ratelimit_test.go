package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// hubStandIn is a registry behind a Docker Hub pull limit of limit pulls
// per window, holding n single-image tags t0..t(n-1) in app.
func hubStandIn(t *testing.T, n, limit int, window time.Duration) (*testenv.HubLimiter, *testenv.Registry, *testenv.Env) {
	t.Helper()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	var items []testenv.Tagged
	for i := range n {
		items = append(items, testenv.Tagged{Tags: []string{fmt.Sprintf("t%d", i)}})
	}
	src.PushTagged(t, "app", items, 1024)
	return testenv.NewHubLimiter(t, src.URL, limit, window), testenv.StartRegistry(t, testenv.RegistryOptions{}), testenv.NewEnv(t)
}

// mirrored counts the tags of dst's app.
func mirrored(t *testing.T, e *testenv.Env, dst *testenv.Registry) int {
	t.Helper()
	res := e.Crane(t, "ls", dst.Ref("app"))
	if res.Code != 0 {
		return 0
	}
	return len(strings.Fields(res.Stdout))
}

// TestSyncMinPulls: the plan costs no pulls (HEADs and a tag list); copies
// stop starting once the source reports fewer pulls left than --min-pulls,
// and the sync exits 5 listing what is left. Run again with --wait, it waits
// for the window and copies only the rest.
func TestSyncMinPulls(t *testing.T) {
	t.Parallel()
	hub, dst, e := hubStandIn(t, 6, 4, 3*time.Second)
	src, mirror := hub.Host+"/app", dst.Ref("app")

	res := e.Run(t, "sync", "-j", "1", "--min-pulls", "2", src, mirror)
	if res.Code != 5 {
		t.Fatalf("sync under the limit: exit %d, want 5: %s", res.Code, res.Stderr)
	}
	if pulls, refused := hub.Pulls(); pulls != 3 || refused != 0 {
		t.Errorf("pulls %d, refused %d; want 3 (4 allowed, stop below 2 left) and none refused", pulls, refused)
	}
	if !strings.Contains(res.Stderr, "has 1 pulls left of 4 per 3s (threshold 2): 3 image(s) left to copy:") ||
		!strings.Contains(res.Stderr, "--wait") {
		t.Errorf("exit 5 does not say what is left: %s", res.Stderr)
	}
	if n := mirrored(t, e, dst); n != 3 {
		t.Errorf("mirror has %d tags, want the 3 copied", n)
	}

	res = e.Run(t, "sync", "-j", "1", "--min-pulls", "2", "--wait", src, mirror)
	if res.Code != 0 {
		t.Fatalf("sync --wait: exit %d: %s", res.Code, res.Stderr)
	}
	if got := strings.Count(strings.TrimSpace(res.Stdout), "\n") + 1; got != 3 {
		t.Errorf("sync --wait copied %d images, want the 3 left:\n%s", got, res.Stdout)
	}
	if n := mirrored(t, e, dst); n != 6 {
		t.Errorf("mirror has %d tags after --wait, want 6", n)
	}
}

// TestSyncExhaustedLimit: copies started together run into Docker Hub's
// 429 (ratelimit-remaining: 0, no Retry-After); those are left, not
// failed, and the sync exits 5 listing them.
func TestSyncExhaustedLimit(t *testing.T) {
	t.Parallel()
	hub, dst, e := hubStandIn(t, 4, 2, time.Hour)
	res := e.Run(t, "sync", "-j", "4", hub.Host+"/app", dst.Ref("app"))
	if res.Code != 5 {
		t.Fatalf("exit %d, want 5: %s", res.Code, res.Stderr)
	}
	pulls, refused := hub.Pulls()
	if pulls != 2 || refused < 1 {
		t.Errorf("pulls %d, refused %d; want 2 and at least one 429", pulls, refused)
	}
	if !strings.Contains(res.Stderr, "2 image(s) left to copy:") || !strings.Contains(res.Stderr, "2 copied, 0 up to date, 0 skipped, 0 failed") {
		t.Errorf("stderr: %s", res.Stderr)
	}
	if n := mirrored(t, e, dst); n != 2 {
		t.Errorf("mirror has %d tags, want 2", n)
	}
}

// TestSyncTooManyRequests: a source answering 429 Too Many Requests
// beyond what the transport waits out (here an absurd Retry-After, read
// as a year; or a 429 without one, after the retries) stops the sync by a
// rate limit, as Docker Hub's exhausted pull limit does: the copies it
// refused are left, not failed, no new copy starts from it, and the sync
// exits 5 listing what is left, even with --keep-going. Run again once
// the source answers, it copies only those.
func TestSyncTooManyRequests(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	p.sp.AddFault(testenv.Fault{Method: "GET", PathRegexp: `/manifests/1\.1\.0$`, Kind: testenv.FaultStatus, Status: 429, RetryAfter: "999999999999",
		Body: `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`})
	p.sp.AddFault(testenv.Fault{Method: "GET", PathRegexp: `/manifests/2\.1\.0$`, Kind: testenv.FaultStatus, Status: 429})
	plan := p.plan(t, `sync:
  - source: SRC/app
    destination: DST/mirror/app
`)
	res := p.e.Run(t, "sync", "--keep-going", plan)
	if res.Code != 5 {
		t.Fatalf("sync refused with 429: exit %d, want 5: %s", res.Code, res.Stderr)
	}
	var left []string
	for _, l := range strings.Split(res.Stderr, "\n") {
		if _, tag, ok := strings.Cut(l, "Error:   "+p.sp.Host+"/app:"); ok {
			left = append(left, tag)
		}
	}
	copied := strings.Count(res.Stdout, "\n")
	if !strings.Contains(res.Stderr, p.sp.Host+" answers 429 Too Many Requests until ") ||
		!strings.Contains(res.Stderr, fmt.Sprintf("%d image(s) left to copy:", len(left))) ||
		!slices.Contains(left, "1.1.0") || !slices.Contains(left, "2.1.0") || copied+len(left) != 6 ||
		!strings.Contains(res.Stderr, fmt.Sprintf("%d copied, 0 up to date, 0 skipped, 0 failed, %d left", copied, len(left))) {
		t.Errorf("exit 5 does not say what is left (%d copied, left %v): %s", copied, left, res.Stderr)
	}
	for _, tag := range left {
		if strings.Contains(res.Stdout, "/app:"+tag+" ->") || p.digest(t, p.dst, "mirror/app:"+tag) != "" {
			t.Errorf("%s, left, is reported copied or on the mirror:\n%s", tag, res.Stdout)
		}
	}
	p.sp.ClearFaults()
	res = p.e.Run(t, "sync", plan)
	if res.Code != 0 || strings.Count(res.Stdout, "\n") != len(left) {
		t.Fatalf("sync once the source answers: exit %d, want the %d left copied:\n%s%s", res.Code, len(left), res.Stdout, res.Stderr)
	}
	for tag, d := range p.srcDigests {
		if got := p.digest(t, p.dst, "mirror/app:"+tag); got != d {
			t.Errorf("mirror/app:%s is %q, want %s", tag, got, d)
		}
	}
}

// TestSyncKeepGoingWaitsPastFailures: with --keep-going, copies that fail
// do not end a sync that a pull limit holds back: with --wait the held
// copies are still tried once the window moves on (here every copy fails,
// refused by the destination, so each of the six is listed), and without
// it the sync exits 1 for the failures, saying also what is left.
func TestSyncKeepGoingWaitsPastFailures(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	var items []testenv.Tagged
	for i := range 6 {
		items = append(items, testenv.Tagged{Tags: []string{fmt.Sprintf("t%d", i)}})
	}
	src.PushTagged(t, "app", items, 1024)
	hub := testenv.NewHubLimiter(t, src.URL, 2, 2*time.Second)
	dst := testenv.NewProxy(t, testenv.StartRegistry(t, testenv.RegistryOptions{}).URL, nil)
	dst.AddFault(testenv.Fault{Method: "PUT", PathRegexp: `/manifests/`, Kind: testenv.FaultStatus, Status: 403,
		Body: `{"errors":[{"code":"DENIED","message":"quota exceeded"}]}`})
	e := testenv.NewEnv(t)

	res := e.Run(t, "sync", "--keep-going", "-j", "1", hub.Host+"/app", dst.Host+"/app")
	if res.Code != 1 || !strings.Contains(res.Stderr, "2 image(s) failed to sync:") ||
		!strings.Contains(res.Stderr, "and "+hub.Host+" has 0 pulls left of 2 per 2s (threshold 0): 4 image(s) left to copy:") {
		t.Errorf("keep-going stopped by the limit with failures: exit %d, want 1 listing both: %s", res.Code, res.Stderr)
	}
	time.Sleep(2 * time.Second) // the window moves on
	res = e.Run(t, "sync", "--keep-going", "--wait", "-j", "1", hub.Host+"/app", dst.Host+"/app")
	if res.Code != 1 || !strings.Contains(res.Stderr, "6 image(s) failed to sync:") || strings.Contains(res.Stderr, "left to copy") {
		t.Errorf("keep-going --wait: exit %d, want every image tried and listed failed: %s", res.Code, res.Stderr)
	}
}

// TestSyncRateLimitedPlan: a source refusing the plan's own requests (its
// tag list) with 429 and a Retry-After beyond what the transport waits
// stops the sync by a rate limit before anything is copied: exit 5, not
// a failure.
func TestSyncRateLimitedPlan(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	p.sp.AddFault(testenv.Fault{Method: "GET", PathRegexp: `/tags/list`, Kind: testenv.FaultStatus, Status: 429, RetryAfter: "3600"})
	res := p.e.Run(t, "sync", p.sp.Host+"/app", p.dp.Host+"/mirror/app")
	if res.Code != 5 || !strings.Contains(res.Stderr, p.sp.Host+" is rate limiting requests; it asks to retry after ") || res.Stdout != "" ||
		!strings.Contains(res.Stderr, "run the sync again once the registry allows it") {
		t.Errorf("sync whose tag list is refused with 429: exit %d, want 5 saying so:\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
}
