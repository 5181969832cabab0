package testenv

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Attach writes to repo, by digest, an OCI artifact of artifactType (its
// config's media type, an empty config) whose subject is subject, with
// annotations (which also make otherwise equal artifacts distinct), and
// returns its descriptor. go-containerregistry keeps the sha256-<hex> tag
// schema's index itself when the registry has no referrers API.
func Attach(t testing.TB, repo name.Repository, subject v1.Descriptor, artifactType string, annotations map[string]string, opts ...remote.Option) v1.Descriptor {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(artifactType))
	img = mutate.Annotations(img, annotations).(v1.Image)
	img = mutate.Subject(img, subject).(v1.Image)
	desc, err := partial.Descriptor(img)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := remote.Write(repo.Digest(desc.Digest.String()), img, opts...); err != nil {
		t.Fatalf("testenv: attaching %s to %s: %v", artifactType, subject.Digest, err)
	}
	return *desc
}

// CosignSignature is a signature shaped as cosign writes one: an OCI image
// manifest with an image config, whose one layer is the signed payload
// (application/vnd.dev.cosign.simplesigning.v1+json), and no subject: cosign
// names the subject by the tag it writes it under, sha256-<hex>.sig.
func CosignSignature(t testing.TB, payload string) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		static.NewLayer([]byte(payload), "application/vnd.dev.cosign.simplesigning.v1+json"))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return mutate.ConfigMediaType(img, types.OCIConfigJSON)
}

// CosignSign writes to repo a CosignSignature of payload under subject's
// cosign tag, sha256-<hex>.sig, and returns its descriptor.
func CosignSign(t testing.TB, repo name.Repository, subject v1.Hash, payload string, opts ...remote.Option) v1.Descriptor {
	t.Helper()
	img := CosignSignature(t, payload)
	desc, err := partial.Descriptor(img)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	tag := strings.Replace(subject.String(), ":", "-", 1) + ".sig"
	if err := remote.Write(repo.Tag(tag), img, opts...); err != nil {
		t.Fatalf("testenv: signing %s: %v", subject, err)
	}
	return *desc
}
