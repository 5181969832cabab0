package artifact

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		m    v1.Manifest
		want string // "" for an image
	}{
		{"oci image", v1.Manifest{Config: v1.Descriptor{MediaType: types.OCIConfigJSON}}, ""},
		{"docker image", v1.Manifest{Config: v1.Descriptor{MediaType: types.DockerConfigJSON}}, ""},
		{"oras artifact", v1.Manifest{ArtifactType: "application/spdx+json", Config: v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json"}}, "application/spdx+json"},
		{"artifact by config type", v1.Manifest{Config: v1.Descriptor{MediaType: "application/vnd.cncf.helm.config.v1+json"}}, "application/vnd.cncf.helm.config.v1+json"},
		{"artifactType on an image config", v1.Manifest{ArtifactType: "application/x", Config: v1.Descriptor{MediaType: types.OCIConfigJSON}}, "application/x"},
		{"image layers", v1.Manifest{Config: v1.Descriptor{MediaType: types.OCIConfigJSON}, Layers: []v1.Descriptor{
			{MediaType: types.OCILayer}, {MediaType: types.OCILayerZStd}, {MediaType: "application/vnd.oci.image.layer.v1.tar+gzip+encrypted"},
			{MediaType: types.DockerLayer}, {MediaType: types.DockerForeignLayer}}}, ""},
		{"cosign signature", v1.Manifest{Config: v1.Descriptor{MediaType: types.OCIConfigJSON}, Layers: []v1.Descriptor{
			{MediaType: "application/vnd.dev.cosign.simplesigning.v1+json"}}}, "application/vnd.dev.cosign.simplesigning.v1+json"},
		{"buildkit attestation", v1.Manifest{Config: v1.Descriptor{MediaType: types.OCIConfigJSON}, Layers: []v1.Descriptor{
			{MediaType: "application/vnd.in-toto+json"}, {MediaType: "application/vnd.in-toto+json"}}}, "application/vnd.in-toto+json"},
		{"an image layer then another kind", v1.Manifest{Config: v1.Descriptor{MediaType: types.DockerConfigJSON}, Layers: []v1.Descriptor{
			{MediaType: types.DockerLayer}, {MediaType: "application/octet-stream"}}}, "application/octet-stream"},
	}
	for _, tc := range tests {
		if got := Type(&tc.m); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
