// Package artifact tells images from other OCI artifacts (signatures,
// SBOMs, attestations): ctl calls an artifact an artifact, never an image.
package artifact

import v1 "github.com/google/go-containerregistry/pkg/v1"

// Type returns the artifact type of manifest m, or "" when m is an image:
// its artifactType field when set, else its config's media type when that
// is not an image config (OCI or Docker). An image manifest with an image
// config and no artifactType (a cosign signature is one) is an image.
func Type(m *v1.Manifest) string {
	if m.ArtifactType != "" {
		return m.ArtifactType
	}
	if m.Config.MediaType.IsConfig() {
		return ""
	}
	return string(m.Config.MediaType)
}
