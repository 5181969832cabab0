package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
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
