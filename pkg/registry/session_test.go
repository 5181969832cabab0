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
func TestAllTagsSelfLinkStops(t *testing.T) {
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
	res, err := c.PullAllTags(ctx, repo, newMemSink(), PullOptions{})
	if err != nil || len(res) != 1 || res[0].Ref.Tag() != "v1" {
		t.Fatalf("pull -a: %+v, %v", res, err)
	}
	if n := reg.counts()["GET /v2/app/tags/list"]; n != 1 {
		t.Errorf("pull -a listed tags with %d requests, want 1", n)
	}
	out, err := c.Copy(ctx, repo, mustRef(t, reg.host()+"/other"), CopyOptions{AllTags: true})
	if err != nil || len(out) != 1 || out[0].Tag != "v1" {
		t.Fatalf("copy -a: %+v, %v", out, err)
	}
	if n := reg.counts()["GET /v2/app/tags/list"]; n != 1 {
		t.Errorf("copy -a listed tags with %d requests, want 1", n)
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
