package registry

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctl-dev/ctl/pkg/artifact"
	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
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
	// wire) and make nothing visible on error. Once a layer is verified
	// and stored, it calls Stored() on the reader its Compressed gave
	// (store.StoredNotifier): the layer is reported done then.
	WriteImage(ctx context.Context, img v1.Image, ref reference.Reference, digest v1.Hash) error
	// WriteIndex is WriteImage for an index and every image it lists,
	// which it reads as WriteImage reads one.
	WriteIndex(ctx context.Context, idx v1.ImageIndex, ref reference.Reference, digest v1.Hash) error
	// Pulled records that ref, which names image in the sink already,
	// resolved to digest on the registry (a pull that found it up to date).
	Pulled(ref reference.Reference, image, digest v1.Hash) error
}

// PullOptions tune Pull.
type PullOptions struct {
	// Platforms chooses what of an index is pulled: zero, this machine's
	// platform's image (platform.Default); one platform, that platform's
	// image, as docker pulls; platform.All, the whole index with every
	// image; several platforms, a filtered index listing only those
	// platforms' images (a new digest).
	Platforms platform.Selection
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
	// Image is the digest of what is stored under Ref: the platform
	// image, or the index (a filtered one: Filtered).
	Image v1.Hash
	// Platforms are the platforms of the index stored (none for an image).
	Platforms []string
	// Filtered is true when Image is an index made from Digest's with
	// only the platforms asked for.
	Filtered bool
	// UpToDate is true when the store had that image under Ref already.
	UpToDate bool
	// ArtifactType is set when what was pulled is an artifact (a signature,
	// an SBOM...), not an image: artifact.Type of its manifest.
	ArtifactType string
	// Source is where it was read from: a mirror or the registry.
	Source Source
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
	a, err := s.artifact(ctx, nref.Identifier())
	if err != nil {
		return nil, wrap(err)
	}
	digest, err := a.Digest()
	if err != nil {
		return nil, wrap(err)
	}
	if idx, ok := a.(v1.ImageIndex); ok && opts.Platforms.Multi() {
		return c.pullIndex(ctx, ref, idx, digest, sink, opts, s, wrap)
	}
	want, single := opts.Platforms.Single()
	if !single {
		want = platform.Default()
	}
	img, err := platformImage(a, want)
	if err != nil {
		return nil, wrap(err)
	}
	if _, index := a.(v1.ImageIndex); !opts.Platforms.IsZero() && !opts.Platforms.IsAll() && !index {
		if err := checkPlatform(img, opts.Platforms); err != nil {
			return nil, wrap(err)
		}
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
	if idx, index := a.(v1.ImageIndex); index && !single {
		// The whole index, pulled before (--platform all), has this
		// machine's image: it stays, as docker's containerd store keeps
		// it, rather than giving way to the one image.
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, wrap(err)
		}
		whole := *res
		whole.Image, whole.ArtifactType, whole.Platforms = digest, "", platform.List(im)
		done, err := upToDate(sink, &whole, func() (bool, error) { return hasAll(img, sink) })
		if err != nil {
			return nil, err
		}
		if done {
			return &whole, nil
		}
	}
	done, err := upToDate(sink, res, func() (bool, error) { return hasAll(img, sink) })
	if err != nil {
		return nil, err
	}
	if done {
		return res, nil
	}
	// The store asks for the config after the layers; fetch it (ggcr
	// caches it) while they stream, so it costs no round trip at the end.
	go func() { _, _ = img.RawConfigFile() }()
	progress := serialized(opts.Progress)
	s.layerProgress = progress
	if err := announceExisting(img, sink, progress); err != nil {
		return nil, wrap(err)
	}
	if err := sink.WriteImage(ctx, img, ref, digest); err != nil {
		return nil, errLocal{fmt.Errorf("storing %s: %w", ref.String(), err)}
	}
	return res, nil
}

// pullIndex stores idx (digest on the registry) under ref: whole for
// platform.All, else filtered to the platforms asked for.
// Errors of the registry's side are wrapped with wrap; the store's are
// errLocal, as pull's.
func (c *Client) pullIndex(ctx context.Context, ref reference.Reference, idx v1.ImageIndex, digest v1.Hash, sink PullSink, opts PullOptions, s *session, wrap func(error) error) (*PullResult, error) {
	kept, err := SelectIndex(idx, opts.Platforms)
	if err != nil {
		return nil, wrap(err)
	}
	im, err := kept.IndexManifest()
	if err != nil {
		return nil, wrap(err)
	}
	keptDigest, err := kept.Digest()
	if err != nil {
		return nil, wrap(err)
	}
	res := &PullResult{Ref: ref, Digest: digest, Image: keptDigest, Platforms: platform.List(im), Filtered: keptDigest != digest}
	done, err := upToDate(sink, res, func() (bool, error) { return indexComplete(kept, sink) })
	if err != nil {
		return nil, err
	}
	if done {
		return res, nil
	}
	progress := serialized(opts.Progress)
	s.layerProgress = progress
	watched := &announcingIndex{baseIndex: kept, announce: func(img v1.Image) error {
		go func() { _, _ = img.RawConfigFile() }() // see pull
		return announceExisting(img, sink, progress)
	}}
	if err := sink.WriteIndex(ctx, watched, ref, digest); err != nil {
		return nil, errLocal{fmt.Errorf("storing %s: %w", ref.String(), err)}
	}
	return res, nil
}

// upToDate reports whether the sink has res.Image under res.Ref already,
// complete (as complete says): then res is marked up to date and the sink
// told the digest the reference has now.
func upToDate(sink PullSink, res *PullResult, complete func() (bool, error)) (bool, error) {
	if have, ok := sink.Resolve(res.Ref); !ok || have != res.Image {
		return false, nil
	}
	if ok, err := complete(); err != nil || !ok {
		return false, nil
	}
	res.UpToDate = true
	if err := sink.Pulled(res.Ref, res.Image, res.Digest); err != nil {
		return false, errLocal{fmt.Errorf("storing %s: %w", res.Ref.String(), err)}
	}
	return true, nil
}

// announceExisting reports the layers of img that sink has already (the
// session reports the others as they stream).
func announceExisting(img v1.Image, sink PullSink, progress ProgressFunc) error {
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	for _, d := range m.Layers {
		if sink.HasBlob(d.Digest) {
			progress(Event{Kind: BlobExists, Digest: d.Digest, Size: d.Size, Layer: true})
		}
	}
	return nil
}

// announcingIndex is an index that calls announce on each image (at any
// depth) as the sink reads it: the sink reads an index's images at once,
// so their manifests are fetched in parallel, not all before it starts.
type announcingIndex struct {
	baseIndex
	announce func(v1.Image) error
}

// baseIndex is the wrapped index, embedded under a name of its own (an
// embedded v1.ImageIndex would clash with the ImageIndex method).
type baseIndex = v1.ImageIndex

func (i *announcingIndex) Image(h v1.Hash) (v1.Image, error) {
	img, err := i.baseIndex.Image(h)
	if err != nil {
		return nil, err
	}
	return img, i.announce(img)
}

func (i *announcingIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	idx, err := i.baseIndex.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return &announcingIndex{baseIndex: idx, announce: i.announce}, nil
}

// SelectIndex is idx with the images sel selects: idx itself for
// platform.All (or the zero selection), else a filtered index listing only
// the entries of the platforms listed with their attestation manifests
// (platform.Filter; ggcr's mutate.RemoveManifests: the other entries and
// every other artifact go, the index's own fields stay), or idx itself
// when that would keep every entry. A
// platform idx lacks is a *platform.NotFoundError.
func SelectIndex(idx v1.ImageIndex, sel platform.Selection) (v1.ImageIndex, error) {
	if sel.IsZero() || sel.IsAll() {
		return idx, nil
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	keep, err := platform.Filter(im, sel)
	if err != nil {
		return nil, notFoundError{err}
	}
	if len(keep) == len(im.Manifests) {
		return idx, nil // everything selected: the index as it is, digest kept
	}
	// By digest and the image an attestation names: two images'
	// attestations may be one manifest.
	key := func(d v1.Descriptor) string { return d.Digest.String() + " " + platform.AttestationOf(d) }
	kept := map[string]bool{}
	for _, d := range keep {
		kept[key(d)] = true
	}
	return mutate.RemoveManifests(idx, func(d v1.Descriptor) bool { return !kept[key(d)] }), nil
}

// indexComplete reports whether sink holds every image idx lists, whole;
// an image listed again is looked at once.
func indexComplete(idx v1.ImageIndex, sink PullSink) (bool, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return false, err
	}
	seen := map[v1.Hash]bool{}
	for _, d := range im.Manifests {
		if seen[d.Digest] {
			continue
		}
		seen[d.Digest] = true
		if !sink.HasBlob(d.Digest) {
			return false, nil
		}
		if !d.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return false, err
		}
		if ok, err := hasAll(img, sink); err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// platformImage resolves a to an image, choosing from an index the child
// for want (platform.Pick: a platform the index lacks is a
// *platform.NotFoundError naming those it has).
func platformImage(a Artifact, want v1.Platform) (v1.Image, error) {
	idx, ok := a.(v1.ImageIndex)
	if !ok {
		return a.(v1.Image), nil
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	d, err := platform.Pick(im, want)
	if err != nil {
		return nil, notFoundError{err}
	}
	if d.MediaType.IsIndex() {
		return nil, fmt.Errorf("the %s entry %s is itself an index: not supported", platform.String(d.Platform), d.Digest)
	}
	return idx.Image(d.Digest)
}

// checkPlatform refuses a single-platform image whose config names another
// platform than one asked for with --platform, as docker's pull does
// ("was found but does not match the specified platform"): of a list, as
// of an index, every platform must be there, and one image is one. A
// config that names none is taken as it is.
func checkPlatform(img v1.Image, want platform.Selection) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	got := platform.Of(cf)
	if got == nil {
		return nil
	}
	if missing := want.Missing(got); len(missing) > 0 {
		return notFoundError{fmt.Errorf("the image was found but does not match the specified platform: wanted %s, actual: %s", strings.Join(missing, ","), platform.String(got))}
	}
	return nil
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
