package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// artifact reads the manifest id (a tag or digest) with the session's one
// bounded, verified, media-type-checked GET and returns it as a v1.Image
// or v1.ImageIndex whose children, config and layers are read through the
// session too: what pull and copy take from the registry is checked the
// way every other command's reads are, and the manifest is read once.
func (s *session) artifact(ctx context.Context, id string) (Artifact, error) {
	a, err := s.artifactOf(ctx, id)
	return a, s.fault(err)
}

// artifactOf is artifact, its errors not yet marked as the source's.
func (s *session) artifactOf(ctx context.Context, id string) (Artifact, error) {
	raw, mh, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case mh.MediaType.IsIndex():
		return &sessionIndex{s: s, ctx: ctx, raw: raw, head: mh}, nil
	case mh.MediaType.IsImage():
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("manifest %s/%s %s: %w", s.host, s.repo, id, err)
		}
		if err := checkManifestSizes(fmt.Sprintf("manifest %s/%s %s", s.host, s.repo, id), m); err != nil {
			return nil, err
		}
		img := &sessionImage{s: s, ctx: ctx, raw: raw, mt: mh.MediaType, m: m}
		img.config = sync.OnceValues(func() ([]byte, error) {
			b, err := s.configBlob(ctx, m.Config)
			return b, s.fault(err)
		})
		return partial.CompressedToImage(img)
	}
	return nil, fmt.Errorf("manifest %s/%s %s has media type %q, neither an image nor an index", s.host, s.repo, id, mh.MediaType)
}

// sessionIndex is an index read by session.artifact.
type sessionIndex struct {
	s    *session
	ctx  context.Context
	raw  []byte
	head manifestHead
}

func (i *sessionIndex) MediaType() (types.MediaType, error) { return i.head.MediaType, nil }
func (i *sessionIndex) Digest() (v1.Hash, error)            { return i.head.Digest, nil }
func (i *sessionIndex) Size() (int64, error)                { return i.head.Size, nil }
func (i *sessionIndex) RawManifest() ([]byte, error)        { return i.raw, nil }

func (i *sessionIndex) IndexManifest() (*v1.IndexManifest, error) {
	im, err := v1.ParseIndexManifest(bytes.NewReader(i.raw))
	if err != nil {
		return nil, err
	}
	if err := checkIndexSizes(fmt.Sprintf("index %s/%s %s", i.s.host, i.s.repo, i.head.Digest), im); err != nil {
		return nil, err
	}
	return im, nil
}

func (i *sessionIndex) Image(h v1.Hash) (v1.Image, error) {
	a, err := i.s.artifact(i.ctx, h.String())
	if err != nil {
		return nil, err
	}
	img, ok := a.(v1.Image)
	if !ok {
		return nil, fmt.Errorf("child %s of index %s is not an image", h, i.head.Digest)
	}
	return img, nil
}

func (i *sessionIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	a, err := i.s.artifact(i.ctx, h.String())
	if err != nil {
		return nil, err
	}
	idx, ok := a.(v1.ImageIndex)
	if !ok {
		return nil, fmt.Errorf("child %s of index %s is not an index", h, i.head.Digest)
	}
	return idx, nil
}

// sessionImage is the core of an image read by session.artifact; its
// config is fetched once (bounded and verified) however often it is asked
// for, so pull can fetch it while the layers stream.
type sessionImage struct {
	s      *session
	ctx    context.Context
	raw    []byte
	mt     types.MediaType
	m      *v1.Manifest
	config func() ([]byte, error)
}

func (i *sessionImage) MediaType() (types.MediaType, error) { return i.mt, nil }
func (i *sessionImage) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *sessionImage) RawConfigFile() ([]byte, error)      { return i.config() }

func (i *sessionImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, d := range i.m.Layers {
		if d.Digest == h {
			return &sessionLayer{s: i.s, ctx: i.ctx, desc: d}, nil
		}
	}
	return nil, fmt.Errorf("image has no layer %s", h)
}

// sessionLayer is a layer of a sessionImage, its body checked against its
// digest and size as it is read, unless the session reports layer progress
// for a pull (see session.layerProgress).
type sessionLayer struct {
	s    *session
	ctx  context.Context
	desc v1.Descriptor
}

func (l *sessionLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *sessionLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *sessionLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }

func (l *sessionLayer) Compressed() (io.ReadCloser, error) {
	rc, err := l.s.getBlob(l.ctx, l.desc.Digest)
	if err != nil {
		return nil, err
	}
	progress := l.s.layerProgress
	if progress == nil {
		return &blobReader{rc: rc, want: l.desc, h: sha256.New()}, nil
	}
	ev := Event{Kind: BlobStarted, Digest: l.desc.Digest, Size: l.desc.Size, Layer: true}
	progress(ev)
	return &blobReader{rc: rc, want: l.desc, report: func(done int64) {
		ev.Kind, ev.Done = BlobProgress, done
		progress(ev)
	}, stored: func() {
		ev.Kind, ev.Done = BlobDone, l.desc.Size
		progress(ev)
	}}, nil
}
