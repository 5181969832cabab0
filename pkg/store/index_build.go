package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/ctl-dev/ctl/pkg/artifact"
	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// IndexSource is one source of an index being made: a stored image, whose
// platform comes from its config (or Platform), or a stored index, whose
// image entries all join.
type IndexSource struct {
	Name     string       // as the user named it, for messages
	Entry    Entry        // the stored image or index (from Resolve)
	Platform *v1.Platform // the image's platform when its config names none; overrides the config
}

// IndexOptions tune CreateIndex and AddToIndex.
type IndexOptions struct {
	// Annotations are set on the index (added to an edited index's own).
	Annotations map[string]string
	// Replace lets a later source take the place of an entry of the same
	// platform instead of refusing the duplicate.
	Replace bool
	// Amend lets CreateIndex of a target that names an index add the
	// sources to it (AddToIndex) instead of refusing.
	Amend bool
}

// member is one entry of the index being made, with where it came from.
type member struct {
	from    string // source name
	desc    v1.Descriptor
	img     v1.Image
	subject string // for buildkit's attestation manifest of an image, that image's digest
}

// CreateIndex makes target name a new index of the sources' images. The
// index is an OCI index when any image it lists is OCI or it has
// annotations, a docker manifest list when all are docker schema 2 and it
// has none. Every check comes first: a source that is an
// artifact, an index listing indexes, an image without platform, two
// entries of one platform (unless Replace) or no entry at all is invalid
// input and nothing is written. A target that names an index of the store
// is not replaced: as docker's and podman's manifest create, it is invalid
// input unless Amend, which adds the sources to it (AddToIndex). A target
// naming an image, not an index, is retagged to the new index.
func (s *Store) CreateIndex(ctx context.Context, target reference.Reference, sources []IndexSource, opts IndexOptions) (Entry, error) {
	return untilSettled(target, func() (Entry, error) {
		var seen v1.Hash
		if target.Digest() == "" {
			e, err := s.Lookup(target)
			switch {
			case err != nil && !errors.Is(err, ErrNotFound):
				return Entry{}, err
			case err == nil && e.IsIndex() && opts.Amend:
				return s.addToIndex(ctx, target, sources, opts)
			case err == nil && e.IsIndex():
				return Entry{}, invalid("%s is already an index in the store: give --amend to add the sources to it, or edit it with \"ctl index add\" and \"ctl index remove\"", target.Familiar())
			case err == nil:
				seen = e.Digest
			}
		}
		return s.buildIndex(ctx, target, seen, nil, nil, sources, opts)
	})
}

// AddToIndex makes target name a new index: the index it names plus the
// sources' images (see CreateIndex). The old index stays in the store,
// untagged, until pruned.
func (s *Store) AddToIndex(ctx context.Context, target reference.Reference, sources []IndexSource, opts IndexOptions) (Entry, error) {
	return untilSettled(target, func() (Entry, error) { return s.addToIndex(ctx, target, sources, opts) })
}

func (s *Store) addToIndex(ctx context.Context, target reference.Reference, sources []IndexSource, opts IndexOptions) (Entry, error) {
	seen, base, anns, err := s.indexMembers(ctx, target)
	if err != nil {
		return Entry{}, err
	}
	return s.buildIndex(ctx, target, seen, base, anns, sources, opts)
}

// RemoveFromIndex makes target name a new index without the entries of the
// platforms given (platform.FilterSame: each must be the platform of one
// entry, else a *platform.NotFoundError).
// Removing every entry is invalid input.
func (s *Store) RemoveFromIndex(ctx context.Context, target reference.Reference, platforms []v1.Platform) (Entry, error) {
	return untilSettled(target, func() (Entry, error) {
		seen, base, anns, err := s.indexMembers(ctx, target)
		if err != nil {
			return Entry{}, err
		}
		im := &v1.IndexManifest{}
		for _, m := range base {
			im.Manifests = append(im.Manifests, m.desc)
		}
		drop, err := platform.FilterSame(im, platform.Select(platforms...))
		if err != nil {
			return Entry{}, err
		}
		var keep []member
		for _, m := range base {
			// An attestation goes with its image (buildIndex), not by its
			// own digest, which another image's may share.
			if m.subject != "" || !containsDigest(drop, m.desc.Digest) {
				keep = append(keep, m)
			}
		}
		return s.buildIndex(ctx, target, seen, keep, anns, nil, IndexOptions{})
	})
}

// errMoved: the target of an index edit named another manifest when the
// edit came to write it than when it was read (another edit, a tag or an
// rmi of it committed meanwhile).
var errMoved = errors.New("moved meanwhile")

// maxEditAttempts bounds how many times an index edit is done again
// because its target moved (see untilSettled).
const maxEditAttempts = 100

// untilSettled runs the index edit edit of target until it commits on
// the manifest it read target naming: an edit whose target moved
// meanwhile is done again on what target names now, so that concurrent
// edits (two index add of one index) all apply, one after the other, and
// none is lost.
func untilSettled(target reference.Reference, edit func() (Entry, error)) (Entry, error) {
	for range maxEditAttempts {
		e, err := edit()
		if !errors.Is(err, errMoved) {
			return e, err
		}
	}
	return Entry{}, fmt.Errorf("%w: %s kept changing while it was edited (%d attempts)", ErrConflict, target.Familiar(), maxEditAttempts)
}

func containsDigest(ds []v1.Descriptor, h v1.Hash) bool {
	for _, d := range ds {
		if d.Digest == h {
			return true
		}
	}
	return false
}

// indexMembers reads the index target names: its digest, entries and
// annotations.
func (s *Store) indexMembers(ctx context.Context, target reference.Reference) (v1.Hash, []member, map[string]string, error) {
	e, err := s.Lookup(target)
	if err != nil {
		return v1.Hash{}, nil, nil, err
	}
	if !e.IsIndex() {
		return v1.Hash{}, nil, nil, invalid("%s is an image, not an index", target.Familiar())
	}
	ms, err := s.members(ctx, IndexSource{Name: target.Familiar(), Entry: e})
	if err != nil {
		return v1.Hash{}, nil, nil, err
	}
	idx, err := s.Index(e.Digest)
	if err != nil {
		return v1.Hash{}, nil, nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return v1.Hash{}, nil, nil, err
	}
	return e.Digest, ms, im.Annotations, nil
}

// members are the index entries a source contributes.
func (s *Store) members(ctx context.Context, src IndexSource) ([]member, error) {
	if !src.Entry.IsIndex() {
		// As a push sends it (layers of a docker save image gzip'd): the
		// entry is then the image "ctl push" of the source sends, as the
		// images docker's manifest create lists are pushed ones.
		img, err := s.PushImage(ctx, src.Entry)
		if err != nil {
			return nil, err
		}
		desc, err := imageDescriptor(src.Name, img, src.Platform)
		if err != nil {
			return nil, err
		}
		return []member{{from: src.Name, desc: desc, img: img}}, nil
	}
	if src.Platform != nil {
		return nil, invalid("%s is an index: only an image source is given a platform", src.Name)
	}
	idx, err := s.Index(src.Entry.Digest)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []member
	for _, d := range im.Manifests {
		switch {
		case d.MediaType.IsIndex():
			return nil, invalid("%s lists another index (%s): an index of indexes cannot join an index", src.Name, d.Digest)
		case platform.AttestationOf(d) != "" && s.HasBlob(d.Digest):
			// buildkit's attestation manifest of one of its images: it
			// goes where that image goes (buildIndex).
			att, err := idx.Image(d.Digest)
			if err != nil {
				return nil, err
			}
			out = append(out, member{from: src.Name, desc: d, img: att, subject: platform.AttestationOf(d)})
			continue
		case !platform.IsImage(d):
			continue // another artifact (a signature) of one of its images
		case !s.HasBlob(d.Digest):
			return nil, invalid("%s: the store lacks its %s image (%s): pull every platform of it first", src.Name, platform.String(d.Platform), d.Digest)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		if d.Platform == nil {
			if d, err = imageDescriptor(src.Name+"@"+d.Digest.String(), img, nil); err != nil {
				if pe := (*PlatformError)(nil); errors.As(err, &pe) {
					pe.Index = src.Name
				}
				return nil, err
			}
		}
		out = append(out, member{from: src.Name, desc: d, img: img})
	}
	return out, nil
}

// imageDescriptor is the index entry of img: its descriptor, with the
// platform p or else its config's. An artifact, or an image whose
// platform is unknown (its config names none, or "unknown"), is invalid
// input.
func imageDescriptor(name string, img v1.Image, p *v1.Platform) (v1.Descriptor, error) {
	desc, err := partial.Descriptor(img)
	if err != nil {
		return v1.Descriptor{}, err
	}
	m, err := img.Manifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	if at := artifact.Type(m); at != "" {
		return v1.Descriptor{}, invalid("%s is an artifact (%s), not an image", name, at)
	}
	if p == nil {
		cf, err := img.ConfigFile()
		if err != nil {
			return v1.Descriptor{}, err
		}
		// "unknown" is no platform: buildkit's attestation manifests
		// say unknown/unknown, and docker lists them as no platform.
		if p = platform.Of(cf); p == nil || p.OS == "" || p.Architecture == "" || p.OS == "unknown" || p.Architecture == "unknown" {
			return v1.Descriptor{}, &PlatformError{First: name}
		}
	}
	desc.Platform = p
	desc.Annotations = nil
	return *desc, nil
}

// buildIndex writes the index of base and the sources' images as target,
// which named seen (zero: nothing) when base was read from it: if it names
// another manifest by the time the index is written, nothing is changed
// and the error is errMoved.
func (s *Store) buildIndex(ctx context.Context, target reference.Reference, seen v1.Hash, base []member, anns map[string]string, sources []IndexSource, opts IndexOptions) (Entry, error) {
	if target.Digest() != "" {
		return Entry{}, invalid("the index is named by a tag, not a digest: %s", target.Familiar())
	}
	all := base
	for _, src := range sources {
		ms, err := s.members(ctx, src)
		if err != nil {
			return Entry{}, err
		}
		for _, m := range ms {
			all, err = addMember(all, m, opts.Replace)
			if err != nil {
				return Entry{}, err
			}
		}
	}
	all = withAttestations(all)
	if len(all) == 0 {
		return Entry{}, invalid("%s would have no entries: an index needs at least one image", target.Familiar())
	}
	// A docker manifest list has no annotations field (buildx refuses
	// them on one): an annotated index is an OCI index.
	a := merge(anns, opts.Annotations)
	mt := types.DockerManifestList
	if len(a) > 0 {
		mt = types.OCIImageIndex
	}
	adds := make([]mutate.IndexAddendum, len(all))
	for i, m := range all {
		if m.desc.MediaType != types.DockerManifestSchema2 {
			mt = types.OCIImageIndex
		}
		adds[i] = mutate.IndexAddendum{Add: m.img, Descriptor: m.desc}
	}
	idx := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), mt)
	if len(a) > 0 {
		idx = mutate.Annotations(idx, a).(v1.ImageIndex)
	}
	key := refKey(target)
	return s.write(ctx, []reference.Reference{target}, func(w *writer) (Entry, int64, error) { return w.index(idx) }, func(im *v1.IndexManifest) error {
		var now v1.Hash
		for _, d := range im.Manifests {
			if d.Annotations[AnnotationRef] == key {
				now = d.Digest
			}
		}
		if now != seen {
			return errMoved
		}
		return nil
	})
}

// addMember appends m to ms, refusing an entry of a platform ms has, or
// with replace putting m in its place. The same image again for its
// platform is that entry, not a second one (as podman's manifest add and
// buildx's imagetools create keep one): adding it is no change. An
// attestation manifest has no platform: it is appended once.
func addMember(ms []member, m member, replace bool) ([]member, error) {
	for i, o := range ms {
		if m.subject != "" || o.subject != "" {
			if o.desc.Digest == m.desc.Digest && o.subject == m.subject {
				return ms, nil
			}
			continue
		}
		if !platform.Same(o.desc.Platform, m.desc.Platform) {
			continue
		}
		if !replace && o.desc.Digest != m.desc.Digest {
			return nil, &PlatformError{Platform: platform.String(m.desc.Platform), First: describe(o), Second: describe(m)}
		}
		ms[i] = m
		return ms, nil
	}
	return append(ms, m), nil
}

// withAttestations is the images of ms, then the attestation manifests of
// those (as buildx lists them, after the images): those of an image
// replaced or removed go with it, as they describe that image.
func withAttestations(ms []member) []member {
	var out []member
	images := map[string]bool{}
	for _, m := range ms {
		if m.subject == "" {
			out = append(out, m)
			images[m.desc.Digest.String()] = true
		}
	}
	for _, m := range ms {
		if m.subject != "" && images[m.subject] {
			out = append(out, m)
		}
	}
	return out
}

func describe(m member) string {
	if strings.Contains(m.from, "@") {
		return m.from
	}
	return m.from + " (" + m.desc.Digest.String()[:19] + ")"
}

func merge(a, b map[string]string) map[string]string {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := maps.Clone(a)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, b)
	return out
}
