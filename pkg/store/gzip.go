package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"
)

// gzipDir holds gzipDir/sha256/HEX: the digest of the gzip'd form of the
// uncompressed layer blob HEX, made the first time an image holding it was
// pushed. The gzip'd blob itself is an ordinary blob of the store, kept by
// Prune as long as the layer is.
const gzipDir = "gzip"

// gzipTypes maps the uncompressed layer media types to the gzip'd ones a
// push sends instead.
var gzipTypes = map[types.MediaType]types.MediaType{
	types.OCIUncompressedLayer:    types.OCILayer,
	types.DockerUncompressedLayer: types.DockerLayer,
}

// PushImage returns the image entry e names as a push sends it. The
// uncompressed layers of an image loaded from a docker save archive
// (e.DockerSave; checked against the config's diff_ids when loaded) go
// up gzip'd, as docker push sends them, under a manifest naming the
// gzip'd blobs: many tools (crane validate, registries that scan layers)
// expect an image's layer to be compressed. Each layer is compressed once,
// deterministically, into the store and remembered, so that pushing the
// image again (to this registry or another) sends the same digests without
// compressing anything. Any other image, one pulled or loaded from an OCI
// layout, is Image(e.Digest) itself: its manifest is someone's (a
// registry's, a build's) and keeps its digest, as crane, skopeo and oras
// push it; an artifact's "layer" may not even be a tar.
func (s *Store) PushImage(ctx context.Context, e Entry) (v1.Image, error) {
	img, err := s.Image(e.Digest)
	if err != nil {
		return nil, err
	}
	if !e.DockerSave {
		return img, nil
	}
	h := e.Digest
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", h, err)
	}
	m = m.DeepCopy()
	zipped, err := s.gzipLayers(ctx, m.Layers)
	if err != nil {
		return nil, err
	}
	if len(zipped) == 0 {
		return img, nil
	}
	gz := map[v1.Hash]v1.Descriptor{}
	for i, l := range m.Layers {
		mt, ok := gzipTypes[l.MediaType]
		if !ok {
			continue
		}
		z := zipped[l.Digest]
		l.MediaType, l.Digest, l.Size = mt, z.Digest, z.Size
		m.Layers[i] = l
		gz[l.Digest] = l
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return partial.CompressedToImage(&gzImage{img: img, s: s, raw: raw, mt: m.MediaType, gz: gz})
}

// gzImage is a stored image with some layers replaced by their gzip'd
// blobs (see PushImage).
type gzImage struct {
	img v1.Image
	s   *Store
	raw []byte
	mt  types.MediaType
	gz  map[v1.Hash]v1.Descriptor
}

func (i *gzImage) MediaType() (types.MediaType, error) { return i.mt, nil }
func (i *gzImage) RawManifest() ([]byte, error)        { return i.raw, nil }
func (i *gzImage) RawConfigFile() ([]byte, error)      { return i.img.RawConfigFile() }

func (i *gzImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if d, ok := i.gz[h]; ok {
		return &blobLayer{s: i.s, d: d}, nil
	}
	return i.img.LayerByDigest(h)
}

// maxParallelGzip bounds the layers gzipLayers compresses at once: each
// holds its compressor's tables and two 1 MiB buffers, a few MiB in all,
// and past a few streams the disk, not the CPU, sets the pace.
const maxParallelGzip = 8

// gzipLayers is gzipLayer of each distinct uncompressed layer among
// layers, keyed by its digest: as many at once as there are CPUs (at most
// maxParallelGzip), since compressing is bound by CPU (a docker save
// image of 4 layers of 32 MiB, BenchmarkPushImageGzip: see
// bench/README.md).
func (s *Store) gzipLayers(ctx context.Context, layers []v1.Descriptor) (map[v1.Hash]v1.Descriptor, error) {
	todo := map[v1.Hash]bool{}
	for _, l := range layers {
		if _, ok := gzipTypes[l.MediaType]; ok {
			todo[l.Digest] = true
		}
	}
	var mu sync.Mutex
	zipped := map[v1.Hash]v1.Descriptor{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(min(runtime.GOMAXPROCS(0), maxParallelGzip))
	for h := range todo {
		g.Go(func() error {
			d, size, err := s.gzipLayer(gctx, h)
			if err != nil {
				return fmt.Errorf("compressing layer %s for the push: %w", h, err)
			}
			mu.Lock()
			zipped[h] = v1.Descriptor{Digest: d, Size: size}
			mu.Unlock()
			return nil
		})
	}
	return zipped, g.Wait()
}

// gzipLayer returns the digest and size of the gzip'd form of the
// uncompressed layer blob h: the remembered one when its blob is still in
// the store, else compressed now into the store and remembered. The
// compression is deterministic (no timestamp or name in the header, one
// level), so a blob pruned and compressed again has the same digest.
func (s *Store) gzipLayer(ctx context.Context, h v1.Hash) (v1.Hash, int64, error) {
	if d, size, ok := s.gzipped(h); ok {
		return d, size, nil
	}
	unlock, err := s.lock(gcLock, syscall.LOCK_SH)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	defer unlock()
	f, err := s.openBlob(h)
	if err != nil {
		return v1.Hash{}, 0, err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	go func() {
		zw, _ := gzip.NewWriterLevel(pw, gzip.DefaultCompression)
		bp := copyBufs.Get().(*[]byte)
		defer copyBufs.Put(bp)
		_, err := io.CopyBuffer(zw, onlyReader{ctxReader{ctx, f}}, *bp)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		pw.CloseWithError(err)
	}()
	t, err := s.ingest(pr, -1)
	pr.CloseWithError(errors.New("compression abandoned")) // ends the goroutine on a failed ingest
	if err != nil {
		return v1.Hash{}, 0, err
	}
	if err := s.commit(t, v1.Hash{}, -1); err != nil {
		return v1.Hash{}, 0, err
	}
	if err := s.syncBlobs(); err != nil {
		return v1.Hash{}, 0, err
	}
	if err := s.rememberGzip(h, t.digest); err != nil {
		return v1.Hash{}, 0, err
	}
	return t.digest, t.size, nil
}

// gzipped is the remembered gzip'd form of layer h, when its blob is there.
func (s *Store) gzipped(h v1.Hash) (v1.Hash, int64, bool) {
	b, err := os.ReadFile(s.path(gzipDir, h.Algorithm, h.Hex))
	if err != nil {
		return v1.Hash{}, 0, false
	}
	d, err := v1.NewHash(strings.TrimSpace(string(b)))
	if err != nil {
		return v1.Hash{}, 0, false
	}
	p, err := s.blobPath(d)
	if err != nil {
		return v1.Hash{}, 0, false
	}
	fi, err := os.Stat(p)
	if err != nil {
		return v1.Hash{}, 0, false
	}
	return d, fi.Size(), true
}

// rememberGzip records d as the gzip'd form of layer h (a temp file
// renamed into place, so a reader sees the whole record or none).
func (s *Store) rememberGzip(h, d v1.Hash) error {
	dir := s.path(gzipDir, h.Algorithm)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := s.tempDir()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(tmp, "gzip-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(d.String() + "\n")
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(f.Name(), s.path(gzipDir, h.Algorithm, h.Hex))
}

// markGzipped keeps the gzip'd form of each live layer (see Prune).
func (s *Store) markGzipped(live map[v1.Hash]bool) {
	for h := range live {
		if d, _, ok := s.gzipped(h); ok {
			live[d] = true
		}
	}
}
