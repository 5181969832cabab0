package transfer

import (
	"context"
	"fmt"
	"testing"

	"github.com/ctl-dev/ctl/pkg/store"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// writeImages writes n random images (one layer each) to s, image i as
// name(i); it returns each image's blobs (config, layer).
func writeImages(tb testing.TB, s *store.Store, n int, name func(i int) string) [][]v1.Hash {
	tb.Helper()
	var blobs [][]v1.Hash
	for i := range n {
		img, err := random.Image(256, 1)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := s.WriteImage(context.Background(), img, mustRef(tb, name(i))); err != nil {
			tb.Fatal(err)
		}
		blobs = append(blobs, blobsOf(tb, img))
	}
	return blobs
}

// blobsOf is img's config and layer digests.
func blobsOf(tb testing.TB, img v1.Image) []v1.Hash {
	tb.Helper()
	m, err := img.Manifest()
	if err != nil {
		tb.Fatal(err)
	}
	out := []v1.Hash{m.Config.Digest}
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

// Mount sources are the other repositories of the push's registry that
// hold a blob (config or layer): not its own repository, not another
// registry's.
func TestMountSources(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	names := []string{"reg.example:5000/team/a:v1", "reg.example:5000/team/b:v1", "reg.example:5000/team/app:v0", "other.example/team/c:v1"}
	blobs := writeImages(t, s, len(names), func(i int) string { return names[i] })
	// A second tag of a's image adds nothing.
	a, err := s.Lookup(mustRef(t, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(a, mustRef(t, "reg.example:5000/team/a:v2")); err != nil {
		t.Fatal(err)
	}
	got := mountSources(s, mustRef(t, "reg.example:5000/team/app:v1"))
	want := map[v1.Hash][]string{}
	for i, repo := range []string{"team/a", "team/b"} {
		for _, d := range blobs[i] {
			want[d] = []string{repo}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("mountSources = %v, want %v", got, want)
	}
}

// An index names the blobs of its children, so that a multi-platform
// image pushed to another repository of its registry is mounted.
func TestMountSourcesIndex(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	idx, err := random.Index(256, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteIndex(context.Background(), idx, mustRef(t, "reg.example:5000/team/multi:v1")); err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want := map[v1.Hash][]string{}
	for _, c := range im.Manifests {
		img, err := idx.Image(c.Digest)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range blobsOf(t, img) {
			want[d] = []string{"team/multi"}
		}
	}
	got := mountSources(s, mustRef(t, "reg.example:5000/team/app:v1"))
	if len(want) != 9 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("mountSources = %v, want %v", got, want)
	}
}

// At most maxMountScan manifests are read.
func TestMountSourcesBound(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	writeImages(t, s, maxMountScan+6, func(i int) string { return fmt.Sprintf("reg.example:5000/team/app%d:v1", i) })
	if got := mountSources(s, mustRef(t, "reg.example:5000/team/new:v1")); len(got) != 2*maxMountScan {
		t.Errorf("mountSources named %d blobs, want those of %d images (%d)", len(got), maxMountScan, 2*maxMountScan)
	}
}

// BenchmarkMountSources: what a push spends finding mount sources in a
// store of 300 images of its registry, each in a repository of its own.
func BenchmarkMountSources(b *testing.B) {
	s := newStore(b)
	writeImages(b, s, 300, func(i int) string { return fmt.Sprintf("reg.example:5000/team/app%d:v1", i) })
	ref := mustRef(b, "reg.example:5000/team/new:v1")
	b.ResetTimer()
	for b.Loop() {
		if len(mountSources(s, ref)) == 0 {
			b.Fatal("no mount sources")
		}
	}
}

// A blob is mounted from the repository the image was pulled from, not
// from a repository it was only tagged into in the store (which the
// registry may not hold yet): only a source's first repository is tried.
func TestMountSourcesPreferRemote(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.WritePulled(context.Background(), img, mustRef(t, "reg.example:5000/base/os:v1"), d)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"reg.example:5000/aaa/local:v1", "reg.example:5000/zzz/local:v1"} {
		if err := s.Tag(e, mustRef(t, name)); err != nil {
			t.Fatal(err)
		}
	}
	got := mountSources(s, mustRef(t, "reg.example:5000/team/app:v1"))
	want := map[v1.Hash][]string{}
	for _, d := range blobsOf(t, img) {
		want[d] = []string{"base/os"}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("mountSources = %v, want %v", got, want)
	}
}
