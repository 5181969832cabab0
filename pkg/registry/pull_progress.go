package registry

import (
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// progressImage is an image whose layers are read with fetch and report
// the bytes read from them.
type progressImage struct {
	v1.Image
	progress ProgressFunc
	fetch    func(v1.Hash) (io.ReadCloser, error)
}

// watch announces the layers sink has and wraps the others for progress.
// Layer bodies come from fetch, unverified: the sink hashes every blob as
// it writes it and keeps nothing that does not match, so a second hash
// here (ggcr's) would only double the CPU a pull costs.
func watch(img v1.Image, sink PullSink, progress ProgressFunc, fetch func(v1.Hash) (io.ReadCloser, error)) (v1.Image, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Layers {
		if sink.HasBlob(d.Digest) {
			progress(Event{Kind: BlobExists, Digest: d.Digest, Size: d.Size, Layer: true})
		}
	}
	return &progressImage{Image: img, progress: progress, fetch: fetch}, nil
}

func (i *progressImage) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = &progressLayer{Layer: l, progress: i.progress, fetch: i.fetch}
	}
	return out, nil
}

func (i *progressImage) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return &progressLayer{Layer: l, progress: i.progress, fetch: i.fetch}, nil
}

type progressLayer struct {
	v1.Layer
	progress ProgressFunc
	fetch    func(v1.Hash) (io.ReadCloser, error)
}

func (l *progressLayer) Compressed() (io.ReadCloser, error) {
	d, err := l.Digest()
	if err != nil {
		return nil, err
	}
	size, err := l.Size()
	if err != nil {
		return nil, err
	}
	rc, err := l.fetch(d)
	if err != nil {
		return nil, err
	}
	ev := Event{Kind: BlobStarted, Digest: d, Size: size, Layer: true}
	l.progress(ev)
	return &countingReader{rc: rc, report: func(done int64) {
		ev.Kind, ev.Done = BlobProgress, done
		l.progress(ev)
	}, eof: func() {
		ev.Kind, ev.Done = BlobDone, size
		l.progress(ev)
	}}, nil
}

// progressIndex is an index whose images (at any depth) are wrapped by
// wrap as they are read, for progress and fetching.
type progressIndex struct {
	baseIndex
	wrap func(v1.Image) (v1.Image, error)
}

// baseIndex is the wrapped index, embedded under a name of its own (an embedded
// v1.ImageIndex would clash with the ImageIndex method).
type baseIndex = v1.ImageIndex

func (i *progressIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := i.baseIndex.Image(h)
	if err != nil {
		return nil, err
	}
	return i.wrap(img)
}

func (i *progressIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := i.baseIndex.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return &progressIndex{baseIndex: idx, wrap: i.wrap}, nil
}
