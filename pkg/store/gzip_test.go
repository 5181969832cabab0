package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
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
	if _, err := s.PushImage(ctx, e); !errors.Is(err, context.Canceled) {
		t.Fatalf("PushImage with a cancelled context: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.Dir(), gzipDir, "sha256", "*")); len(left) != 0 {
		t.Fatalf("a cancelled PushImage remembered %v", left)
	}
	if tmp := testenv.StoreTempFiles(t, s.Dir()); len(tmp) != 0 {
		t.Fatalf("a cancelled PushImage left %v", tmp)
	}
	img, err := s.PushImage(context.Background(), e)
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
	again, err := s.PushImage(context.Background(), e)
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
	third, err := s.PushImage(context.Background(), e)
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

// TestPushImageKeepsOthersAsStored: only an image loaded from a docker
// save archive (and its other tags) goes up gzip'd; one pulled or loaded
// from an OCI layout with uncompressed layers, an artifact whose "layer"
// is a file, is pushed as it is stored, under its own digest.
func TestPushImageKeepsOthersAsStored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	plain, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte("not a tar: an SBOM"), types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	plain = mutate.MediaType(plain, types.OCIManifestSchema1)
	e, err := s.WritePulled(ctx, plain, ref(t, "example.com/sbom:1"), digestOf(t, plain))
	if err != nil {
		t.Fatal(err)
	}
	if e.DockerSave {
		t.Fatal("a pulled image is marked as a docker save image")
	}
	if err := s.Tag(e, ref(t, "example.com/other:1")); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"example.com/sbom:1", "example.com/other:1"} {
		e, err := s.Lookup(ref(t, r))
		if err != nil {
			t.Fatal(err)
		}
		img, err := s.PushImage(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		if d := digestOf(t, img); d != e.Digest {
			t.Errorf("%s goes up as %s, stored as %s", r, d, e.Digest)
		}
	}

	archive := filepath.Join(t.TempDir(), "saved.tar")
	testenv.DockerSaveTar(t, archive, 1, 1000)
	es, err := s.Load(ctx, archive)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(es[0], ref(t, "example.com/retagged:1")); err != nil {
		t.Fatal(err)
	}
	tagged, err := s.Lookup(ref(t, "example.com/retagged:1"))
	if err != nil {
		t.Fatal(err)
	}
	if !tagged.DockerSave {
		t.Fatal("a new tag of a docker save image lost its mark")
	}
	img, err := s.PushImage(ctx, tagged)
	if err != nil {
		t.Fatal(err)
	}
	if d := digestOf(t, img); d == tagged.Digest {
		t.Error("a docker save image's new tag goes up uncompressed")
	}
}
