package registry

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/ctl-dev/ctl/pkg/artifact"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// PullSink is where pulled images go (the local store).
type PullSink interface {
	// HasBlob reports whether the blob is stored already; it is not fetched
	// again.
	HasBlob(h v1.Hash) bool
	// Resolve returns the manifest digest ref points at locally, if any.
	Resolve(ref reference.Reference) (v1.Hash, bool)
	// WriteImage stores img and points ref at it; digest is what ref
	// resolved to on the registry (an index for a multi-platform tag), to
	// be remembered. It reads every layer it lacks from img and must check
	// each against its digest and size (the bodies come straight off the
	// wire) and make nothing visible on error.
	WriteImage(ctx context.Context, img v1.Image, ref reference.Reference, digest v1.Hash) error
	// Pulled records that ref, which names image in the sink already,
	// resolved to digest on the registry (a pull that found it up to date).
	Pulled(ref reference.Reference, image, digest v1.Hash) error
}

// PullOptions tune Pull.
type PullOptions struct {
	// Platform picks the image out of an index; nil means DefaultPlatform.
	Platform *v1.Platform
	// Progress receives an event per layer (existing, bytes fetched).
	Progress ProgressFunc
	// Started, when set, is called as the pull of each reference begins.
	Started func(ref reference.Reference)
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
	// ArtifactType is set when what was pulled is an artifact (a signature,
	// an SBOM...), not an image: artifact.Type of its manifest.
	ArtifactType string
	// Source is where it was read from: a mirror or the registry.
	Source Source
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

// ParsePlatform reads OS/ARCH[/VARIANT][:OSVERSION], the form of docker's
// --platform; OS and architecture are required.
func ParsePlatform(s string) (*v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" || strings.Count(s, ":") > 1 {
		return nil, fmt.Errorf("%w: platform %q: want OS/ARCH[/VARIANT], e.g. linux/arm64/v8", reference.ErrInvalid, s)
	}
	return p, nil
}

// Pull fetches ref into sink: an index is resolved to the platform, every
// blob is verified against its digest and size before the sink keeps it,
// blobs the sink has are not fetched, and layers come down in parallel.
//
// The reads go to the first of ref's sources (mirrors, then the registry)
// that serves the whole pull; one session (one ping, one token) serves every
// manifest, config and blob GET of a source.
func (c *Client) Pull(ctx context.Context, ref reference.Reference, sink PullSink, opts PullOptions) (*PullResult, error) {
	opts.Started = announceOnce(opts.Started)
	var res *PullResult
	src, err := c.read(ctx, ref, true, func(s *session) (err error) {
		res, err = c.pull(ctx, ref, sink, opts, s)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Source = src
	return res, nil
}

// announceOnce wraps started so that each reference is announced once,
// however many sources its pull tries.
func announceOnce(started func(reference.Reference)) func(reference.Reference) {
	if started == nil {
		return nil
	}
	seen := map[string]bool{}
	return func(r reference.Reference) {
		if !seen[r.String()] {
			seen[r.String()] = true
			started(r)
		}
	}
}

// pullSession authenticates once for pulling from ref's repository on its
// own registry (never a mirror: referrers are read there).
func (c *Client) pullSession(ctx context.Context, ref reference.Reference) (*session, error) {
	nrepo, err := c.Repo(ref)
	if err != nil {
		return nil, err
	}
	return c.transferSession(ctx, nrepo, []string{nrepo.Scope(transport.PullScope)})
}

// PullAllTags pulls every tag of repo (its tag or digest is ignored), in
// tag order, all from the first source that serves them all.
func (c *Client) PullAllTags(ctx context.Context, repo reference.Reference, sink PullSink, opts PullOptions) ([]PullResult, error) {
	opts.Started = announceOnce(opts.Started)
	var results []PullResult
	src, err := c.read(ctx, repo, true, func(s *session) error {
		results = nil
		tags, err := s.allTags(ctx)
		if err != nil {
			return err
		}
		for _, tag := range tags {
			r, err := repo.WithTag(tag)
			if err != nil {
				return errLocal{err}
			}
			res, err := c.pull(ctx, r, sink, opts, s)
			if err != nil {
				return err
			}
			results = append(results, *res)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range results {
		results[i].Source = src
	}
	return results, nil
}

// allTags lists the session's repository's tags, with the bounded
// pagination of ListTags; a repository without tags is not found.
func (s *session) allTags(ctx context.Context) ([]string, error) {
	tags, err := s.listTags(ctx, 0)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, notFoundError{fmt.Errorf("repository %s/%s has no tags", s.host, s.repo)}
	}
	return tags, nil
}

func (c *Client) pull(ctx context.Context, ref reference.Reference, sink PullSink, opts PullOptions, s *session) (*PullResult, error) {
	nref, err := c.Ref(ref)
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error {
		return classify(nref.Context().RegistryStr(), about("pulling", ref.String(), err))
	}
	if opts.Started != nil {
		opts.Started(ref)
	}
	platform := DefaultPlatform()
	if opts.Platform != nil {
		platform = *opts.Platform
	}
	a, err := s.artifact(ctx, nref.Identifier())
	if err != nil {
		return nil, wrap(err)
	}
	img, err := platformImage(a, platform)
	if err != nil {
		return nil, wrap(err)
	}
	if _, index := a.(v1.ImageIndex); opts.Platform != nil && !index {
		if err := checkPlatform(img, platform); err != nil {
			return nil, wrap(err)
		}
	}
	digest, err := a.Digest()
	if err != nil {
		return nil, wrap(err)
	}
	imgDigest, err := img.Digest()
	if err != nil {
		return nil, wrap(err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, wrap(err)
	}
	res := &PullResult{Ref: ref, Digest: digest, Image: imgDigest, ArtifactType: artifact.Type(m)}
	if have, ok := sink.Resolve(ref); ok && have == imgDigest {
		if complete, err := hasAll(img, sink); err == nil && complete {
			res.UpToDate = true
			if err := sink.Pulled(ref, imgDigest, digest); err != nil {
				return nil, errLocal{fmt.Errorf("storing %s: %w", ref.String(), err)}
			}
			return res, nil
		}
	}
	// The store asks for the config after the layers; fetch it (ggcr
	// caches it) while they stream, so it costs no round trip at the end.
	go func() { _, _ = img.RawConfigFile() }()
	progress := serialized(opts.Progress)
	s.layerProgress = progress
	for _, d := range m.Layers {
		if sink.HasBlob(d.Digest) {
			progress(Event{Kind: BlobExists, Digest: d.Digest, Size: d.Size, Layer: true})
		}
	}
	if err := sink.WriteImage(ctx, img, ref, digest); err != nil {
		return nil, errLocal{fmt.Errorf("storing %s: %w", ref.String(), err)}
	}
	return res, nil
}

// platformImage resolves a to an image, choosing from an index the child
// that matches platform.
func platformImage(a Artifact, platform v1.Platform) (v1.Image, error) {
	idx, ok := a.(v1.ImageIndex)
	if !ok {
		return a.(v1.Image), nil
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if child, ok := matchPlatform(im, platform, true); ok {
		return idx.Image(child.Digest)
	}
	return nil, notFoundError{fmt.Errorf("no matching manifest for %s in the manifest list entries", platformString(platform))}
}

// checkPlatform refuses a single-platform image whose config names another
// platform than the one asked for with --platform, as docker's pull does
// ("was found but does not match the specified platform"). A config that
// names none is taken as it is.
func checkPlatform(img v1.Image, want v1.Platform) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	got := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	if got.OS == "" && got.Architecture == "" || got.Satisfies(want) {
		return nil
	}
	return notFoundError{fmt.Errorf("the image was found but does not match the specified platform: wanted %s, actual: %s", platformString(want), platformString(got))}
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
		if !sink.HasBlob(d.Digest) {
			return false, nil
		}
	}
	return true, nil
}
