package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"strings"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Manifest is a manifest exactly as the registry stored it.
type Manifest struct {
	// Bytes are the manifest's bytes, verified against Digest.
	Bytes []byte
	// MediaType is the manifest's media type.
	MediaType types.MediaType
	// Digest is the sha256 digest of Bytes.
	Digest v1.Hash
	// Source is where it was read from (GetManifest).
	Source Source
}

// IsIndex reports whether the manifest is an index (OCI index or Docker
// manifest list).
func (m *Manifest) IsIndex() bool { return m.MediaType.IsIndex() }

// GetManifest fetches the manifest r names. With a platform, an index is
// resolved to that platform's manifest (a single-platform image is returned
// as it is).
func (c *Client) GetManifest(ctx context.Context, r reference.Reference, platform *v1.Platform) (*Manifest, error) {
	var m *Manifest
	src, err := c.read(ctx, r, false, func(s *session) (err error) {
		m, err = s.manifest(ctx, wireID(r), platform)
		return err
	})
	if err != nil {
		return nil, err
	}
	m.Source = src
	return m, nil
}

// openRef converts r for the wire and opens a session on its repository.
func (c *Client) openRef(ctx context.Context, r reference.Reference, actions string) (*session, name.Reference, error) {
	ref, err := c.Ref(r)
	if err != nil {
		return nil, nil, err
	}
	s, err := c.repoSession(ctx, ref.Context(), actions)
	if err != nil {
		return nil, nil, err
	}
	return s, ref, nil
}

// wireID is what r names in its repository on the wire: its digest, else
// its tag (latest when it has neither).
func wireID(r reference.Reference) string {
	if r.Digest() != "" {
		return r.Digest()
	}
	return r.DefaultedTag()
}

// manifest fetches manifest id (a tag or digest) of the session's
// repository and, with a platform, follows an index to that platform's
// child.
func (s *session) manifest(ctx context.Context, id string, platform *v1.Platform) (*Manifest, error) {
	b, mh, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Bytes: b, MediaType: mh.MediaType, Digest: mh.Digest}
	if platform == nil || !m.IsIndex() {
		return m, nil
	}
	child, err := pickPlatform(m, *platform, s.host+"/"+s.repo+refSep(id)+id)
	if err != nil {
		return nil, err
	}
	b, mh, err = s.get(ctx, child.Digest.String())
	if err != nil {
		return nil, err
	}
	return &Manifest{Bytes: b, MediaType: mh.MediaType, Digest: mh.Digest}, nil
}

// refSep is the separator before id in a reference: "@" for a digest, ":"
// for a tag.
func refSep(id string) string {
	if strings.Contains(id, ":") {
		return "@"
	}
	return ":"
}

// pickPlatform finds the child of index m for platform want
// (platform.Pick).
func pickPlatform(m *Manifest, want v1.Platform, ref string) (v1.Descriptor, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(m.Bytes))
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("parsing index %s: %w", ref, err)
	}
	d, err := platform.Pick(idx, want)
	if err != nil {
		return v1.Descriptor{}, notFoundError{fmt.Errorf("%s: %w", ref, err)}
	}
	return d, nil
}

// checkMediaType returns the media type of manifest b, refusing a document
// that is both an image and an index, or whose mediaType field contradicts
// the Content-Type the registry sent (the CVE-2021-41190 family).
func checkMediaType(b []byte, contentType string) (types.MediaType, error) {
	var doc struct {
		MediaType types.MediaType `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
		Layers    json.RawMessage `json:"layers"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return "", fmt.Errorf("not a JSON manifest: %w", err)
	}
	if doc.Manifests != nil && doc.Layers != nil {
		return "", fmt.Errorf("document has both manifests and layers")
	}
	ct := contentType
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		ct = mt
	}
	switch {
	case doc.MediaType != "" && ct != "" && ct != string(doc.MediaType):
		return "", fmt.Errorf("Content-Type %q does not match mediaType %q", ct, doc.MediaType)
	case doc.MediaType != "":
		return doc.MediaType, nil
	case ct != "":
		return types.MediaType(ct), nil
	case doc.Manifests != nil:
		return types.OCIImageIndex, nil
	}
	return types.OCIManifestSchema1, nil
}
