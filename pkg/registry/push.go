package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"

	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrDigestMismatch: content did not hash to the digest it was sent or
// fetched under (a manifest the registry stored as another digest, a blob
// whose body was altered).
var ErrDigestMismatch = errors.New("digest mismatch")

// Artifact is what a tag points at: a v1.Image or a v1.ImageIndex.
type Artifact interface {
	MediaType() (types.MediaType, error)
	Digest() (v1.Hash, error)
	RawManifest() ([]byte, error)
}

// PushTag is one tag to push and the image or index it should point at.
type PushTag struct {
	Tag      string
	Artifact Artifact
}

// PushOptions tune Push.
type PushOptions struct {
	// Progress receives an event per blob (existing, mounted, bytes sent).
	Progress ProgressFunc
	// Sources names, per blob digest, repositories of the destination
	// registry that may hold it; the first is tried as a cross-repository
	// mount before uploading. A failed mount costs nothing: the registry
	// answers it with an upload session that is used instead.
	Sources map[v1.Hash][]string
	// MountFrom is a repository of the destination registry to try
	// mounting every blob from that Sources names nothing for.
	MountFrom string
}

// PushResult is what Push did for one tag.
type PushResult struct {
	Tag    string
	Digest v1.Hash
	Size   int64 // manifest size in bytes
	// Unchanged is true when the tag already pointed at Digest and nothing
	// was sent for it.
	Unchanged bool
}

// Push sends tags to the repository repo names (its tag and digest, if any,
// are ignored). Every blob goes up at most once, after a HEAD shows the
// registry lacks it, by a cross-repository mount when a source is known and
// otherwise in a monolithic upload (POST, then one PUT with the body);
// up to the client's jobs blobs move at once. A manifest is sent only after
// its blobs, and not at all when the tag already points at it, so a push
// interrupted before the manifest leaves the tag as it was. Results come
// back sorted by tag.
func (c *Client) Push(ctx context.Context, repo reference.Reference, tags []PushTag, opts PushOptions) ([]PushResult, error) {
	nrepo, err := c.Repo(repo)
	if err != nil {
		return nil, err
	}
	scopes := []string{nrepo.Scope("push,pull")}
	seen := map[string]bool{nrepo.RepositoryStr(): true}
	if opts.MountFrom != "" && !seen[opts.MountFrom] {
		seen[opts.MountFrom] = true
		scopes = append(scopes, nrepo.Registry.Repo(opts.MountFrom).Scope("pull"))
	}
	for _, srcs := range opts.Sources {
		if len(srcs) > 0 && !seen[srcs[0]] {
			seen[srcs[0]] = true
			scopes = append(scopes, nrepo.Registry.Repo(srcs[0]).Scope("pull"))
		}
	}
	s, err := c.newXfer(ctx, nrepo, scopes)
	if err != nil {
		return nil, err
	}
	p := &pusher{
		c: c, s: s, opts: opts, progress: serialized(opts.Progress),
		sem: make(chan struct{}, c.jobs), blobs: map[v1.Hash]*future{}, manifests: map[v1.Hash]*future{},
	}
	results, err := p.push(ctx, tags)
	if err != nil {
		return nil, c.wireError(nrepo.RegistryStr(), fmt.Errorf("pushing %s: %w", repo.Name(), err))
	}
	return results, nil
}

// future is the outcome of one piece of work that several tags may wait on.
type future struct {
	done    chan struct{}
	err     error
	existed bool // the registry had it before this push
}

type pusher struct {
	c        *Client
	s        *xfer
	opts     PushOptions
	progress ProgressFunc
	sem      chan struct{} // bounds the blobs in flight

	mu        sync.Mutex
	blobs     map[v1.Hash]*future
	manifests map[v1.Hash]*future
}

// group is the tags that point at one artifact.
type group struct {
	digest   v1.Hash
	artifact Artifact
	raw      []byte
	mt       types.MediaType
	tags     []string
}

func (p *pusher) push(ctx context.Context, tags []PushTag) ([]PushResult, error) {
	var groups []*group
	byDigest := map[v1.Hash]*group{}
	for _, t := range tags {
		d, err := t.Artifact.Digest()
		if err != nil {
			return nil, err
		}
		g := byDigest[d]
		if g == nil {
			raw, err := t.Artifact.RawManifest()
			if err != nil {
				return nil, err
			}
			mt, err := t.Artifact.MediaType()
			if err != nil {
				return nil, err
			}
			g = &group{digest: d, artifact: t.Artifact, raw: raw, mt: mt}
			byDigest[d] = g
			groups = append(groups, g)
		}
		g.tags = append(g.tags, t.Tag)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		results  []PushResult
		firstErr error
		wg       sync.WaitGroup
	)
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, err := p.pushGroup(ctx, g)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				cancel()
				return
			}
			results = append(results, rs...)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Tag < results[j].Tag })
	return results, nil
}

// pushGroup pushes one artifact and points its tags at it. The first tag is
// checked before anything else: when it already points at the artifact, the
// artifact and its blobs are in the repository and only the other tags
// need a look (one HEAD each on a repeated push).
func (p *pusher) pushGroup(ctx context.Context, g *group) ([]PushResult, error) {
	size := int64(len(g.raw))
	result := func(tag string, unchanged bool) PushResult {
		return PushResult{Tag: tag, Digest: g.digest, Size: size, Unchanged: unchanged}
	}
	have, err := p.s.headManifest(ctx, g.tags[0])
	if err != nil {
		return nil, err
	}
	var results []PushResult
	rest := g.tags[1:]
	if have == g.digest {
		results = append(results, result(g.tags[0], true))
		for _, tag := range rest {
			if err := p.tagOnce(ctx, g, tag, true, &results, result); err != nil {
				return nil, err
			}
		}
		return results, nil
	}
	// Send the blobs (and child manifests of an index). When one of them
	// was missing, the manifest cannot be in the repository, so no tag
	// needs a HEAD before its PUT.
	existed, err := p.contents(ctx, g.artifact, g.mt)
	if err != nil {
		return nil, err
	}
	if err := p.putManifest(ctx, g.tags[0], g); err != nil {
		return nil, err
	}
	results = append(results, result(g.tags[0], false))
	for _, tag := range rest {
		if err := p.tagOnce(ctx, g, tag, existed, &results, result); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// tagOnce points tag at g, after a HEAD when the tag may already be there.
func (p *pusher) tagOnce(ctx context.Context, g *group, tag string, check bool, results *[]PushResult, result func(string, bool) PushResult) error {
	if check {
		have, err := p.s.headManifest(ctx, tag)
		if err != nil {
			return err
		}
		if have == g.digest {
			*results = append(*results, result(tag, true))
			return nil
		}
	}
	if err := p.putManifest(ctx, tag, g); err != nil {
		return err
	}
	*results = append(*results, result(tag, false))
	return nil
}

func (p *pusher) putManifest(ctx context.Context, ref string, g *group) error {
	return p.s.putManifest(ctx, ref, g.raw, g.mt, g.digest)
}

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
func (p *pusher) indexContents(ctx context.Context, idx v1.ImageIndex) (bool, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return false, err
	}
	futures := make([]*future, len(im.Manifests))
	for i, desc := range im.Manifests {
		var child Artifact
		switch {
		case desc.MediaType.IsIndex():
			child, err = idx.ImageIndex(desc.Digest)
		case desc.MediaType.IsImage():
			child, err = idx.Image(desc.Digest)
		default:
			return false, fmt.Errorf("index child %s has unsupported media type %q", desc.Digest, desc.MediaType)
		}
		if err != nil {
			return false, err
		}
		futures[i] = p.manifestFuture(ctx, desc, child)
	}
	return wait(ctx, futures)
}

// manifestFuture pushes one child manifest (and its contents) once.
func (p *pusher) manifestFuture(ctx context.Context, desc v1.Descriptor, child Artifact) *future {
	p.mu.Lock()
	f, ok := p.manifests[desc.Digest]
	if !ok {
		f = &future{done: make(chan struct{})}
		p.manifests[desc.Digest] = f
	}
	p.mu.Unlock()
	if ok {
		return f
	}
	go func() {
		defer close(f.done)
		existed, err := p.contents(ctx, child, desc.MediaType)
		if err != nil {
			f.err = err
			return
		}
		if existed {
			have, err := p.s.headManifest(ctx, desc.Digest.String())
			if err != nil {
				f.err = err
				return
			}
			if have == desc.Digest {
				f.existed = true
				return
			}
		}
		raw, err := child.RawManifest()
		if err != nil {
			f.err = err
			return
		}
		f.err = p.s.putManifest(ctx, desc.Digest.String(), raw, desc.MediaType, desc.Digest)
	}()
	return f
}

// imageBlobs pushes the config and layers of img, all at once.
func (p *pusher) imageBlobs(ctx context.Context, img v1.Image) (bool, error) {
	m, err := img.Manifest()
	if err != nil {
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
	p.mu.Lock()
	f, ok := p.blobs[desc.Digest]
	if !ok {
		f = &future{done: make(chan struct{})}
		p.blobs[desc.Digest] = f
	}
	p.mu.Unlock()
	if ok {
		return f
	}
	go func() {
		defer close(f.done)
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			f.err = ctx.Err()
			return
		}
		defer func() { <-p.sem }()
		f.existed, f.err = p.sendBlob(ctx, desc, layer, open)
		if f.err != nil {
			f.err = fmt.Errorf("blob %s: %w", desc.Digest, f.err)
		}
	}()
	return f
}

// sendBlob HEADs the blob, then mounts or uploads it; a whole upload is
// retried when the connection breaks or the registry fails transiently.
func (p *pusher) sendBlob(ctx context.Context, desc v1.Descriptor, layer bool, open func() (io.ReadCloser, error)) (bool, error) {
	ev := Event{Digest: desc.Digest, Size: desc.Size, Layer: layer}
	ok, err := p.s.headBlob(ctx, desc.Digest)
	if err != nil {
		return false, err
	}
	if ok {
		ev.Kind = BlobExists
		p.progress(ev)
		return true, nil
	}
	from := p.opts.MountFrom
	if srcs := p.opts.Sources[desc.Digest]; len(srcs) > 0 {
		from = srcs[0]
	}
	if from == p.s.repo.RepositoryStr() {
		from = ""
	}
	var lastErr error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, backoff(attempt)); err != nil {
				return false, err
			}
		}
		loc, err := p.s.startUpload(ctx, desc.Digest, from)
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
			return &countingReader{rc: rc, report: func(done int64) {
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
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if !temporary(err) {
			return false, err
		}
		lastErr = err
	}
	return false, lastErr
}

// temporary reports whether a failed upload is worth starting again from a
// new session: anything but a refusal (401, 403, 404) or a cancellation.
// The transport has retried single requests already; what remains is an
// upload session the registry lost or a body cut midway, which only a
// fresh POST and PUT can redo.
func temporary(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed:
			return false
		}
	}
	return true
}

// WithJobs returns a copy of c that moves n blobs at once (n < 1 keeps c's).
func (c *Client) WithJobs(n int) *Client {
	cc := *c
	if n > 0 {
		cc.jobs = n
	}
	return &cc
}
