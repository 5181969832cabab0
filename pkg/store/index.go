package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ctl-dev/ctl/pkg/artifact"
	"github.com/ctl-dev/ctl/pkg/atomicfile"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations of the store's index.json entries. The reference annotation is
// the OCI one, holding the FULL canonical reference
// (docker.io/library/nginx:latest) so that no two registries collide; the
// ctl.* ones cache what listing needs, written once when the image is stored,
// so that listing and tagging never open a blob.
const (
	AnnotationRef     = "org.opencontainers.image.ref.name"
	annotationConfig  = "ctl.config"  // image ID: config digest (an index's own digest)
	annotationCreated = "ctl.created" // RFC 3339 creation time from the config
	annotationSize    = "ctl.size"    // bytes of the config and layers (all platforms of an index)
	// The platforms of the image, or of an index's images in the store,
	// comma-separated ("linux/amd64,linux/arm64/v8").
	annotationPlatforms = "ctl.platforms"
	// The digest the reference had on its registry when pulled, when that
	// is not the stored manifest's: the index a platform image was picked
	// from (docker's repo digest).
	annotationRepoDigest = "ctl.repodigest"
	// "true" when the reference is known on its registry (Entry.Remote).
	annotationRemote = "ctl.remote"
	// "true" when the image was loaded from a docker save archive
	// (Entry.DockerSave).
	annotationDockerSave = "ctl.dockersave"
)

// Entry is one reference of the store, or one untagged ("dangling") image.
type Entry struct {
	Ref       string          // full canonical reference ("docker.io/library/nginx:latest", or name@digest); "" when untagged
	Digest    v1.Hash         // digest of the manifest or index the reference points to
	ID        v1.Hash         // image ID: the config digest; for an index or an artifact, its own digest (see idOf)
	MediaType types.MediaType // of the manifest or index
	Created   time.Time       // from the image config; zero when unknown
	Size      int64           // bytes of config and layers as stored
	// RepoDigest is the digest Ref had on its registry when it was pulled,
	// when that is not Digest: the index the stored platform image was
	// picked from. Zero otherwise (the reference's digest is Digest).
	RepoDigest v1.Hash
	// Remote is set when the reference was pulled from its registry or
	// pushed to it; a reference made in the store (load, tag, index
	// create) is not, until it is pushed. The commands that read a
	// registry answer a name without a registry from the store only
	// for such a local image.
	Remote bool
	// Platforms is the image's platform from its config, or the platforms
	// of an index's images that the store holds, in index order
	// ("linux/arm64/v8"); empty when unknown.
	Platforms []string
	// ArtifactType is set when the entry is an artifact (a signature, an
	// SBOM...), not an image: artifact.Type of its manifest. It is kept as
	// the artifactType of its index.json descriptor.
	ArtifactType string
	// DockerSave is set when the image was loaded from a docker save
	// archive (or an engine, whose images come as one): its uncompressed
	// layers go up gzip'd, as docker push sends them (see PushImage).
	// Every other image (pulled, loaded from an OCI layout) is pushed as
	// it is stored, under its own digest. Tag keeps it.
	DockerSave bool

	// images are the images an index entry counts into Size, by digest,
	// each once (addChild); nil for an image.
	images map[v1.Hash]int64
}

// Reference parses e.Ref; ok is false for an untagged entry.
func (e Entry) Reference() (r reference.Reference, ok bool) {
	if e.Ref == "" {
		return r, false
	}
	r, err := reference.Parse(e.Ref)
	return r, err == nil
}

// name is how messages name e: its familiar reference, else its ID.
func (e Entry) name() string {
	if r, ok := e.Reference(); ok {
		return r.Familiar()
	}
	return e.ID.String()
}

// Kind is how messages call e: "artifact" or "image".
func (e Entry) Kind() string {
	if e.ArtifactType != "" {
		return "artifact"
	}
	return "image"
}

// RegistryDigest is the digest the reference has on its registry as far as
// the store knows: RepoDigest when set, else Digest.
func (e Entry) RegistryDigest() v1.Hash {
	if e.RepoDigest != (v1.Hash{}) {
		return e.RepoDigest
	}
	return e.Digest
}

// answers reports whether repository@digest names e: its manifest's digest
// or the one it was pulled at.
func (e Entry) answers(digest string) bool {
	return e.Digest.String() == digest || e.RepoDigest.String() == digest
}

// IsIndex reports whether the entry is an image index (several platforms).
func (e Entry) IsIndex() bool { return e.MediaType.IsIndex() }

// idOf is the ID of the manifest digest whose config is config (zero for
// an index) and whose artifact type is artifactType: an image's config
// digest, as docker's image ID; an index's or an artifact's own digest.
// Artifacts mostly share one config, the empty {} (sha256:44136fa...): by
// it they would all have one ID, listed as one and removed together.
// (Entries written before this rule keep the artifact's config digest in
// ctl.config; it is ignored.)
func idOf(digest, config v1.Hash, artifactType string) v1.Hash {
	if config == (v1.Hash{}) || artifactType != "" {
		return digest
	}
	return config
}

// manifestEntry is the entry of the image or artifact manifest m, of
// digest dig and media type mt, as far as the manifest tells it (Created
// and Platforms come from the config).
func manifestEntry(dig v1.Hash, mt types.MediaType, m *v1.Manifest) Entry {
	e := Entry{Digest: dig, MediaType: mt, Size: m.Config.Size, ArtifactType: artifact.Type(m)}
	e.ID = idOf(dig, m.Config.Digest, e.ArtifactType)
	for _, l := range m.Layers {
		e.Size += l.Size
	}
	return e
}

func entryOf(d v1.Descriptor) Entry {
	return entryFrom(d.MediaType, d.Digest, d.ArtifactType, d.Annotations)
}

// entryFrom decodes an index.json entry from its annotations: the one
// decoder of entryOf and of List's lean path.
func entryFrom(mt types.MediaType, digest v1.Hash, artifactType string, a map[string]string) Entry {
	e := Entry{Ref: a[AnnotationRef], Digest: digest, MediaType: mt, ArtifactType: artifactType}
	e.ID = idOf(digest, parseHash(a[annotationConfig]), artifactType)
	if t, err := time.Parse(time.RFC3339Nano, a[annotationCreated]); err == nil {
		e.Created = t
	}
	e.Size, _ = strconv.ParseInt(a[annotationSize], 10, 64)
	e.RepoDigest = parseHash(a[annotationRepoDigest])
	e.Remote = a[annotationRemote] == "true"
	e.DockerSave = a[annotationDockerSave] == "true"
	if p := a[annotationPlatforms]; p != "" {
		e.Platforms = strings.Split(p, ",")
	}
	return e
}

func (e Entry) descriptor(manifestSize int64) v1.Descriptor {
	a := map[string]string{annotationConfig: e.ID.String(), annotationSize: strconv.FormatInt(e.Size, 10)}
	if !e.Created.IsZero() {
		a[annotationCreated] = e.Created.UTC().Format(time.RFC3339Nano)
	}
	if len(e.Platforms) > 0 {
		a[annotationPlatforms] = strings.Join(e.Platforms, ",")
	}
	if e.DockerSave {
		a[annotationDockerSave] = "true"
	}
	if e.Ref != "" {
		a[AnnotationRef] = e.Ref
		if e.RepoDigest != (v1.Hash{}) && e.RepoDigest != e.Digest {
			a[annotationRepoDigest] = e.RepoDigest.String()
		}
		if e.Remote {
			a[annotationRemote] = "true"
		}
	}
	return v1.Descriptor{MediaType: e.MediaType, Digest: e.Digest, Size: manifestSize, Annotations: a, ArtifactType: e.ArtifactType}
}

// refKey is the form a reference is stored under: name:tag, or name@digest
// for a digest-only reference; a reference with both is stored by its tag.
func refKey(r reference.Reference) string {
	if r.Tag() == "" && r.Digest() != "" {
		return r.Name() + "@" + r.Digest()
	}
	return r.Name() + ":" + r.DefaultedTag()
}

// readIndex reads index.json, as it is and parsed. It needs no lock:
// index.json is only ever replaced whole by a rename.
func (s *Store) readIndex() ([]byte, *v1.IndexManifest, error) {
	b, err := os.ReadFile(s.path(indexFile))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the image store: %w", err)
	}
	var im v1.IndexManifest
	if err := json.Unmarshal(b, &im); err != nil {
		return nil, nil, fmt.Errorf("reading the image store: %s is corrupt: %w", s.path(indexFile), err)
	}
	return b, &im, nil
}

// updateIndex runs fn on index.json under the store's exclusive lock and
// writes the result back atomically: concurrent ctl processes never lose
// each other's changes. An index fn leaves as it was is not written
// again: a prune that finds nothing to untag then needs no free space
// (atomicfile writes a whole new copy) to remove blobs on a full disk.
func (s *Store) updateIndex(fn func(im *v1.IndexManifest) error) error {
	unlock, err := s.lock(indexLock, syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	old, im, err := s.readIndex()
	if err != nil {
		return err
	}
	if err := fn(im); err != nil {
		return err
	}
	normalize(im)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(im); err != nil {
		return err
	}
	if bytes.Equal(buf.Bytes(), old) {
		return nil
	}
	if err := atomicfile.WriteFile(s.path(indexFile), buf.Bytes()); err != nil {
		return fmt.Errorf("updating the image store: %w", err) // err: "writing DIR/index.json: ..."
	}
	return nil
}

// normalize keeps the index's invariants: one entry per reference, an
// untagged entry only for an image with no reference, sorted by reference.
func normalize(im *v1.IndexManifest) {
	tagged := map[v1.Hash]bool{}
	for _, d := range im.Manifests {
		if d.Annotations[AnnotationRef] != "" {
			tagged[d.Digest] = true
		}
	}
	seen := map[string]bool{}
	out := im.Manifests[:0]
	for _, d := range im.Manifests {
		ref := d.Annotations[AnnotationRef]
		key := ref
		if ref == "" {
			if tagged[d.Digest] {
				continue
			}
			key = "@" + d.Digest.String()
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, d)
	}
	im.Manifests = out
	slices.SortStableFunc(im.Manifests, func(a, b v1.Descriptor) int {
		return strings.Compare(a.Annotations[AnnotationRef], b.Annotations[AnnotationRef])
	})
	if im.SchemaVersion == 0 {
		im.SchemaVersion = 2
	}
	if im.MediaType == "" {
		im.MediaType = types.OCIImageIndex
	}
}

// point makes the references of each pending name its image, in one pass
// over the index whatever the number of references (a load of thousands
// of tags costs no more per tag than one). An image that loses its last
// reference stays as an untagged image, as in docker; a pending with no
// references is recorded untagged. As if each were pointed in turn, the
// last pending naming a reference keeps it.
func point(im *v1.IndexManifest, ps ...pending) {
	last := map[string]int{} // reference -> the pending that keeps it
	for i, p := range ps {
		for _, ref := range p.refs {
			last[ref] = i
		}
	}
	var orphans []v1.Descriptor
	keep := im.Manifests[:0]
	for _, d := range im.Manifests {
		if i, ok := last[d.Annotations[AnnotationRef]]; ok {
			if d.Digest != ps[i].e.Digest {
				orphans = append(orphans, untagged(d))
			}
			continue
		}
		keep = append(keep, d)
	}
	im.Manifests = append(keep, orphans...)
	for i, p := range ps {
		e := p.e
		e.Ref = ""
		if len(p.refs) == 0 {
			im.Manifests = append(im.Manifests, e.descriptor(p.msize))
		}
		for _, ref := range p.refs {
			switch k := last[ref]; {
			case k == i:
				e.Ref = ref
				im.Manifests = append(im.Manifests, e.descriptor(p.msize))
			case ps[k].e.Digest != p.e.Digest: // a later image took the reference
				im.Manifests = append(im.Manifests, untagged(e.descriptor(p.msize)))
			}
		}
	}
}

// untagged is the entry d without its reference: the image a tag left.
func untagged(d v1.Descriptor) v1.Descriptor {
	d.Annotations = maps.Clone(d.Annotations)
	delete(d.Annotations, AnnotationRef)
	delete(d.Annotations, annotationRepoDigest)
	delete(d.Annotations, annotationRemote)
	return d
}

// leanIndex is index.json decoded for listing: digests stay strings, which
// spares a custom unmarshaler call per descriptor (listing 1,000 references
// takes a few milliseconds).
type leanIndex struct {
	Manifests []struct {
		MediaType    types.MediaType   `json:"mediaType"`
		Digest       string            `json:"digest"`
		ArtifactType string            `json:"artifactType"`
		Annotations  map[string]string `json:"annotations"`
	} `json:"manifests"`
}

// List returns every reference of the store and every untagged image,
// sorted by reference. It reads index.json only, never a blob.
func (s *Store) List() ([]Entry, error) {
	if s.absent {
		return nil, nil
	}
	b, err := os.ReadFile(s.path(indexFile))
	if err != nil {
		return nil, fmt.Errorf("reading the image store: %w", err)
	}
	var im leanIndex
	if err := json.Unmarshal(b, &im); err != nil {
		return nil, fmt.Errorf("reading the image store: %s is corrupt: %w", s.path(indexFile), err)
	}
	out := make([]Entry, 0, len(im.Manifests))
	for _, d := range im.Manifests {
		out = append(out, entryFrom(d.MediaType, parseHash(d.Digest), d.ArtifactType, d.Annotations))
	}
	return out, nil
}

// parseHash splits "algorithm:hex" (index.json is ctl's own file; a
// malformed digest gives a zero hash, which matches nothing).
func parseHash(s string) v1.Hash {
	alg, hexPart, ok := strings.Cut(s, ":")
	if !ok {
		return v1.Hash{}
	}
	return v1.Hash{Algorithm: alg, Hex: hexPart}
}

// Tags returns the tagged entries of repo's repository (its tag and digest
// are ignored), sorted by tag: what push --all-tags sends.
func (s *Store) Tags(repo reference.Reference) ([]Entry, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	prefix := repo.Name() + ":"
	var out []Entry
	for _, e := range all {
		if strings.HasPrefix(e.Ref, prefix) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no tag of %s in the store", ErrNotFound, repo.FamiliarName())
	}
	return out, nil
}

// Lookup finds the image a reference names in the store (no ID matching).
func (s *Store) Lookup(r reference.Reference) (Entry, error) {
	all, err := s.List()
	if err != nil {
		return Entry{}, err
	}
	if e, ok := lookupRef(all, r); ok {
		return e, nil
	}
	return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, r.Familiar())
}

func lookupRef(all []Entry, r reference.Reference) (Entry, bool) {
	key := refKey(r)
	for _, e := range all {
		if e.Ref == key && (r.Digest() == "" || e.answers(r.Digest())) {
			return e, true
		}
	}
	if r.Digest() != "" {
		// repo@digest names any image of that repository with that digest,
		// or pulled at that digest, as docker's RepoDigests do.
		for _, e := range all {
			if e.answers(r.Digest()) && refName(e.Ref) == r.Name() {
				return e, true
			}
		}
	}
	return Entry{}, false
}

// refName is the repository part of a stored reference key.
func refName(key string) string {
	if i := strings.IndexByte(key, '@'); i >= 0 {
		return key[:i]
	}
	if i := strings.LastIndexByte(key, ':'); i > strings.LastIndexByte(key, '/') {
		return key[:i]
	}
	return key
}

// Resolve finds the image a user names the way docker does: a reference
// (familiar or full, with a tag or a digest), an image ID ("sha256:HEX"), a
// manifest digest, or a unique prefix of an image ID, with or without
// "sha256:" (docker takes "sha256:3aed0636dc02" too). The entry returned
// carries the matching reference, or no reference when matched by ID.
func (s *Store) Resolve(source string) (Entry, error) {
	all, err := s.List()
	if err != nil {
		return Entry{}, err
	}
	return resolve(all, source)
}

func resolve(all []Entry, source string) (Entry, error) {
	if hexID, ok := strings.CutPrefix(source, "sha256:"); ok {
		if !isHex(hexID) || len(hexID) > 64 {
			return Entry{}, fmt.Errorf("%w: invalid image ID %q", ErrInvalidInput, source)
		}
		if len(hexID) < 64 {
			return byIDPrefix(all, hexID, source)
		}
		for _, e := range all {
			if e.ID.String() == source || e.Digest.String() == source {
				e.Ref = ""
				return e, nil
			}
		}
		return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, source)
	}
	r, perr := reference.Parse(source)
	if perr == nil {
		if e, ok := lookupRef(all, r); ok {
			return e, nil
		}
	}
	if isHex(source) && len(source) <= 64 {
		return byIDPrefix(all, source, source)
	}
	if perr != nil {
		return Entry{}, perr
	}
	return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, source)
}

// byIDPrefix is the image whose ID starts with the hex digits prefix,
// which must name one image; source is what the user wrote.
func byIDPrefix(all []Entry, prefix, source string) (Entry, error) {
	var found *Entry
	for i, e := range all {
		if strings.HasPrefix(e.ID.Hex, prefix) {
			if found != nil && found.ID != e.ID {
				return Entry{}, fmt.Errorf("%w: image ID prefix %q is ambiguous", ErrInvalidInput, source)
			}
			found = &all[i]
		}
	}
	if found == nil {
		return Entry{}, fmt.Errorf("%w: %s", ErrNotFound, source)
	}
	e := *found
	e.Ref = ""
	return e, nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Tag makes every target name the image src (as returned by Resolve or
// Lookup), without copying anything. A target must carry a tag or nothing
// (":latest" is implied); a digest target is invalid input. A new
// reference has no RepoDigest and is not Remote: it was never pulled, and
// pushing it would give it the stored manifest's digest.
func (s *Store) Tag(src Entry, targets ...reference.Reference) error {
	refs := make([]string, 0, len(targets))
	for _, t := range targets {
		if t.Digest() != "" {
			return fmt.Errorf("%w: cannot tag with a digest: %s (give a tag)", ErrInvalidInput, t.String())
		}
		refs = append(refs, refKey(t))
	}
	return s.updateIndex(func(im *v1.IndexManifest) error {
		var msize int64 = -1
		for _, d := range im.Manifests {
			if d.Digest == src.Digest {
				msize = d.Size
				break
			}
		}
		if msize < 0 {
			return fmt.Errorf("%w: %s (removed meanwhile)", ErrNotFound, src.Digest)
		}
		ps := make([]pending, len(refs))
		for i, ref := range refs {
			e := src
			if ref != src.Ref {
				e.RepoDigest, e.Remote = v1.Hash{}, false
			}
			ps[i] = pending{e: e, msize: msize, refs: []string{ref}}
		}
		point(im, ps...)
		return nil
	})
}

// SetRepoDigest records that ref, when it still names the stored manifest
// image, has digest on its registry (after a pull that found it up to
// date, or a push): remembered as its RepoDigest when that differs from
// image, forgotten otherwise, and the reference is Remote. index.json is
// rewritten only when that changes something.
func (s *Store) SetRepoDigest(ref reference.Reference, image, digest v1.Hash) error {
	key := refKey(ref)
	if digest == image {
		digest = v1.Hash{}
	}
	stale := func(e Entry) bool { return e.Ref == key && e.Digest == image && (e.RepoDigest != digest || !e.Remote) }
	all, err := s.List()
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(all, stale) {
		return nil
	}
	return s.updateIndex(func(im *v1.IndexManifest) error {
		for i, d := range im.Manifests {
			if e := entryOf(d); stale(e) {
				e.RepoDigest, e.Remote = digest, true
				im.Manifests[i] = e.descriptor(d.Size)
			}
		}
		return nil
	})
}
