package registry

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestTagDetails describes images and multi-platform indexes shared by
// several tags on the real registry, and counts the requests through the
// proxy: one HEAD per tag, one manifest GET per distinct manifest (index
// children included) and one config GET per distinct image.
func TestTagDetails(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var items []testenv.Tagged
	for i := range 12 {
		it := testenv.Tagged{Tags: []string{fmt.Sprintf("1.0.%d", i)}, Created: base.Add(time.Duration(i) * time.Hour)}
		if i%3 == 0 {
			it.Tags = append(it.Tags, fmt.Sprintf("alias-%d", i), fmt.Sprintf("again-%d", i))
		}
		if i%4 == 1 {
			it.Platforms = []string{"linux/amd64", "linux/arm64/v8"}
		}
		items = append(items, it)
	}
	digests := reg.PushTagged(t, "app", items, 512)
	p := testenv.NewProxy(t, reg.URL, reg.CAPEM)
	c := anonymous(t).WithJobs(3)

	var tags []string
	for _, it := range items {
		tags = append(tags, it.Tags...)
	}
	tags = append(tags, "gone") // listed, then deleted: left out
	got, err := c.TagDetails(context.Background(), mustRef(t, p.Host+"/app"), tags, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(tags)-1 {
		t.Fatalf("got %d details for %d tags", len(got), len(tags)-1)
	}
	byTag := map[string]TagDetail{}
	for _, d := range got {
		byTag[d.Tag] = d
	}
	images, indexes := 0, 0
	for i, it := range items {
		for _, tag := range it.Tags {
			d := byTag[tag]
			if d.Digest != digests[tag] || !d.Created.Equal(it.Created) || d.Size <= 512 {
				t.Errorf("%s: %+v, want digest %s created %s", tag, d, digests[tag], it.Created)
			}
			want := []string{"linux/amd64"}
			if it.Platforms != nil {
				want = it.Platforms
			}
			if !slices.Equal(d.Platforms, want) {
				t.Errorf("%s: platforms %v, want %v", tag, d.Platforms, want)
			}
			if _, ok := d.Blobs[d.Digest]; !ok || len(d.Blobs) != 3*max(1, len(it.Platforms))+min(1, len(it.Platforms)) {
				t.Errorf("%s: blobs %v", tag, d.Blobs)
			}
		}
		if i%4 == 1 {
			indexes++
		} else {
			images++
		}
	}
	heads := p.Count("HEAD", "/manifests/")
	manifests := p.Count("GET", "/manifests/")
	configs := p.Count("GET", "/blobs/")
	if heads != len(tags) || manifests != images+3*indexes || configs != images+2*indexes {
		t.Errorf("requests: %d HEAD, %d manifest GET, %d config GET; want %d, %d, %d",
			heads, manifests, configs, len(tags), images+3*indexes, images+2*indexes)
	}

	// With a platform, an index is its child's.
	p.Reset()
	arm := &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	got, err = c.TagDetails(context.Background(), mustRef(t, p.Host+"/app"), []string{"1.0.1", "1.0.0"}, arm)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[0].Platforms, []string{"linux/arm64/v8"}) || got[0].Digest != digests["1.0.1"] || len(got[0].Blobs) != 4 {
		t.Errorf("1.0.1 for arm64: %+v", got[0])
	}
	if !slices.Equal(got[1].Platforms, []string{"linux/amd64"}) {
		t.Errorf("an image stays itself with a platform: %+v", got[1])
	}
	if n := p.Count("GET", "/manifests/"); n != 3 {
		t.Errorf("%d manifest GETs for an image and one child of an index, want 3", n)
	}
}
