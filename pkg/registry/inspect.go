package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ctl-dev/ctl/pkg/artifact"
	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Inspection summarises a manifest and, for an image, its config.
type Inspection struct {
	// Name is the reference inspected, fully qualified.
	Name string `json:"name"`
	// MediaType is the manifest's media type.
	MediaType string `json:"mediaType"`
	// Digest is the manifest's digest.
	Digest string `json:"digest"`
	// ArtifactType is set for an artifact (a signature, an SBOM...): the
	// manifest's artifactType, or its config's media type when that is not
	// an image config. Empty for an image.
	ArtifactType string `json:"artifactType,omitempty"`
	// Subject is the digest of the manifest this one refers to, if any.
	Subject string `json:"subject,omitempty"`
	// ConfigMediaType is the media type of an image's or artifact's config.
	ConfigMediaType string `json:"configMediaType,omitempty"`
	// Manifests are the children of an index.
	Manifests []IndexEntry `json:"manifests,omitempty"`
	// Platform is an image's "os/arch[/variant]" from its config.
	Platform string `json:"platform,omitempty"`
	// Layers are an image's layers in order.
	Layers []LayerInfo `json:"layers,omitempty"`
	// TotalSize is the sum of the config and layer sizes of an image, or
	// of the child manifests' sizes of an index.
	TotalSize int64 `json:"totalSize"`
	// Created is the image's creation time (RFC 3339), if recorded.
	Created string `json:"created,omitempty"`
	// Labels are the image's config labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Entrypoint and Cmd are the image's default command.
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	// Env is the image's environment, KEY=VALUE, in the config's order.
	Env []string `json:"env,omitempty"`
	// Source is "mirror" when a mirror answered, else "upstream" ("local"
	// when read from the local store); Mirror is that mirror
	// (HOST[:PORT][/PREFIX]).
	Source string `json:"source"`
	Mirror string `json:"mirror,omitempty"`
}

// IndexEntry is one child of an index.
type IndexEntry struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Platform  string `json:"platform,omitempty"`
	Size      int64  `json:"size"`
}

// LayerInfo is one layer of an image.
type LayerInfo struct {
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"`
}

// Inspect fetches r's manifest (resolved to platform's child when r is an
// index and platform is set) and, for an image, its config.
func (c *Client) Inspect(ctx context.Context, r reference.Reference, platform *v1.Platform) (*Inspection, error) {
	ref, err := c.Ref(r)
	if err != nil {
		return nil, err
	}
	var in *Inspection
	src, err := c.read(ctx, r, false, func(s *session) (err error) {
		in, err = s.inspect(ctx, r, platform)
		return err
	})
	if err != nil {
		return nil, err
	}
	in.Name, in.Source, in.Mirror = ref.Name(), src.Kind(), src.Mirror
	return in, nil
}

// inspect summarises r's manifest in the session's repository.
func (s *session) inspect(ctx context.Context, r reference.Reference, platform *v1.Platform) (*Inspection, error) {
	m, err := s.manifest(ctx, wireID(r), platform)
	if err != nil {
		return nil, err
	}
	return Summarise(m, s.host+"/"+s.repo, func(d v1.Descriptor) (*v1.ConfigFile, error) { return s.config(ctx, d) })
}

// Summarise is the Inspection of manifest m of repository repo (named in
// errors), without Name and Source; config reads an image's config (an
// artifact's is never read). The registry's and the local store's
// manifests are summarised alike.
func Summarise(m *Manifest, repo string, config func(v1.Descriptor) (*v1.ConfigFile, error)) (*Inspection, error) {
	in := &Inspection{MediaType: string(m.MediaType), Digest: m.Digest.String()}
	if m.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(m.Bytes))
		if err != nil {
			return nil, fmt.Errorf("parsing index %s: %w", repo, err)
		}
		if err := checkIndexSizes(fmt.Sprintf("index %s@%s", repo, m.Digest), idx); err != nil {
			return nil, err // summed, the sizes would be wrong, or wrap around
		}
		in.ArtifactType = idx.ArtifactType
		if idx.Subject != nil {
			in.Subject = idx.Subject.Digest.String()
		}
		for _, d := range idx.Manifests {
			e := IndexEntry{Digest: d.Digest.String(), MediaType: string(d.MediaType), Size: d.Size}
			if d.Platform != nil {
				e.Platform = platform.String(d.Platform)
			}
			in.Manifests = append(in.Manifests, e)
			in.TotalSize += d.Size
		}
		return in, nil
	}
	if !m.MediaType.IsImage() {
		// Pull and copy refuse it too; read as an image, its missing
		// config would be asked for as the blob "".
		return nil, fmt.Errorf("manifest %s@%s has media type %q, neither an image nor an index", repo, m.Digest, m.MediaType)
	}
	mf, err := v1.ParseManifest(bytes.NewReader(m.Bytes))
	if err != nil {
		return nil, fmt.Errorf("parsing manifest %s: %w", repo, err)
	}
	if err := checkManifestSizes(fmt.Sprintf("manifest %s@%s", repo, m.Digest), mf); err != nil {
		return nil, err
	}
	in.TotalSize = mf.Config.Size
	in.ArtifactType, in.ConfigMediaType = artifact.Type(mf), string(mf.Config.MediaType)
	if mf.Subject != nil {
		in.Subject = mf.Subject.Digest.String()
	}
	for _, l := range mf.Layers {
		in.Layers = append(in.Layers, LayerInfo{Digest: l.Digest.String(), MediaType: string(l.MediaType), Size: l.Size})
		in.TotalSize += l.Size
	}
	if in.ArtifactType != "" {
		return in, nil // an artifact: no image config to read
	}
	cfg, err := config(mf.Config)
	if err != nil {
		return nil, err
	}
	if p := cfg.Platform(); p != nil && p.OS != "" {
		in.Platform = p.String()
	}
	if !cfg.Created.IsZero() {
		in.Created = cfg.Created.UTC().Format("2006-01-02T15:04:05Z07:00")
	}
	in.Labels, in.Entrypoint, in.Cmd, in.Env = cfg.Config.Labels, cfg.Config.Entrypoint, cfg.Config.Cmd, cfg.Config.Env
	return in, nil
}

// config fetches, verifies and parses an image config blob.
func (s *session) config(ctx context.Context, d v1.Descriptor) (*v1.ConfigFile, error) {
	release, err := s.holdConfig(ctx, d)
	if err != nil {
		return nil, err
	}
	defer release()
	b, err := s.readConfig(ctx, d)
	if err != nil {
		return nil, err
	}
	var cf v1.ConfigFile // Unmarshal, not ParseConfigFile: no decoder buffer beside b
	if err := json.Unmarshal(b, &cf); err != nil {
		return nil, err
	}
	return &cf, nil
}

// configBlob fetches an image config blob, bounded and verified against
// its digest.
func (s *session) configBlob(ctx context.Context, d v1.Descriptor) ([]byte, error) {
	release, err := s.holdConfig(ctx, d)
	if err != nil {
		return nil, err
	}
	defer release()
	return s.readConfig(ctx, d)
}

// holdConfig checks the size config d declares and waits until that many
// bytes of the Client's config budget are free (tags list --long of 16
// tags with 60 MiB configs took 1.7 GB reading them all at once); release
// gives them back.
func (s *session) holdConfig(ctx context.Context, d v1.Descriptor) (release func(), err error) {
	if d.Size < 0 || d.Size > maxConfigBytes {
		return nil, fmt.Errorf("config %s of %s/%s declares an absurd size %d", d.Digest, s.host, s.repo, d.Size)
	}
	n := max(d.Size, 1)
	if s.configBytes == nil {
		return func() {}, nil
	}
	if err := s.configBytes.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return func() { s.configBytes.Release(n) }, nil
}

// readConfig reads config d, at most its declared size (checked by
// holdConfig), into a buffer of that size, and verifies it.
func (s *session) readConfig(ctx context.Context, d v1.Descriptor) ([]byte, error) {
	repo := s.host + "/" + s.repo
	body, err := s.getBlob(ctx, d.Digest)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	b := make([]byte, d.Size)
	n, err := io.ReadFull(body, b)
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF && d.Size > 0:
		return nil, fmt.Errorf("config %s of %s: %d bytes, not the %d declared", d.Digest, repo, n, d.Size)
	case err != nil:
		return nil, fmt.Errorf("config %s of %s: %w", d.Digest, repo, err)
	}
	if m, _ := body.Read(make([]byte, 1)); m > 0 {
		return nil, fmt.Errorf("config %s of %s: config larger than %d bytes", d.Digest, repo, d.Size)
	}
	sum := sha256.Sum256(b)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != d.Digest.String() {
		return nil, fmt.Errorf("%w: config of %s: content has digest %s, manifest says %s", ErrDigestMismatch, repo, got, d.Digest)
	}
	return b, nil
}
