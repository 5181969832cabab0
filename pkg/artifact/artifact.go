// Package artifact tells images from other OCI artifacts (signatures,
// SBOMs, attestations): ctl calls an artifact an artifact, never an image.
package artifact

import (
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Type returns the artifact type of manifest m, or "" when m is an image:
// its artifactType field when set, else its config's media type when that
// is not an image config (OCI or Docker), else the media type of its first
// layer that is not an image layer. An image config over layers that are
// not filesystem layers does not make an image: a cosign signature
// (application/vnd.dev.cosign.simplesigning.v1+json) or a buildkit
// attestation (application/vnd.in-toto+json) is an artifact of its
// layer's type. An image has an image config and image layers only (none
// at all, for an empty image).
func Type(m *v1.Manifest) string {
	if m.ArtifactType != "" {
		return m.ArtifactType
	}
	if !m.Config.MediaType.IsConfig() {
		return string(m.Config.MediaType)
	}
	for _, l := range m.Layers {
		if !isImageLayer(l.MediaType) {
			return string(l.MediaType)
		}
	}
	return ""
}

// isImageLayer reports whether mt is a filesystem layer of an OCI or
// Docker image, in any compression, distributable or not, encrypted or
// not (application/vnd.oci.image.layer.v1.tar+zstd, ...+gzip+encrypted).
func isImageLayer(mt types.MediaType) bool {
	return mt.IsLayer() ||
		strings.HasPrefix(string(mt), "application/vnd.oci.image.layer.") ||
		strings.HasPrefix(string(mt), "application/vnd.docker.image.rootfs.")
}
