package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	ggcrvalidate "github.com/google/go-containerregistry/pkg/v1/validate"
)

// TestReadFromBlobs: Image and Index read what they name from its blob,
// as ggcr's layout reader would give it (the same digests, valid images);
// a child the index does not list is not found, one the store lacks is
// missing only when read, and an index is not taken for an image.
func TestReadFromBlobs(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	idx, err := random.Index(256, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.WriteIndex(context.Background(), idx, ref(t, "multi:1"))
	if err != nil {
		t.Fatal(err)
	}
	back, err := s.Index(e.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := ggcrvalidate.Index(back); err != nil {
		t.Fatalf("index read back does not validate: %v", err)
	}
	if d := digestOf(t, back); d != e.Digest {
		t.Fatalf("index digest %s, stored %s", d, e.Digest)
	}
	im, err := back.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	im.Manifests = nil // a copy: the index is not changed through it
	first, _ := back.IndexManifest()
	if len(first.Manifests) != 3 {
		t.Fatalf("IndexManifest shares its slice: %d children left", len(first.Manifests))
	}
	child := first.Manifests[0]
	img, err := s.Image(child.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if err := ggcrvalidate.Image(img); err != nil {
		t.Fatalf("child read back does not validate: %v", err)
	}
	if mt, _ := img.MediaType(); mt != child.MediaType {
		t.Errorf("media type %s, the index says %s", mt, child.MediaType)
	}

	if _, err := back.Image(e.Digest); !errors.Is(err, ErrNotFound) {
		t.Errorf("a digest the index does not list (its own): %v", err)
	}
	asImage, err := s.Image(e.Digest) // lazily: what it is shows when it is read
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asImage.Manifest(); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("an index read as an image: %v", err)
	}

	gone := first.Manifests[1].Digest
	if err := os.Remove(filepath.Join(s.Dir(), "blobs", gone.Algorithm, gone.Hex)); err != nil {
		t.Fatal(err)
	}
	lazy, err := back.Image(gone)
	if err != nil {
		t.Fatalf("a child the store lacks, before it is read: %v", err)
	}
	if _, err := lazy.Manifest(); !errors.Is(err, ErrNotFound) {
		t.Errorf("a child the store lacks, read: %v", err)
	}
	if _, err := s.Image(gone); !errors.Is(err, ErrNotFound) {
		t.Errorf("Image of a missing blob: %v", err)
	}
}
