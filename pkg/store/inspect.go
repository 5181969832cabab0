package store

import (
	"slices"
	"time"

	"github.com/ctl-dev/ctl/pkg/artifact"
	"github.com/ctl-dev/ctl/pkg/platform"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ImageInfo is docker image inspect's view of a local image; the JSON keys
// are docker's.
type ImageInfo struct {
	Id           string        `json:"Id"` // docker's spelling: templates say {{.Id}}
	RepoTags     []string      `json:"RepoTags"`
	RepoDigests  []string      `json:"RepoDigests"`
	Parent       string        `json:"Parent"`
	Comment      string        `json:"Comment"`
	Created      string        `json:"Created"`
	Author       string        `json:"Author"`
	Config       v1.Config     `json:"Config"`
	Architecture string        `json:"Architecture"`
	Variant      string        `json:"Variant,omitempty"`
	Os           string        `json:"Os"`
	OsVersion    string        `json:"OsVersion,omitempty"`
	Size         int64         `json:"Size"`
	RootFS       RootFS        `json:"RootFS"`
	Descriptor   v1.Descriptor `json:"Descriptor"`
	// Manifests are the entries of an index (docker's "Manifests" of a
	// multi-platform image); absent for a single image.
	Manifests []ManifestInfo `json:"Manifests,omitempty"`
	// ArtifactType is set for an artifact (a signature, an SBOM...), not
	// an image; Subject is the digest of the manifest it refers to, and
	// ConfigMediaType its config's media type. docker has no such keys.
	ArtifactType    string `json:"ArtifactType,omitempty"`
	Subject         string `json:"Subject,omitempty"`
	ConfigMediaType string `json:"ConfigMediaType,omitempty"`
}

// ManifestInfo is one entry of an index, as image inspect lists it.
type ManifestInfo struct {
	ID         string        `json:"ID"`       // the manifest digest
	Platform   string        `json:"Platform"` // "linux/arm64/v8", "unknown/unknown" for an entry without one
	Available  bool          `json:"Available"`
	Size       int64         `json:"Size"` // bytes of config and layers; 0 when not available
	Kind       string        `json:"Kind"` // image, index or artifact (an attestation or signature)
	Descriptor v1.Descriptor `json:"Descriptor"`
}

// RootFS lists an image's layers by diff ID, as docker inspect does.
type RootFS struct {
	Type   string    `json:"Type"`
	Layers []v1.Hash `json:"Layers"`
}

// Inspect describes the image e. For an index, the image described is the
// one for platform want (nil: this machine's, else the first one in the
// store; a platform the index lacks is a *platform.NotFoundError), and
// Manifests lists every entry. It reads the manifest and config blobs.
func (s *Store) Inspect(e Entry, want *v1.Platform) (*ImageInfo, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	info := &ImageInfo{Id: e.ID.String(), RepoTags: []string{}, RepoDigests: []string{}, Size: e.Size}
	info.Descriptor = v1.Descriptor{MediaType: e.MediaType, Digest: e.Digest}
	if n, err := s.statBlob(e.Digest); err == nil {
		info.Descriptor.Size = n
	}
	for _, o := range all {
		if o.Digest != e.Digest {
			continue
		}
		r, ok := o.Reference()
		if !ok {
			continue
		}
		if r.Tag() != "" {
			info.RepoTags = append(info.RepoTags, r.Familiar())
		}
		if d := r.FamiliarName() + "@" + o.RegistryDigest().String(); !slices.Contains(info.RepoDigests, d) {
			info.RepoDigests = append(info.RepoDigests, d)
		}
	}
	img, err := s.platformImage(e, want)
	if err != nil {
		return nil, err
	}
	if e.IsIndex() {
		if info.Manifests, err = s.manifestInfos(e.Digest); err != nil {
			return nil, err
		}
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	info.ArtifactType, info.ConfigMediaType = artifact.Type(m), string(m.Config.MediaType)
	if m.Subject != nil {
		info.Subject = m.Subject.Digest.String()
	}
	info.RootFS.Layers = []v1.Hash{}
	if info.ArtifactType != "" {
		return info, nil // its config, if any, is not an image config
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	info.Comment = "" // history comments are per layer
	info.Created = cf.Created.UTC().Format(time.RFC3339Nano)
	info.Author = cf.Author
	info.Config = cf.Config
	info.Architecture, info.Variant, info.Os, info.OsVersion = cf.Architecture, cf.Variant, cf.OS, cf.OSVersion
	info.RootFS.Type = cf.RootFS.Type
	if cf.RootFS.DiffIDs != nil {
		info.RootFS.Layers = cf.RootFS.DiffIDs
	}
	return info, nil
}

// platformImage is the image itself, or for an index the child for want
// (nil: this machine's platform, else the first child the store has),
// following nested indexes.
func (s *Store) platformImage(e Entry, want *v1.Platform) (v1.Image, error) {
	if !e.IsIndex() {
		return s.Image(e.Digest)
	}
	idx, err := s.Index(e.Digest)
	if err != nil {
		return nil, err
	}
	for {
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		pick, err := s.pickStored(im, want)
		if err != nil {
			return nil, err
		}
		if !pick.MediaType.IsIndex() {
			return idx.Image(pick.Digest)
		}
		if idx, err = idx.ImageIndex(pick.Digest); err != nil {
			return nil, err
		}
	}
}

// pickStored is the entry of im for want among those the store holds, or
// with no want this machine's platform's, else the first stored image.
func (s *Store) pickStored(im *v1.IndexManifest, want *v1.Platform) (v1.Descriptor, error) {
	stored := &v1.IndexManifest{}
	for _, d := range im.Manifests {
		if s.HasBlob(d.Digest) {
			stored.Manifests = append(stored.Manifests, d)
		}
	}
	if want != nil {
		return platform.Pick(stored, *want)
	}
	if d, err := platform.Pick(stored, platform.Default()); err == nil {
		return d, nil
	}
	for _, d := range stored.Manifests {
		if platform.IsImage(d) {
			return d, nil
		}
	}
	return v1.Descriptor{}, invalid("the store holds no image of this index")
}

// manifestInfos lists the entries of the index h.
func (s *Store) manifestInfos(h v1.Hash) ([]ManifestInfo, error) {
	raw, err := s.readBlob(h, maxManifest)
	if err != nil {
		return nil, err
	}
	im, err := v1.ParseIndexManifest(bytesReader(raw))
	if err != nil {
		return nil, invalid("index %s is malformed: %v", h, err)
	}
	out := make([]ManifestInfo, 0, len(im.Manifests))
	for _, d := range im.Manifests {
		mi := ManifestInfo{ID: d.Digest.String(), Platform: platform.String(d.Platform), Available: s.HasBlob(d.Digest), Kind: "image", Descriptor: d}
		switch {
		case d.MediaType.IsIndex():
			mi.Kind = "index"
		case !platform.IsImage(d):
			mi.Kind = "artifact"
		}
		if mi.Available && d.MediaType.IsImage() {
			if b, err := s.readBlob(d.Digest, maxManifest); err == nil {
				if m, err := v1.ParseManifest(bytesReader(b)); err == nil {
					mi.Size = m.Config.Size
					for _, l := range m.Layers {
						mi.Size += l.Size
					}
				}
			}
		}
		out = append(out, mi)
	}
	return out, nil
}
