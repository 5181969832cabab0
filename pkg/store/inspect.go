package store

import (
	"github.com/ctl-dev/ctl/pkg/artifact"
	"runtime"
	"slices"
	"time"

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
	// ArtifactType is set for an artifact (a signature, an SBOM...), not
	// an image; Subject is the digest of the manifest it refers to, and
	// ConfigMediaType its config's media type. docker has no such keys.
	ArtifactType    string `json:"ArtifactType,omitempty"`
	Subject         string `json:"Subject,omitempty"`
	ConfigMediaType string `json:"ConfigMediaType,omitempty"`
}

// RootFS lists an image's layers by diff ID, as docker inspect does.
type RootFS struct {
	Type   string    `json:"Type"`
	Layers []v1.Hash `json:"Layers"`
}

// Inspect describes the image e (for an index: the image for this machine's
// platform, else the first one in the store). It reads the manifest and
// config blobs.
func (s *Store) Inspect(e Entry) (*ImageInfo, error) {
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
	img, err := s.platformImage(e)
	if err != nil {
		return nil, err
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

// platformImage is the image itself, or for an index the child for this
// machine (else the first child the store has).
func (s *Store) platformImage(e Entry) (v1.Image, error) {
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
		var pick *v1.Descriptor
		for i, c := range im.Manifests {
			if !s.HasBlob(c.Digest) {
				continue
			}
			if pick == nil {
				pick = &im.Manifests[i]
			}
			if c.Platform != nil && c.Platform.OS == runtime.GOOS && c.Platform.Architecture == runtime.GOARCH {
				pick = &im.Manifests[i]
				break
			}
		}
		if pick == nil {
			return nil, invalid("index %s has no image in the store", e.Digest)
		}
		if !pick.MediaType.IsIndex() {
			return idx.Image(pick.Digest)
		}
		if idx, err = idx.ImageIndex(pick.Digest); err != nil {
			return nil, err
		}
	}
}
