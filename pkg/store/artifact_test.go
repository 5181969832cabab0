package store

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// emptyConfig is the OCI empty descriptor's content, {}, which artifacts
// mostly share as their config.
var emptyConfig = v1.Hash{Algorithm: "sha256", Hex: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}

// rawArtifact is an OCI artifact as oras writes one: the empty config {}
// and one layer of content.
type rawArtifact struct {
	manifest []byte
	layer    v1.Layer
}

func (a rawArtifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a rawArtifact) RawManifest() ([]byte, error)        { return a.manifest, nil }
func (a rawArtifact) RawConfigFile() ([]byte, error)      { return []byte("{}"), nil }
func (a rawArtifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if d, _ := a.layer.Digest(); d == h {
		return a.layer, nil
	}
	return nil, errors.New("no such layer")
}

// orasArtifact is an artifact of artifactType holding content, sharing the
// empty config with every other one.
func orasArtifact(t testing.TB, artifactType, content string) v1.Image {
	t.Helper()
	l := static.NewLayer([]byte(content), "application/octet-stream")
	ld, err := partial.Descriptor(l)
	if err != nil {
		t.Fatal(err)
	}
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: artifactType,
		Config: v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: emptyConfig, Size: 2},
		Layers: []v1.Descriptor{*ld},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	img, err := partial.CompressedToImage(rawArtifact{raw, l})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestArtifactEntries: artifacts, an oras one (artifactType, the empty
// config) as a cosign one (an image config over a signature layer), are
// stored as artifacts, written or loaded, each with its manifest digest
// as ID: the empty config they share would give them all one.
func TestArtifactEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	sbom1, err := s.WriteImage(ctx, orasArtifact(t, "application/spdx+json", "one"), ref(t, "app:sbom1"))
	if err != nil {
		t.Fatal(err)
	}
	sbom2, err := s.WriteImage(ctx, orasArtifact(t, "application/spdx+json", "two"), ref(t, "other:sbom2"))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.WriteImage(ctx, testenv.CosignSignature(t, "signed"), ref(t, "app:sha256-0123.sig"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeLayout(t, filepath.Join(dir, "layout"), testenv.CosignSignature(t, "loaded"), "docker.io/library/app:loaded.sig")
	if _, err := s.Load(ctx, filepath.Join(dir, "layout")); err != nil {
		t.Fatal(err)
	}
	loaded, err := s.Resolve("app:loaded.sig")
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := map[v1.Hash]string{
		sbom1.Digest: "application/spdx+json", sbom2.Digest: "application/spdx+json",
		sig.Digest: "application/vnd.dev.cosign.simplesigning.v1+json", loaded.Digest: "application/vnd.dev.cosign.simplesigning.v1+json",
	}
	if len(all) != len(want) {
		t.Fatalf("listed %d entries, want %d: %+v", len(all), len(want), all)
	}
	for _, e := range all {
		if e.ArtifactType != want[e.Digest] || e.ID != e.Digest {
			t.Errorf("%s: artifact type %q, ID %s; want %q and its digest as ID", e.Ref, e.ArtifactType, e.ID, want[e.Digest])
		}
	}
	if sbom1.ID == emptyConfig {
		t.Errorf("WriteImage gave the artifact the empty config's ID")
	}

	// By ID, one artifact: its reference goes, and its manifest.
	res, err := s.Remove(sbom1.ID.Hex[:12], false)
	if err != nil || len(res.Untagged) != 1 || res.Untagged[0] != "docker.io/library/app:sbom1" ||
		len(res.Deleted) != 1 || res.Deleted[0] != sbom1.Digest {
		t.Fatalf("rmi an artifact's ID: %+v, %v", res, err)
	}
	if left, _ := s.List(); len(left) != 3 {
		t.Errorf("rmi of one artifact's ID left %d entries, want 3: %+v", len(left), left)
	}
	// An artifact in two repositories needs force, and says artifact.
	back, _ := s.Resolve("other:sbom2")
	if err := s.Tag(back, ref(t, "third:sbom2")); err != nil {
		t.Fatal(err)
	}
	_, err = s.Remove(sbom2.ID.Hex[:12], false)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "unable to delete "+sbom2.ID.Hex[:12]+" (must be forced) - artifact is referenced in multiple repositories") {
		t.Errorf("rmi of an artifact ID in two repositories: %v", err)
	}
}
