package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// contents makes sure everything a, of media type mt, refers to is in the
// repository, and reports whether all of it was there already.
func (p *pusher) contents(ctx context.Context, a Artifact, mt types.MediaType) (bool, error) {
	if mt.IsIndex() {
		idx, ok := a.(v1.ImageIndex)
		if !ok {
			return false, fmt.Errorf("%s is an index but cannot be read as one", mt)
		}
		return p.indexContents(ctx, idx)
	}
	img, ok := a.(v1.Image)
	if !ok {
		return false, fmt.Errorf("%s cannot be read as an image", mt)
	}
	return p.imageBlobs(ctx, img)
}

// indexContents pushes every child of idx by digest, children in parallel.
// A child is read and walked once per push, however many indexes list it
// and however often: nested indexes that repeat a child would otherwise
// multiply the reads.
func (p *pusher) indexContents(ctx context.Context, idx v1.ImageIndex) (bool, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return false, err
	}
	if err := checkIndexSizes("index to push", im); err != nil {
		return false, err
	}
	futures := make([]*future, len(im.Manifests))
	for i, desc := range im.Manifests {
		if !desc.MediaType.IsIndex() && !desc.MediaType.IsImage() {
			return false, fmt.Errorf("index child %s has unsupported media type %q", desc.Digest, desc.MediaType)
		}
		futures[i] = p.once(p.manifests, desc.Digest, func() (bool, error) {
			var child Artifact
			var err error
			if desc.MediaType.IsIndex() {
				child, err = idx.ImageIndex(desc.Digest)
			} else {
				child, err = idx.Image(desc.Digest)
			}
			if err != nil {
				return false, err
			}
			return p.pushChild(ctx, desc, child)
		})
	}
	return wait(ctx, futures)
}

// pushChild pushes the contents of an index's child, then its manifest by
// digest unless the repository has it.
func (p *pusher) pushChild(ctx context.Context, desc v1.Descriptor, child Artifact) (bool, error) {
	existed, err := p.contents(ctx, child, desc.MediaType)
	if err != nil {
		return false, err
	}
	if existed {
		have, err := p.s.digestOf(ctx, desc.Digest.String())
		if err != nil {
			return false, err
		}
		if have == desc.Digest {
			return true, nil
		}
	}
	raw, err := child.RawManifest()
	if err != nil {
		return false, err
	}
	return false, p.s.put(ctx, desc.Digest.String(), raw, desc.MediaType, desc.Digest)
}

// existing reports every blob of an image the repository already has
// under its tag as there ("Layer already exists", as docker push shows a
// repeated push), without asking: the manifest is only accepted with its
// blobs present.
func (p *pusher) existing(a Artifact) {
	img, ok := a.(v1.Image)
	if !ok {
		return
	}
	m, err := img.Manifest()
	if err != nil {
		return
	}
	p.progress(Event{Kind: BlobExists, Digest: m.Config.Digest, Size: m.Config.Size})
	for _, d := range m.Layers {
		if d.MediaType.IsDistributable() {
			p.progress(Event{Kind: BlobExists, Digest: d.Digest, Size: d.Size, Layer: true})
		}
	}
}

// once starts work for key unless this push has already and returns the
// future of its outcome.
func (p *pusher) once(m map[v1.Hash]*future, key v1.Hash, work func() (bool, error)) *future {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, ok := m[key]
	if !ok {
		f = p.start(work)
		m[key] = f
	}
	return f
}

// start runs work in a goroutine that Push waits for and returns the
// future of its outcome.
func (p *pusher) start(work func() (bool, error)) *future {
	f := &future{done: make(chan struct{})}
	p.inflight.Add(1)
	go func() {
		defer p.inflight.Done()
		defer close(f.done)
		f.existed, f.err = work()
	}()
	return f
}

// imageBlobs pushes the config and layers of img, all at once.
func (p *pusher) imageBlobs(ctx context.Context, img v1.Image) (bool, error) {
	m, err := img.Manifest()
	if err != nil {
		return false, err
	}
	if err := checkManifestSizes("image to push", m); err != nil {
		return false, err
	}
	futures := []*future{p.blobFuture(ctx, m.Config, false, func() (io.ReadCloser, error) {
		raw, err := img.RawConfigFile()
		if err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(raw)), nil
	})}
	for _, desc := range m.Layers {
		if !desc.MediaType.IsDistributable() {
			continue // foreign layers stay where their URLs say
		}
		open := func() (io.ReadCloser, error) {
			l, err := img.LayerByDigest(desc.Digest)
			if err != nil {
				return nil, err
			}
			return l.Compressed()
		}
		futures = append(futures, p.blobFuture(ctx, desc, true, open))
	}
	return wait(ctx, futures)
}

// wait waits for every future and reports whether all existed already.
func wait(ctx context.Context, futures []*future) (bool, error) {
	existed := true
	for _, f := range futures {
		select {
		case <-f.done:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if f.err != nil {
			return false, f.err
		}
		existed = existed && f.existed
	}
	return existed, nil
}

// blobFuture sends the blob desc describes once per push, however many
// images share it.
func (p *pusher) blobFuture(ctx context.Context, desc v1.Descriptor, layer bool, open func() (io.ReadCloser, error)) *future {
	return p.once(p.blobs, desc.Digest, func() (bool, error) {
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		defer func() { <-p.sem }()
		existed, err := p.sendBlob(ctx, desc, layer, open)
		if err != nil {
			return false, fmt.Errorf("blob %s: %w", desc.Digest, err)
		}
		return existed, nil
	})
}

// sendBlob finds out whether the repository has the blob (pusher.have),
// then mounts or uploads it. Its requests share one retry budget: the
// transport retries each as the policy allows, and an upload whose
// session the registry lost (or spoilt with what a cut body left in it)
// is started again on a new session, within the same budget, never after
// the transport has given up.
func (p *pusher) sendBlob(ctx context.Context, desc v1.Descriptor, layer bool, open func() (io.ReadCloser, error)) (bool, error) {
	ctx, budget := ctltransport.WithBudget(ctx)
	ev := Event{Digest: desc.Digest, Size: desc.Size, Layer: layer}
	from := p.opts.MountFrom
	if srcs := p.opts.Sources[desc.Digest]; len(srcs) > 0 {
		from = srcs[0]
	}
	if from == p.s.repo {
		from = ""
	}
	exists, loc, err := p.have(ctx, desc.Digest, from)
	if err != nil {
		return false, err
	}
	if exists {
		ev.Kind = BlobExists
		p.progress(ev)
		return true, nil
	}
	for {
		if loc == "" {
			loc, err = p.s.startUpload(ctx, desc.Digest, from)
		}
		if err != nil && from != "" && ctx.Err() == nil {
			// Some registries refuse a mount outright; upload instead.
			from = ""
			loc, err = p.s.startUpload(ctx, desc.Digest, "")
		}
		if err != nil {
			return false, err
		}
		if loc == "" {
			ev.Kind, ev.From = BlobMounted, from
			p.progress(ev)
			return false, nil
		}
		ev.Kind = BlobStarted
		p.progress(ev)
		counted := func() (io.ReadCloser, error) {
			rc, err := open()
			if err != nil {
				return nil, err
			}
			return &blobReader{rc: rc, report: func(done int64) {
				p.progress(Event{Kind: BlobProgress, Digest: desc.Digest, Size: desc.Size, Done: done, Layer: layer})
			}}, nil
		}
		err = p.s.putBlob(ctx, loc, desc.Digest, desc.Size, counted)
		if err == nil {
			ev.Kind, ev.Done = BlobDone, desc.Size
			p.progress(ev)
			return false, nil
		}
		p.s.cancelUpload(loc)
		if !sessionLost(err) {
			return false, err
		}
		if err := budget.Retry(ctx, p.s.host, err); err != nil {
			return false, err
		}
		loc = "" // a new session
	}
}

// sessionLost reports whether a failed upload is worth a new session: the
// registry no longer knows the session (BLOB_UPLOAD_UNKNOWN), or refused
// what it holds (BLOB_UPLOAD_INVALID, DIGEST_INVALID: part of a body cut
// midway, then the whole body again). Every other failure either was
// retried by the transport already or would fail the same way again.
func sessionLost(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	for _, d := range te.Errors {
		switch d.Code {
		case transport.BlobUploadUnknownErrorCode, transport.BlobUploadInvalidErrorCode, transport.DigestInvalidErrorCode:
			return true
		}
	}
	return false
}
