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
// name(i); it returns each image's layer digest.
func writeImages(tb testing.TB, s *store.Store, n int, name func(i int) string) []v1.Hash {
	tb.Helper()
	var layers []v1.Hash
	for i := range n {
		img, err := random.Image(256, 1)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := s.WriteImage(context.Background(), img, mustRef(tb, name(i))); err != nil {
			tb.Fatal(err)
		}
		ls, _ := img.Layers()
		d, _ := ls[0].Digest()
		layers = append(layers, d)
	}
	return layers
}

// Mount sources are the other repositories of the push's registry that
// hold a blob: not its own repository, not another registry's.
func TestMountSources(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	names := []string{"reg.example:5000/team/a:v1", "reg.example:5000/team/b:v1", "reg.example:5000/team/app:v0", "other.example/team/c:v1"}
	layers := writeImages(t, s, len(names), func(i int) string { return names[i] })
	// A second tag of a's image adds nothing.
	a, err := s.Lookup(mustRef(t, names[0]))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(a, mustRef(t, "reg.example:5000/team/a:v2")); err != nil {
		t.Fatal(err)
	}
	got := mountSources(s, mustRef(t, "reg.example:5000/team/app:v1"))
	want := map[v1.Hash][]string{layers[0]: {"team/a"}, layers[1]: {"team/b"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("mountSources = %v, want %v", got, want)
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
