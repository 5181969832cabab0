package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"
)

// pull -a and copy -a list tags with the bounded paginator: a registry
// whose tag list links to itself must not keep them asking forever
// (reliability.md; go-containerregistry's remote.List does).
// TestAllTagsSelfLinkIsBroken: pull -a and copy -a of a repository whose
// tag list links to itself fail with ErrBrokenPagination after one listing
// request, and pull nothing.
func TestAllTagsSelfLinkIsBroken(t *testing.T) {
	t.Parallel()
	reg, c, _, _ := seeded(t, 100, 1)
	reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if strings.HasSuffix(r.URL.Path, "/tags/list") {
			w.Header().Set("Link", "<"+r.URL.RequestURI()+`>; rel="next"`)
		}
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	repo := mustRef(t, reg.host()+"/app")
	reg.counts()
	if res, err := c.PullAllTags(ctx, repo, newMemSink(), PullOptions{}); !errors.Is(err, ErrBrokenPagination) || len(res) != 0 {
		t.Fatalf("pull -a: %+v, %v; want ErrBrokenPagination", res, err)
	}
	if got := reg.counts(); got["GET /v2/app/tags/list"] != 1 {
		t.Errorf("pull -a: %v, want one tag listing", got)
	}
	if out, err := c.Copy(ctx, repo, mustRef(t, reg.host()+"/other"), CopyOptions{AllTags: true}); !errors.Is(err, ErrBrokenPagination) || len(out) != 0 {
		t.Fatalf("copy -a: %+v, %v; want ErrBrokenPagination", out, err)
	}
}

// Every operation names the registry it could not reach, and classifying
// twice does not say it twice.
func TestUnreachableNamesHost(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := l.Addr().String()
	l.Close() // nothing listens there now
	c := newTestClient(t)
	ctx := context.Background()
	ref := mustRef(t, host+"/app:v1")
	ops := map[string]func() error{
		"tags":   func() error { _, err := c.ListTags(ctx, ref, 0); return err },
		"digest": func() error { _, _, err := c.Digest(ctx, ref, nil); return err },
		"pull":   func() error { _, err := c.Pull(ctx, ref, newMemSink(), PullOptions{}); return err },
		"catalog": func() error {
			_, err := c.Catalog(ctx, host, 0)
			return err
		},
	}
	want := fmt.Sprintf("registry %s unreachable", host)
	for name, op := range ops {
		err := op()
		if err == nil || strings.Count(err.Error(), want) != 1 {
			t.Errorf("%s: %v, want it to say %q once", name, err, want)
		}
		if again := classify(host, fmt.Errorf("wrapped: %w", err)); strings.Count(again.Error(), want) != 1 {
			t.Errorf("%s: classified twice: %v", name, again)
		}
	}
	if err := classify(host, context.Canceled); !errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "unreachable") {
		t.Errorf("cancellation classified as %v", err)
	}
}

// hostCacheClient is a client keeping its host cache in dir, as each run
// of ctl does, its user agent naming the run (see fakeRegistry.countsOf).
func hostCacheClient(t *testing.T, dir, run string) *Client {
	t.Helper()
	c, err := New(WithHostCache(dir), WithUserAgent(run))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestHostCacheSkipsPing: a host that answered without credentials in one
// run is not pinged in the next (a digest is one request, a re-push of one
// tag one request); when it asks for credentials after all, the request
// that met the 401 is resent once the ping and token exchange are done,
// the host is forgotten as open, and the run after pings again. A push to
// such a host whose writes alone want a token authenticates at its first
// write.
func TestHostCacheSkipsPing(t *testing.T) {
	t.Parallel()
	reg, _, ref, img := seeded(t, 100, 2)
	dir := t.TempDir()
	ctx := context.Background()
	want, _ := img.Digest()
	// Each run counts its own requests only: the ping a run sends beside
	// its HEAD may reach the registry after the run has ended.
	runs := 0
	run := func() (*Client, string) {
		t.Helper()
		runs++
		name := fmt.Sprintf("run%d-", runs) // "run1-" is not within "run10-"
		return hostCacheClient(t, dir, name), name
	}
	digest := func() map[string]int {
		t.Helper()
		c, name := run()
		if d, _, err := c.Digest(ctx, ref, nil); err != nil || d != want {
			t.Fatalf("digest: %v %v, want %v", d, err, want)
		}
		return reg.countsOf(name)
	}
	if got := digest(); got["GET ping"] > 1 || got["HEAD manifest"] != 1 {
		t.Errorf("first run: %v, want a HEAD (and a ping beside it)", got)
	}
	if got := digest(); sum(got) != 1 || got["HEAD manifest"] != 1 {
		t.Errorf("second run: %v, want the HEAD alone", got)
	}
	c, name := run()
	res, err := c.Push(ctx, mustRef(t, reg.host()+"/app"), []PushTag{{Tag: "v1", Artifact: img}}, PushOptions{})
	if err != nil || len(res) != 1 || !res[0].Unchanged {
		t.Fatalf("re-push: %+v, %v", res, err)
	}
	if got := reg.countsOf(name); sum(got) != 1 {
		t.Errorf("re-push: %v, want the tag's HEAD alone", got)
	}

	// Now the registry wants a token for everything, or for writes only.
	var writesOnly atomic.Bool
	reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.URL.Path == "/token" {
			fmt.Fprint(w, `{"token":"t"}`)
			return true
		}
		// As registries with anonymous reads do, the ping asks for a token.
		read := (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path != "/v2/"
		if r.Header.Get("Authorization") != "Bearer t" && !(read && writesOnly.Load()) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="test"`, reg.URL))
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}
		return false
	}
	if got := digest(); got["HEAD manifest"] != 2 || got["GET ping"] != 1 || got["GET /token"] != 1 {
		t.Errorf("after the registry closed: %v, want the HEAD, the ping and token, the HEAD again", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, url.PathEscape(reg.host()))); !os.IsNotExist(err) {
		t.Errorf("the host is still cached as open: %v", err)
	}
	if got := digest(); got["GET ping"] != 1 || got["HEAD manifest"] != 2 {
		t.Errorf("the run after: %v, want the HEAD beside the ping, then again with the token", got)
	}

	writesOnly.Store(true)
	digest() // the host answers reads: cached as open again
	other, err := random.Image(100, 2)
	if err != nil {
		t.Fatal(err)
	}
	c, name = run()
	if _, err := c.Push(ctx, mustRef(t, reg.host()+"/other"), []PushTag{{Tag: "v1", Artifact: other}}, PushOptions{}); err != nil {
		t.Fatalf("push to a registry wanting a token for writes: %v", err)
	}
	if got := reg.countsOf(name); got["GET ping"] != 1 || got["GET /token"] != 1 {
		t.Errorf("push: %v, want one ping and one token, after the first write's 401", got)
	}
	// A ping the runs meant to skip it had sent beside their request and
	// dropped would have reached the registry by now.
	for _, name := range []string{"run2-", "run3-"} {
		if late := reg.countsOf(name); late["GET ping"] != 0 {
			t.Errorf("%s pinged after it was counted: %v", name, late)
		}
	}
}
