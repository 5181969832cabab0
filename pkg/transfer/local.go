package transfer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// sink adapts the store to what a pull needs of it (registry.PullSink).
type sink struct{ s *store.Store }

func (l sink) HasBlob(h v1.Hash) bool { return l.s.HasBlob(h) }

func (l sink) Resolve(ref reference.Reference) (v1.Hash, bool) {
	e, err := l.s.Lookup(ref)
	if err != nil {
		return v1.Hash{}, false
	}
	return e.Digest, true
}

func (l sink) WriteImage(ctx context.Context, img v1.Image, ref reference.Reference, digest v1.Hash) error {
	_, err := l.s.WritePulled(ctx, img, ref, digest)
	return pulledContent(err)
}

func (l sink) WriteIndex(ctx context.Context, idx v1.ImageIndex, ref reference.Reference, digest v1.Hash) error {
	_, err := l.s.WritePulledIndex(ctx, idx, ref, digest)
	return pulledContent(err)
}

// pulledContent maps the store's refusal of what a pull gave it. All of it
// came from the registry: content that does not match its digest or size
// (store.ErrCorrupt), or that cannot be read (store.ErrInvalidInput), is
// the registry's fault (exit 1, and a mirror is skipped for it), not the
// user's.
func pulledContent(err error) error {
	if errors.Is(err, store.ErrCorrupt) || errors.Is(err, store.ErrInvalidInput) {
		return badContent{err}
	}
	return err
}

// badContent is a pulled blob the store refused; it is a
// registry.ErrDigestMismatch and no longer a store.ErrInvalidInput.
type badContent struct{ err error }

func (e badContent) Error() string { return e.err.Error() }
func (e badContent) Unwrap() error { return registry.ErrDigestMismatch }

func (l sink) Pulled(ref reference.Reference, image, digest v1.Hash) error {
	return l.s.SetRepoDigest(ref, image, digest)
}

// pushTarget is a local image or index a push sends, and the tag it goes
// up under: a tag, or a digest for a reference by digest alone.
type pushTarget struct {
	tag string
	e   store.Entry
}

// pushTargets finds the local image ref names (latest when it has no
// tag), or with all every tagged image of its repository: the store's
// index only, so that a missing image is reported before the push starts.
func pushTargets(s *store.Store, ref reference.Reference, all bool) ([]pushTarget, error) {
	var targets []pushTarget
	if all {
		es, err := s.Tags(ref)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			// Entries of Tags are NAME:TAG; the name may hold a port.
			targets = append(targets, pushTarget{e.Ref[strings.LastIndexByte(e.Ref, ':')+1:], e})
		}
	} else {
		ref, err := defaultTag(ref)
		if err != nil {
			return nil, err
		}
		e, err := s.Lookup(ref)
		if err != nil {
			return nil, err
		}
		tag := ref.Tag()
		if tag == "" {
			if ref.Digest() != e.Digest.String() {
				// Pulled at an index digest: the store holds one platform's
				// image, or a filtered index, which cannot be pushed under
				// the index's digest.
				what := "one platform"
				if e.IsIndex() {
					what = "a filtered index"
				}
				return nil, fmt.Errorf("%w: %s is a multi-platform image of which the store holds %s (%s); push it by tag",
					store.ErrInvalidInput, ref.Familiar(), what, e.Digest)
			}
			tag = ref.Digest() // pushed by digest: no tag changes
		}
		targets = append(targets, pushTarget{tag, e})
	}
	return targets, nil
}

// openTargets opens targets as the push sends them, sel applied (see
// PushOptions.Platforms): an image's uncompressed layers (a docker save
// image's) gzip'd, which a first push of a large image spends seconds on,
// so its caller announces the push before. A platform an image is not of
// is refused before anything is compressed. What either changes has
// another digest than the local entry, so it cannot go up by that digest:
// the registry would refuse the manifest, after every layer had gone up.
func openTargets(ctx context.Context, s *store.Store, targets []pushTarget, sel platform.Selection) ([]registry.PushTag, error) {
	tags := make([]registry.PushTag, 0, len(targets))
	for _, t := range targets {
		a, err := Open(s, t.e)
		if err != nil {
			return nil, err
		}
		if a, err = registry.SelectArtifact(a, sel); err != nil {
			return nil, fmt.Errorf("%s: %w", t.e.Ref, err)
		}
		tags = append(tags, registry.PushTag{Tag: t.tag, Artifact: a, New: !t.e.Remote})
	}
	for i, t := range targets {
		// An index goes up as --platform left it, its images as it lists
		// them; an image with its uncompressed layers gzip'd.
		why := fmt.Sprintf("--platform %s picks", sel)
		if !t.e.IsIndex() {
			img, err := s.PushImage(ctx, t.e)
			if err != nil {
				return nil, err
			}
			tags[i].Artifact = img
			why = "it is a docker save image: its layers go up gzip'd, as"
		}
		if !strings.HasPrefix(t.tag, "sha256:") {
			continue
		}
		if d, err := tags[i].Artifact.Digest(); err != nil {
			return nil, err
		} else if d != t.e.Digest {
			return nil, fmt.Errorf("%w: %s: %s %s, which cannot be pushed under %s: push it by tag",
				store.ErrInvalidInput, t.e.Ref, why, d, t.tag)
		}
	}
	return tags, nil
}

// defaultTag is ref with the default tag (latest) when it has neither tag
// nor digest, as docker push and pull default it.
func defaultTag(ref reference.Reference) (reference.Reference, error) {
	if ref.Tag() != "" || ref.Digest() != "" {
		return ref, nil
	}
	return ref.WithTag(ref.DefaultedTag())
}

// Open opens the image or index a store entry names, as a push sends it.
func Open(s *store.Store, e store.Entry) (registry.Artifact, error) {
	if e.IsIndex() {
		return s.Index(e.Digest)
	}
	return s.Image(e.Digest)
}

// pushed records the digest each tag pushed to repo's repository now has
// there: none beside the local one when they are the same manifest, the
// pushed one when the push sent another (layers gzip'd, see
// store.PushImage). A store that cannot be written (read-only: its lock
// cannot be taken) records nothing, and the push, which only read it,
// stands: that record is a cache of what the registry says.
func pushed(s *store.Store, repo reference.Reference, results []registry.PushResult) error {
	for _, r := range results {
		if strings.HasPrefix(r.Tag, "sha256:") {
			continue // pushed by digest: no tag moved
		}
		ref, err := repo.WithTag(r.Tag)
		if err != nil {
			return err
		}
		local := r.Digest
		if e, err := s.Lookup(ref); err == nil {
			local = e.Digest
		}
		err = s.SetRepoDigest(ref, local, r.Digest)
		if errors.As(err, new(*store.DirError)) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("recording the push of %s in the store: %w", ref.Familiar(), err)
		}
	}
	return nil
}

// maxMountScan bounds how many other local manifests push reads to find
// mount sources (each is one small file), an index's children counted.
const maxMountScan = 64

// mountSources names, per blob, other repositories of ref's registry the
// store knows images of that hold it: mount candidates. An image names its
// config and layers; an index those of the children the store holds. Each
// manifest is read once, as a blob, however many tags name it: the index
// was read once by List, and reading an image through it (Store.Image)
// would read and parse index.json again per image, which made a push from
// a store of many images cost milliseconds per image.
func mountSources(s *store.Store, ref reference.Reference) map[v1.Hash][]string {
	all, err := s.List()
	if err != nil {
		return nil
	}
	out := map[v1.Hash][]string{}
	scanned := map[v1.Hash]bool{}
	// Each manifest once, up to maxMountScan; an index's children that
	// are images or indexes.
	enter := func(d v1.Hash, mt types.MediaType) bool {
		if scanned[d] || len(scanned) == maxMountScan || !mt.IsImage() && !mt.IsIndex() {
			return false
		}
		scanned[d] = true
		return true
	}
	// add names repo for the blobs of manifest d (of media type mt).
	add := func(d v1.Hash, mt types.MediaType, repo string) {
		_ = s.Walk(d, mt, enter, func(b v1.Hash, manifest bool) {
			if !manifest {
				out[b] = append(out[b], repo)
			}
		}) // a manifest that cannot be read names no mount source: the blobs upload
	}
	// References known on the registry (pulled or pushed) go first: a
	// manifest is scanned once, under the first reference naming it, and
	// only the first source is tried, so a tag made in the store and not
	// pushed (whose repository may not hold the blobs) must not hide the
	// repository the image was pulled from.
	for _, remote := range []bool{true, false} {
		for _, e := range all {
			r, ok := e.Reference()
			if e.Remote != remote || !ok || !strings.EqualFold(r.Registry(), ref.Registry()) || r.Repository() == ref.Repository() {
				continue
			}
			if len(scanned) == maxMountScan {
				return out
			}
			add(e.Digest, e.MediaType, r.Repository())
		}
	}
	return out
}
