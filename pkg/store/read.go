package store

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Image returns the image whose manifest digest is h (an Entry's Digest, or a
// child of an index read with Index). Layers are read lazily from their blob
// files when asked for.
func (s *Store) Image(h v1.Hash) (v1.Image, error) {
	idx, err := s.rootIndex(h)
	if err != nil {
		return nil, err
	}
	img, err := idx.Image(h)
	if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", h, err)
	}
	return img, nil
}

// Index returns the image index whose digest is h. Its children are read
// from the store when asked for; a platform that was never pulled is
// missing (ErrNotFound from its blob).
func (s *Store) Index(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := s.rootIndex(h)
	if err != nil {
		return nil, err
	}
	ii, err := idx.ImageIndex(h)
	if err != nil {
		return nil, fmt.Errorf("reading index %s: %w", h, err)
	}
	return ii, nil
}

// rootIndex is index.json as a v1.ImageIndex, through ggcr's layout reader,
// with the manifest h known to be present.
func (s *Store) rootIndex(h v1.Hash) (v1.ImageIndex, error) {
	if _, err := s.blobPath(h); err != nil {
		return nil, err
	}
	if !s.HasBlob(h) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, h)
	}
	return layout.Path(s.dir).ImageIndex()
}
