package store

import (
	"fmt"
	"os"
	"syscall"

	"github.com/ctl-dev/ctl/pkg/platform"
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

// Hold keeps Prune from removing blobs until release is called. Images read
// from the store open their layers lazily: hold the store while reading
// them (push, save), so that a concurrent "ctl image prune" after an rmi
// cannot pull a blob from under the reader.
func (s *Store) Hold() (release func(), err error) {
	release, err = s.lock(gcLock, syscall.LOCK_SH)
	if err != nil {
		if f, oerr := os.Open(s.path(gcLock)); oerr == nil {
			// A read-only store: a shared lock needs no write access.
			if syscall.Flock(int(f.Fd()), syscall.LOCK_SH) == nil {
				return func() { f.Close() }, nil
			}
			f.Close()
		}
		if _, werr := os.Stat(s.path(gcLock)); werr != nil {
			// No lock file and none can be made: no writer can run either.
			return func() {}, nil
		}
	}
	return release, err
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

// Manifest is the manifest e names, byte for byte as the store holds it,
// with its descriptor. With want, it answers as a registry's index would:
// an index gives the manifest of want's entry among those the store holds,
// and an image must be of that platform (else a *platform.NotFoundError
// naming the platforms there are).
func (s *Store) Manifest(e Entry, want *v1.Platform) ([]byte, v1.Descriptor, error) {
	d := v1.Descriptor{MediaType: e.MediaType, Digest: e.Digest}
	raw, err := s.readBlob(d.Digest, maxManifest)
	if err != nil {
		return nil, d, err
	}
	d.Size = int64(len(raw))
	if want == nil {
		return raw, d, nil
	}
	if !d.MediaType.IsIndex() {
		m, err := v1.ParseManifest(bytesReader(raw))
		if err != nil {
			return nil, d, invalid("manifest %s is malformed: %v", d.Digest, err)
		}
		return raw, d, s.matchConfig(m, platform.Select(*want))
	}
	im, err := v1.ParseIndexManifest(bytesReader(raw))
	if err != nil {
		return nil, d, invalid("index %s is malformed: %v", d.Digest, err)
	}
	if d, err = s.pickStored(im, want); err != nil {
		return nil, d, err
	}
	raw, err = s.readBlob(d.Digest, maxManifest)
	return raw, d, err
}

// ConfigFile is the image config d (a manifest's config descriptor).
func (s *Store) ConfigFile(d v1.Descriptor) (*v1.ConfigFile, error) {
	raw, err := s.readBlob(d.Digest, maxConfig)
	if err != nil {
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytesReader(raw))
	if err != nil {
		return nil, invalid("config %s is malformed: %v", d.Digest, err)
	}
	return cf, nil
}
