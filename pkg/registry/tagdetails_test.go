package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
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

// TestTagDetailsBoundsIndexChildren: the children of an index are
// described with as many goroutines as there are request slots, not one
// each: an index of 60,000 children held 450 MB of goroutines waiting for
// a slot. Not parallel: it counts the process's goroutines.
func TestTagDetailsBoundsIndexChildren(t *testing.T) {
	const children = 3000
	var kids []string
	for i := range children {
		kids = append(kids, fmt.Sprintf(`{"mediaType":%q,"digest":"sha256:%064x","size":100}`, types.OCIManifestSchema1, i))
	}
	idx := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[%s]}`, types.OCIImageIndex, strings.Join(kids, ",")))
	sum := sha256.Sum256(idx)
	release := make(chan struct{})
	var waiting atomic.Int32
	srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/manifests/v1") || strings.HasSuffix(r.URL.Path, "/manifests/sha256:"+hex.EncodeToString(sum[:])) {
			w.Header().Set("Content-Type", string(types.OCIImageIndex))
			w.Header().Set("Docker-Content-Digest", "sha256:"+hex.EncodeToString(sum[:]))
			w.Write(idx)
			return
		}
		waiting.Add(1)
		<-release
		http.NotFound(w, r)
	})
	c := newTestClient(t).WithJobs(4)
	before := runtime.NumGoroutine()
	done := make(chan error, 1)
	go func() {
		_, err := c.TagDetails(context.Background(), mustRef(t, hostOf(srv)+"/r"), []string{"v1"}, nil)
		done <- err
	}()
	for waiting.Load() < 4 {
		select {
		case err := <-done:
			t.Fatalf("ended before asking for 4 children: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	time.Sleep(100 * time.Millisecond) // let any goroutine still to start start
	grew := runtime.NumGoroutine() - before
	close(release)
	if err := <-done; err == nil {
		t.Error("described an index whose children are missing")
	}
	if grew > 200 {
		t.Errorf("%d goroutines for an index of %d children described 4 at a time", grew, children)
	}
}

// TestConfigsReadWithinBudget: configs are read whole, so at most
// maxConfigBytes of them are read at once, whatever the jobs: 16 tags with
// 60 MiB configs took tags list --long to 1.7 GB.
func TestConfigsReadWithinBudget(t *testing.T) {
	t.Parallel()
	const tags = 4
	type image struct{ manifest, config []byte }
	images := map[string]image{}
	for i := range tags {
		cfg := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","config":{"Labels":{"pad":"%d%s"}}}`, i, strings.Repeat("x", maxConfigBytes/2+1)))
		cs := sha256.Sum256(cfg)
		m := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":"sha256:%x","size":%d},"layers":[]}`,
			types.OCIManifestSchema1, types.OCIConfigJSON, cs, len(cfg)))
		ms := sha256.Sum256(m)
		img := image{m, cfg}
		images[fmt.Sprintf("t%d", i)] = img
		images[fmt.Sprintf("sha256:%x", ms)] = img
		images[fmt.Sprintf("sha256:%x", cs)] = img
	}
	var inFlight, most atomic.Int32
	srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		img, ok := images[id]
		switch {
		case !ok:
			http.NotFound(w, r)
		case strings.Contains(r.URL.Path, "/manifests/"):
			ms := sha256.Sum256(img.manifest)
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			w.Header().Set("Docker-Content-Digest", fmt.Sprintf("sha256:%x", ms))
			w.Write(img.manifest)
		default:
			n := inFlight.Add(1)
			defer inFlight.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(50 * time.Millisecond)
			w.Write(img.config)
		}
	})
	var names []string
	for i := range tags {
		names = append(names, fmt.Sprintf("t%d", i))
	}
	got, err := newTestClient(t).WithJobs(8).TagDetails(context.Background(), mustRef(t, hostOf(srv)+"/r"), names, nil)
	if err != nil || len(got) != tags {
		t.Fatalf("details %v, err %v", got, err)
	}
	if m := most.Load(); m != 1 {
		t.Errorf("%d configs of over half the budget read at once, want 1", m)
	}
}

// TestTagDetailsLeavesAttestationsOut: buildkit's attestation manifests in
// an index are held (their blobs count for what a prune frees) but are no
// images: neither their size nor their creation time is the tag's.
func TestTagDetailsLeavesAttestationsOut(t *testing.T) {
	t.Parallel()
	img := func(created time.Time, layer int64) v1.Image {
		im, err := random.Image(layer, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := im.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Created = "linux", "amd64", v1.Time{Time: created}
		if im, err = mutate.ConfigFile(im, cf); err != nil {
			t.Fatal(err)
		}
		return im
	}
	built := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	image, att := img(built, 1000), img(built.Add(time.Hour), 50000)
	imageDigest, _ := image.Digest()
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex),
		mutate.IndexAddendum{Add: image, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": imageDigest.String()}}})
	reg := newFakeRegistry(t)
	c := newTestClient(t)
	nref, _ := c.Ref(mustRef(t, reg.host()+"/app:v1"))
	if err := remote.WriteIndex(nref, idx); err != nil {
		t.Fatal(err)
	}
	size := func(im v1.Image) int64 {
		m, _ := im.Manifest()
		n := m.Config.Size
		for _, l := range m.Layers {
			n += l.Size
		}
		return n
	}
	got, err := c.TagDetails(context.Background(), mustRef(t, reg.host()+"/app"), []string{"v1"}, nil)
	if err != nil || len(got) != 1 {
		t.Fatalf("TagDetails = %+v, %v", got, err)
	}
	d := got[0]
	if d.Size != size(image) || !d.Created.Equal(built) || !slices.Equal(d.Platforms, []string{"linux/amd64"}) {
		t.Errorf("index with an attestation: size %d created %s platforms %v; want the image's %d, %s, [linux/amd64]", d.Size, d.Created, d.Platforms, size(image), built)
	}
	attDigest, _ := att.Digest()
	if _, ok := d.Blobs[attDigest.String()]; !ok || len(d.Blobs) != 7 {
		t.Errorf("blobs %v; want the index, both manifests, both configs and both layers", d.Blobs)
	}
}
