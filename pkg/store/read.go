package store

import (
	"fmt"
	"io"
	"sync"
	"syscall"

	"github.com/ctl-dev/ctl/pkg/platform"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image returns the image whose manifest digest is h: an Entry's Digest,
// or a child of an index the store holds. Its manifest, like its layers,
// is read from its blob when first asked for; index.json is not read
// (ggcr's layout reader parses all of it for each image it opens: 1.1 to
// 1.6 ms an image in a store of 300, BenchmarkImage).
func (s *Store) Image(h v1.Hash) (v1.Image, error) {
	if err := s.present(h); err != nil {
		return nil, err
	}
	return s.image(v1.Descriptor{Digest: h})
}

// Index returns the image index whose digest is h, read from its blob.
// Its children are read from the store when asked for; a platform that
// was never pulled is missing (ErrNotFound from its blob).
func (s *Store) Index(h v1.Hash) (v1.ImageIndex, error) {
	if err := s.present(h); err != nil {
		return nil, err
	}
	raw, err := s.readBlob(h, maxManifest)
	if err != nil {
		return nil, err
	}
	im, err := v1.ParseIndexManifest(bytesReader(raw))
	if err != nil {
		return nil, invalid("index %s is malformed: %v", h, err)
	}
	return &storedIndex{s: s, raw: raw, im: im}, nil
}

// present is nil when the blob h is in the store.
func (s *Store) present(h v1.Hash) error {
	if _, err := s.blobPath(h); err != nil {
		return err
	}
	if !s.HasBlob(h) {
		return fmt.Errorf("%w: %s", ErrNotFound, h)
	}
	return nil
}

func (s *Store) image(d v1.Descriptor) (v1.Image, error) {
	i := &storedImage{s: s, d: d}
	i.manifest = sync.OnceValues(func() (storedManifest, error) {
		raw, err := s.readBlob(d.Digest, maxManifest)
		if err != nil {
			return storedManifest{}, err
		}
		m, err := v1.ParseManifest(bytesReader(raw))
		if err != nil {
			return storedManifest{}, invalid("manifest %s is malformed: %v", d.Digest, err)
		}
		if m.MediaType.IsIndex() {
			return storedManifest{}, invalid("%s is an index, not an image", d.Digest)
		}
		return storedManifest{raw, m}, nil
	})
	img, err := partial.CompressedToImage(i)
	if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", d.Digest, err)
	}
	return img, nil
}

// storedImage is an image of the store (see Image).
type storedImage struct {
	s *Store
	// d is the image's digest, and its media type when an index lists it.
	d        v1.Descriptor
	manifest func() (storedManifest, error)
}

// storedManifest is an image's manifest as stored, and parsed.
type storedManifest struct {
	raw []byte
	m   *v1.Manifest
}

func (i *storedImage) RawManifest() ([]byte, error) {
	sm, err := i.manifest()
	return sm.raw, err
}

func (i *storedImage) parsed() (*v1.Manifest, error) {
	sm, err := i.manifest()
	return sm.m, err
}

func (i *storedImage) MediaType() (types.MediaType, error) {
	if i.d.MediaType != "" {
		return i.d.MediaType, nil
	}
	m, err := i.parsed()
	if err != nil {
		return "", err
	}
	if m.MediaType == "" {
		return types.OCIManifestSchema1, nil // optional in an OCI manifest
	}
	return m.MediaType, nil
}

func (i *storedImage) RawConfigFile() ([]byte, error) {
	m, err := i.parsed()
	if err != nil {
		return nil, err
	}
	return i.s.readBlob(m.Config.Digest, maxConfig)
}

func (i *storedImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := i.parsed()
	if err != nil {
		return nil, err
	}
	if h == m.Config.Digest {
		return &blobLayer{s: i.s, d: m.Config}, nil
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			return &blobLayer{s: i.s, d: l}, nil
		}
	}
	return nil, fmt.Errorf("%w: blob %s is not in image %s", ErrNotFound, h, i.d.Digest)
}

// blobLayer is a layer (or config) blob of the store.
type blobLayer struct {
	s *Store
	d v1.Descriptor
}

func (l *blobLayer) Digest() (v1.Hash, error)            { return l.d.Digest, nil }
func (l *blobLayer) Size() (int64, error)                { return l.d.Size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return l.d.MediaType, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error)  { return l.s.openBlob(l.d.Digest) }
func (l *blobLayer) Descriptor() (*v1.Descriptor, error) { d := l.d; return &d, nil }

// storedIndex is an index of the store (see Index).
type storedIndex struct {
	s   *Store
	raw []byte
	im  *v1.IndexManifest
}

func (x *storedIndex) MediaType() (types.MediaType, error) {
	if x.im.MediaType == "" {
		return types.OCIImageIndex, nil // optional in an OCI index
	}
	return x.im.MediaType, nil
}

func (x *storedIndex) Digest() (v1.Hash, error)                  { return partial.Digest(x) }
func (x *storedIndex) Size() (int64, error)                      { return int64(len(x.raw)), nil }
func (x *storedIndex) RawManifest() ([]byte, error)              { return x.raw, nil }
func (x *storedIndex) IndexManifest() (*v1.IndexManifest, error) { return x.im.DeepCopy(), nil }

// child is the entry of h in the index, as ggcr's layout index answers
// for a digest it does not list.
func (x *storedIndex) child(h v1.Hash) (v1.Descriptor, error) {
	for _, d := range x.im.Manifests {
		if d.Digest == h {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("%w: %s is not in the index", ErrNotFound, h)
}

func (x *storedIndex) Image(h v1.Hash) (v1.Image, error) {
	d, err := x.child(h)
	if err != nil {
		return nil, err
	}
	return x.s.image(v1.Descriptor{Digest: d.Digest, MediaType: d.MediaType})
}

func (x *storedIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	if _, err := x.child(h); err != nil {
		return nil, err
	}
	return x.s.Index(h)
}

// Hold keeps Prune from removing blobs until release is called. Images read
// from the store open their layers lazily: hold the store while reading
// them (push, save), so that a concurrent "ctl image prune" after an rmi
// cannot pull a blob from under the reader. It takes a shared lock on the
// store's directory, which Prune locks exclusively: no lock file is made,
// and a store the user cannot write is held all the same.
func (s *Store) Hold() (release func(), err error) {
	if s.absent {
		return func() {}, nil // nothing to hold: nothing is stored
	}
	return s.lockDir(syscall.LOCK_SH)
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
