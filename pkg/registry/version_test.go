package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/semver"
	"github.com/ctl-dev/ctl/pkg/tagplan"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// countingHandler counts requests by "METHOD path-kind".
type countingHandler struct {
	mu     sync.Mutex
	counts map[string]int
	next   http.Handler
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := "other"
	switch {
	case strings.Contains(r.URL.Path, "/manifests/"):
		kind = "manifest"
	case strings.Contains(r.URL.Path, "/blobs/"):
		kind = "blob"
	case strings.HasSuffix(r.URL.Path, "/tags/list"):
		kind = "tags"
	}
	h.mu.Lock()
	h.counts[r.Method+" "+kind]++
	h.mu.Unlock()
	h.next.ServeHTTP(w, r)
}

func TestTagVersion(t *testing.T) {
	t.Parallel()
	h := &countingHandler{counts: map[string]int{}, next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()

	push := func(tag string) string {
		img, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := name.ParseReference(host+"/app:"+tag, name.Insecure)
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return d.String()
	}
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	repo, _ := reference.ParseRepository(host + "/app")
	tagVersion := func(src, version string, dry bool) (*VersionResult, []string) {
		t.Helper()
		v, err := semver.Parse(version)
		if err != nil {
			t.Fatal(err)
		}
		r, err := reference.Parse(host + "/app:" + src)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		res, err := c.TagVersion(ctx, r, repo, v, VersionOptions{DryRun: dry, OnStep: func(s tagplan.Step, _ *VersionResult) {
			seen = append(seen, fmt.Sprintf("%s %s", s.Tag, s.Action))
		}})
		if err != nil {
			t.Fatal(err)
		}
		return res, seen
	}
	headTag := func(tag string) string {
		ref, _ := name.ParseReference(host+"/app:"+tag, name.Insecure)
		d, err := remote.Head(ref)
		if err != nil {
			return ""
		}
		return d.Digest.String()
	}

	d114 := push("2.1.114")
	res, seen := tagVersion("2.1.114", "2.1.114", false)
	if strings.Join(seen, ", ") != "2.1.114 unchanged, 2.1 created, 2 created, latest created" || res.Digest != d114 {
		t.Errorf("first release: %q, %s", seen, res.Digest)
	}
	for _, tag := range []string{"2.1", "2", "latest"} {
		if headTag(tag) != d114 {
			t.Errorf("%s does not point at 2.1.114", tag)
		}
	}

	// An older patch pushed later moves nothing but its own tag.
	d106 := push("build-106")
	h.mu.Lock()
	h.counts = map[string]int{}
	h.mu.Unlock()
	_, seen = tagVersion("build-106", "2.1.106", false)
	if strings.Join(seen, ", ") != "2.1.106 created, 2.1 kept, 2 kept, latest kept" {
		t.Errorf("older patch: %q", seen)
	}
	if headTag("2.1.106") != d106 || headTag("2.1") != d114 || headTag("latest") != d114 {
		t.Errorf("tags moved backwards")
	}
	// Manifest bytes fetched once, written once (the one created tag), no blobs.
	if h.counts["GET manifest"] != 1 || h.counts["PUT manifest"] != 1 || h.counts["GET blob"]+h.counts["HEAD blob"]+h.counts["PUT blob"] != 0 {
		t.Errorf("requests: %v", h.counts)
	}

	// Dry run plans a move and writes nothing.
	d200 := push("build-200")
	_, seen = tagVersion("build-200", "2.2.0", true)
	if strings.Join(seen, ", ") != "2.2.0 created, 2.2 created, 2 moved, latest moved" || headTag("latest") != d114 || headTag("2.2.0") != "" {
		t.Errorf("dry run: %q", seen)
	}
	_, _ = tagVersion("build-200", "2.2.0", false)
	if headTag("latest") != d200 || headTag("2") != d200 || headTag("2.1") != d114 {
		t.Errorf("2.2.0 did not move 2 and latest")
	}

	// A manifest given by the caller (a local image not pushed yet) is
	// planned without reading the registry's copy.
	local, _ := random.Image(16, 1)
	lraw, _ := local.RawManifest()
	ld, _ := local.Digest()
	lmt, _ := local.MediaType()
	lsrc, _ := reference.Parse(host + "/app:3.0.0")
	v3, _ := semver.Parse("3.0.0")
	plan, err := c.TagVersion(ctx, lsrc, repo, v3, VersionOptions{DryRun: true, Manifest: &Manifest{Bytes: lraw, Digest: ld, MediaType: lmt}})
	if err != nil || plan.Digest != ld.String() || len(plan.Steps) != 4 || plan.Steps[3].Action != tagplan.Moved {
		t.Errorf("planning a local manifest: %+v, %v", plan, err)
	}

	other, _ := reference.Parse(host + "/other:1")
	v, _ := semver.Parse("1.0.0")
	if _, err := c.TagVersion(ctx, other, repo, v, VersionOptions{}); !errors.Is(err, ErrOtherRepository) {
		t.Errorf("cross-repository error = %v", err)
	}
	missing, _ := reference.Parse(host + "/app:nope")
	if _, err := c.TagVersion(ctx, missing, repo, v, VersionOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing source error = %v", err)
	}
}
