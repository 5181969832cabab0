package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PullSink is where pulled images go (the local store). WriteBlob is
// called concurrently for different blobs.
type PullSink interface {
	// HasBlob reports whether the blob is stored already; it is not fetched
	// again.
	HasBlob(h v1.Hash) (bool, error)
	// WriteBlob stores the blob desc describes from r. r fails at its end
	// when the content does not match desc's digest and size; nothing may
	// become visible then.
	WriteBlob(ctx context.Context, desc v1.Descriptor, r io.Reader) error
	// Resolve returns the manifest digest ref points at locally, if any.
	Resolve(ref reference.Reference) (v1.Hash, bool)
	// PutImage records img (whose blobs are all written) under ref.
	PutImage(ctx context.Context, ref reference.Reference, img v1.Image) error
}

// PullOptions tune Pull.
type PullOptions struct {
	// Platform picks the image out of an index; nil means DefaultPlatform.
	Platform *v1.Platform
	// Progress receives an event per layer (existing, bytes fetched).
	Progress ProgressFunc
}

// PullResult is what Pull did for one reference.
type PullResult struct {
	Ref reference.Reference
	// Digest is what the reference resolved to on the registry (the index
	// digest for a multi-platform tag), as docker prints it.
	Digest v1.Hash
	// Image is the digest of the platform image stored under Ref.
	Image v1.Hash
	// UpToDate is true when the store had that image under Ref already.
	UpToDate bool
}

// DefaultPlatform is this machine's platform, as docker picks it: the
// machine's architecture (and ARM variant), and linux as the OS on macOS
// and Windows, whose containers run in a Linux VM.
func DefaultPlatform() v1.Platform {
	p := v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	if p.OS == "darwin" || p.OS == "windows" {
		p.OS = "linux"
	}
	switch p.Architecture {
	case "arm64":
		p.Variant = "v8"
	case "arm":
		p.Variant = "v7"
	}
	return p
}

// ParsePlatform reads OS/ARCH[/VARIANT].
func ParsePlatform(s string) (*v1.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return nil, fmt.Errorf("%w: platform %q: want OS/ARCH[/VARIANT]", reference.ErrInvalid, s)
	}
	p := &v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}

// puller returns ggcr options that share one transport (one ping and token
// per repository) for every request of an operation.
func (c *Client) puller(ctx context.Context, extra ...remote.Option) ([]remote.Option, error) {
	opts := append([]remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(c.keychain),
		remote.WithTransport(c.transport),
		remote.WithUserAgent(c.userAgent),
		remote.WithJobs(c.jobs),
	}, extra...)
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	return append(opts, remote.Reuse(p)), nil
}

// Pull fetches ref into sink: an index is resolved to the platform, every
// blob is verified against its digest and size before the sink keeps it,
// blobs the sink has are not fetched, and layers come down in parallel.
func (c *Client) Pull(ctx context.Context, ref reference.Reference, sink PullSink, opts PullOptions) (*PullResult, error) {
	ropts, err := c.puller(ctx)
	if err != nil {
		return nil, err
	}
	return c.pull(ctx, ref, sink, opts, ropts)
}

// PullAllTags pulls every tag of repo (its tag or digest is ignored), in
// tag order.
func (c *Client) PullAllTags(ctx context.Context, repo reference.Reference, sink PullSink, opts PullOptions) ([]PullResult, error) {
	ropts, err := c.puller(ctx)
	if err != nil {
		return nil, err
	}
	tags, err := c.listTags(ctx, repo, ropts)
	if err != nil {
		return nil, err
	}
	var results []PullResult
	for _, tag := range tags {
		r, err := repo.WithTag(tag)
		if err != nil {
			return nil, err
		}
		res, err := c.pull(ctx, r, sink, opts, ropts)
		if err != nil {
			return nil, err
		}
		results = append(results, *res)
	}
	return results, nil
}

// listTags lists repo's tags; a repository without tags is not found.
func (c *Client) listTags(ctx context.Context, repo reference.Reference, ropts []remote.Option) ([]string, error) {
	nrepo, err := c.Repo(repo)
	if err != nil {
		return nil, err
	}
	tags, err := remote.List(nrepo, ropts...)
	if err != nil {
		return nil, c.wireError(nrepo.RegistryStr(), fmt.Errorf("listing tags of %s: %w", repo.Name(), err))
	}
	if len(tags) == 0 {
		return nil, notFoundError{fmt.Errorf("repository %s has no tags", repo.Name())}
	}
	return tags, nil
}

func (c *Client) pull(ctx context.Context, ref reference.Reference, sink PullSink, opts PullOptions, ropts []remote.Option) (*PullResult, error) {
	nref, err := c.Ref(ref)
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error {
		return c.wireError(nref.Context().RegistryStr(), fmt.Errorf("pulling %s: %w", ref.String(), err))
	}
	platform := DefaultPlatform()
	if opts.Platform != nil {
		platform = *opts.Platform
	}
	desc, err := remote.Get(nref, append(ropts, remote.WithPlatform(platform))...)
	if err != nil {
		return nil, wrap(err)
	}
	img, err := platformImage(desc, platform)
	if err != nil {
		return nil, wrap(err)
	}
	imgDigest, err := img.Digest()
	if err != nil {
		return nil, wrap(err)
	}
	res := &PullResult{Ref: ref, Digest: desc.Digest, Image: imgDigest}
	if have, ok := sink.Resolve(ref); ok && have == imgDigest {
		if complete, err := hasAll(img, sink); err == nil && complete {
			res.UpToDate = true
			return res, nil
		}
	}
	if err := fetchBlobs(ctx, img, sink, serialized(opts.Progress), c.jobs); err != nil {
		return nil, wrap(err)
	}
	if err := sink.PutImage(ctx, ref, img); err != nil {
		return nil, fmt.Errorf("storing %s: %w", ref.String(), err)
	}
	return res, nil
}

// platformImage resolves desc to an image, choosing from an index the
// child that matches platform.
func platformImage(desc *remote.Descriptor, platform v1.Platform) (v1.Image, error) {
	if !desc.MediaType.IsIndex() {
		return desc.Image()
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, child := range im.Manifests {
		if child.Platform != nil && child.MediaType.IsImage() && child.Platform.Satisfies(platform) {
			return idx.Image(child.Digest)
		}
	}
	return nil, notFoundError{fmt.Errorf("no matching manifest for %s in the manifest list entries", platformString(platform))}
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// hasAll reports whether sink holds img's config and every layer.
func hasAll(img v1.Image, sink PullSink) (bool, error) {
	m, err := img.Manifest()
	if err != nil {
		return false, err
	}
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if ok, err := sink.HasBlob(d.Digest); err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// fetchBlobs writes img's config and missing layers to sink, jobs at once.
func fetchBlobs(ctx context.Context, img v1.Image, sink PullSink, progress ProgressFunc, jobs int) error {
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	if ok, err := sink.HasBlob(m.Config.Digest); err != nil {
		return err
	} else if !ok {
		raw, err := img.RawConfigFile() // verified by ggcr against m.Config
		if err != nil {
			return err
		}
		if err := sink.WriteBlob(ctx, m.Config, verified(io.NopCloser(bytes.NewReader(raw)), m.Config)); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, max(jobs, 1))
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel() })
	}
	for _, desc := range m.Layers {
		if !desc.MediaType.IsDistributable() {
			continue
		}
		ok, err := sink.HasBlob(desc.Digest)
		if err != nil {
			return err
		}
		if ok {
			progress(Event{Kind: BlobExists, Digest: desc.Digest, Size: desc.Size, Layer: true})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if err := fetchLayer(ctx, img, desc, sink, progress); err != nil {
				fail(fmt.Errorf("layer %s: %w", desc.Digest, err))
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func fetchLayer(ctx context.Context, img v1.Image, desc v1.Descriptor, sink PullSink, progress ProgressFunc) error {
	l, err := img.LayerByDigest(desc.Digest)
	if err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	progress(Event{Kind: BlobStarted, Digest: desc.Digest, Size: desc.Size, Layer: true})
	counted := &countingReader{rc: rc, report: func(done int64) {
		progress(Event{Kind: BlobProgress, Digest: desc.Digest, Size: desc.Size, Done: done, Layer: true})
	}}
	// ggcr's remote layer already fails at the end of a body whose digest
	// or size is wrong; hashing it a second time here would only cost CPU.
	if err := sink.WriteBlob(ctx, desc, counted); err != nil {
		return err
	}
	progress(Event{Kind: BlobDone, Digest: desc.Digest, Size: desc.Size, Done: desc.Size, Layer: true})
	return nil
}

// verifyingReader fails at the end of the content (or as soon as it grows
// past the expected size) when it does not match the descriptor.
type verifyingReader struct {
	r    io.Reader
	h    hash.Hash
	want v1.Descriptor
	n    int64
}

// verified wraps r so that reading it checks desc's digest and size.
func verified(r io.ReadCloser, desc v1.Descriptor) io.Reader {
	return &verifyingReader{r: r, h: sha256.New(), want: desc}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.n += int64(n)
	v.h.Write(p[:n])
	if v.n > v.want.Size {
		return n, fmt.Errorf("%w: blob %s is larger than its %d bytes", ErrDigestMismatch, v.want.Digest, v.want.Size)
	}
	if err == io.EOF {
		if v.n != v.want.Size {
			return n, fmt.Errorf("%w: blob %s has %d bytes, want %d", ErrDigestMismatch, v.want.Digest, v.n, v.want.Size)
		}
		if v.want.Digest.Algorithm == "sha256" {
			if got := hex.EncodeToString(v.h.Sum(nil)); got != v.want.Digest.Hex {
				return n, fmt.Errorf("%w: blob %s hashes to sha256:%s", ErrDigestMismatch, v.want.Digest, got)
			}
		}
	}
	return n, err
}
