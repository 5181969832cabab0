package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ggcrvalidate "github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestPushImageGzipsUncompressedLayers: a docker save archive's layers are
// stored uncompressed; PushImage names gzip'd forms of them, valid, made
// once and the same on every call (its layers compressed at once, each in
// its place); Prune keeps them while the image is there and drops them,
// and their records, once it is gone.
func TestPushImageGzipsUncompressedLayers(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	archive := filepath.Join(t.TempDir(), "big.tar")
	testenv.DockerSaveTar(t, archive, 4, 10_000)
	es, err := s.Load(context.Background(), archive)
	if err != nil {
		t.Fatal(err)
	}
	e := es[0]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.PushImage(ctx, e.Digest); !errors.Is(err, context.Canceled) {
		t.Fatalf("PushImage with a cancelled context: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.Dir(), gzipDir, "sha256", "*")); len(left) != 0 {
		t.Fatalf("a cancelled PushImage remembered %v", left)
	}
	if tmp := testenv.StoreTempFiles(t, s.Dir()); len(tmp) != 0 {
		t.Fatalf("a cancelled PushImage left %v", tmp)
	}
	img, err := s.PushImage(context.Background(), e.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := ggcrvalidate.Image(img); err != nil {
		t.Fatalf("pushed form does not validate: %v", err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayer || !s.HasBlob(l.Digest) {
			t.Errorf("layer %s: %s, in the store %v", l.Digest, l.MediaType, s.HasBlob(l.Digest))
		}
	}
	d := digestOf(t, img)
	if d == e.Digest {
		t.Fatal("pushed form has the stored digest")
	}

	if _, err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	again, err := s.PushImage(context.Background(), e.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if d2 := digestOf(t, again); d2 != d {
		t.Errorf("second PushImage: %s, first %s", d2, d)
	}
	for _, l := range m.Layers {
		if !s.HasBlob(l.Digest) {
			t.Errorf("prune removed the gzip'd layer %s of a tagged image", l.Digest)
		}
	}

	// Compressed again after its blob is gone: the same bytes.
	os.Remove(filepath.Join(s.Dir(), "blobs", "sha256", m.Layers[0].Digest.Hex))
	third, err := s.PushImage(context.Background(), e.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if d3 := digestOf(t, third); d3 != d {
		t.Errorf("compressed again: %s, first %s", d3, d)
	}

	if _, err := s.Remove(e.Ref, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(s.Dir(), gzipDir, "sha256", "*"))
	for _, l := range m.Layers {
		if s.HasBlob(l.Digest) {
			t.Errorf("gzip'd layer %s outlived its image", l.Digest)
		}
	}
	if len(left) != 0 {
		t.Errorf("records left after prune: %v", left)
	}
}
