package store

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/platform"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// tarMembers reads a tar into memory by member name.
func tarMembers(t testing.TB, b []byte) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[hdr.Name], _ = io.ReadAll(tr)
	}
}

// twoPlatforms is a store with app:v1, an index of a linux/amd64 and a
// linux/arm64/v8 image.
func twoPlatforms(t testing.TB) (*Store, Entry, []IndexSource) {
	t.Helper()
	s := newStore(t)
	srcs := []IndexSource{
		stored(t, s, "app:amd64", platformImage(t, "linux/amd64", true)),
		stored(t, s, "app:arm64", platformImage(t, "linux/arm64/v8", true)),
	}
	e, err := s.CreateIndex(context.Background(), ref(t, "app:v1"), srcs, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s, e, srcs
}

func TestSaveIndexPlatforms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, e, srcs := twoPlatforms(t)
	save := func(sel string) ([]byte, error) {
		t.Helper()
		ps, err := platform.ParseSelection(sel)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		err = s.Save(ctx, &buf, []Entry{e}, FormatDocker, ps)
		return buf.Bytes(), err
	}
	native := 0 // manifest.json lists this machine's platform's image
	if platform.Default().Architecture == "arm64" {
		native = 1
	}
	for _, tc := range []struct {
		sel  string
		want []string // platforms loaded back
		img  int      // the source whose image manifest.json lists
		one  bool     // that image saved in the index's place
	}{
		{"", []string{"linux/amd64", "linux/arm64/v8"}, native, false},
		{"linux/amd64,linux/arm64", []string{"linux/amd64", "linux/arm64/v8"}, native, false},
		// One platform is that platform's image, as docker save
		// --platform writes it: no index naming images the archive
		// lacks, which skopeo, podman and regctl fail to read on a
		// machine of another platform.
		{"linux/arm64", []string{"linux/arm64/v8"}, 1, true},
	} {
		b, err := save(tc.sel)
		if err != nil {
			t.Fatal(err)
		}
		m := tarMembers(t, b)
		var dm tarball.Manifest
		if err := json.Unmarshal(m["manifest.json"], &dm); err != nil || len(dm) != 1 || !slices.Equal(dm[0].RepoTags, []string{"app:v1"}) ||
			dm[0].Config != "blobs/sha256/"+srcs[tc.img].Entry.ID.Hex {
			t.Errorf("--platform %q: manifest.json %s", tc.sel, m["manifest.json"])
		}
		for i, src := range srcs {
			if _, ok := m["blobs/sha256/"+src.Entry.Digest.Hex]; ok != slices.Contains(tc.want, src.Entry.Platforms[0]) {
				t.Errorf("--platform %q: image %d in the archive: %v", tc.sel, i, ok)
			}
		}
		s2 := newStore(t)
		got, err := s2.LoadStream(ctx, bytes.NewReader(b), "archive")
		if err != nil {
			t.Fatal(err)
		}
		wantDigest := e.Digest
		if tc.one {
			wantDigest = srcs[tc.img].Entry.Digest
		}
		var ix v1.IndexManifest
		if err := json.Unmarshal(m["index.json"], &ix); err != nil || len(ix.Manifests) != 1 || ix.Manifests[0].Digest != wantDigest ||
			ix.Manifests[0].Annotations["io.containerd.image.name"] != "docker.io/library/app:v1" {
			t.Errorf("--platform %q: index.json %s, want %s named app:v1", tc.sel, m["index.json"], wantDigest)
		}
		if len(got) != 1 || got[0].Digest != wantDigest || !slices.Equal(got[0].Platforms, tc.want) {
			t.Errorf("--platform %q: loaded %+v", tc.sel, got)
		}
	}
	// The platform's image given by ID as well is saved once, under the
	// index's name, as any image given by ID and by a name.
	byID := srcs[1].Entry
	byID.Ref = ""
	var both bytes.Buffer
	arm, _ := platform.ParseSelection("linux/arm64")
	if err := s.Save(ctx, &both, []Entry{e, byID}, FormatOCI, arm); err != nil {
		t.Fatal(err)
	}
	var ix v1.IndexManifest
	if err := json.Unmarshal(tarMembers(t, both.Bytes())["index.json"], &ix); err != nil || len(ix.Manifests) != 1 || ix.Manifests[0].Digest != byID.Digest {
		t.Errorf("--platform linux/arm64 of the index and its image's ID: index.json %+v (%v)", ix.Manifests, err)
	}
	if _, err := save("windows/amd64"); !errors.Is(err, platform.ErrNotFound) {
		t.Errorf("save of a platform the index lacks: %v", err)
	}
	var buf bytes.Buffer
	sel, _ := platform.ParseSelection("linux/s390x")
	if err := s.Save(ctx, &buf, []Entry{srcs[0].Entry}, FormatOCI, sel); !errors.Is(err, platform.ErrNotFound) {
		t.Errorf("save of an image of another platform: %v", err)
	}
	// One image is one platform: a list it is not every platform of is
	// not found, naming what it lacks, as of an index.
	sel, _ = platform.ParseSelection(srcs[0].Entry.Platforms[0] + ",linux/s390x")
	if err := s.Save(ctx, &buf, []Entry{srcs[0].Entry}, FormatOCI, sel); !errors.Is(err, platform.ErrNotFound) || !strings.Contains(err.Error(), "no image for platform linux/s390x (the image is "+srcs[0].Entry.Platforms[0]+")") {
		t.Errorf("save of a list from an image of one of them: %v", err)
	}
}

// TestSaveFilteredByDigest: an index pulled as a subset by the registry's
// digest (stored as REPO@DIGEST, a filtered index of another digest) is
// saved under its own digest, so the archive loads back.
func TestSaveFilteredByDigest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, e, srcs := twoPlatforms(t)
	idx, err := s.Index(e.Digest)
	if err != nil {
		t.Fatal(err)
	}
	filtered := mutate.RemoveManifests(idx, func(d v1.Descriptor) bool { return d.Digest != srcs[0].Entry.Digest })
	fe, err := s.WritePulledIndex(ctx, filtered, ref(t, "reg.example/app@"+e.Digest.String()), e.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if fe.Digest == e.Digest {
		t.Fatal("the filtered index has the whole one's digest")
	}
	var buf bytes.Buffer
	if err := s.Save(ctx, &buf, []Entry{fe}, FormatDocker, platform.Selection{}); err != nil {
		t.Fatal(err)
	}
	got, err := newStore(t).LoadStream(ctx, bytes.NewReader(buf.Bytes()), "archive")
	if err != nil || len(got) != 1 || got[0].Digest != fe.Digest || got[0].Ref != "reg.example/app@"+fe.Digest.String() {
		t.Errorf("loaded back %+v, %v; want reg.example/app@%s", got, err, fe.Digest)
	}
}

// TestLoadDockerMultiPlatformSave loads what docker 25+ (containerd image
// store) writes for a multi-platform image of which it holds one platform:
// an OCI layout whose index.json names the index, blobs of the platform it
// has, and a manifest.json listing that platform's image.
func TestLoadDockerMultiPlatformSave(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, e, srcs := twoPlatforms(t)
	idx, err := src.Index(e.Digest)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		annotationContainerdName: "docker.io/library/app:v1",
		AnnotationRef:            "v1",
	})); err != nil {
		t.Fatal(err)
	}
	// docker holds only the amd64 image.
	arm, err := src.Image(srcs[1].Entry.Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := arm.Manifest()
	for _, h := range append([]v1.Hash{srcs[1].Entry.Digest, m.Config.Digest}, m.Layers[0].Digest, m.Layers[1].Digest) {
		if err := os.Remove(filepath.Join(dir, "blobs", "sha256", h.Hex)); err != nil {
			t.Fatal(err)
		}
	}
	amd, _ := src.Image(srcs[0].Entry.Digest)
	am, _ := amd.Manifest()
	dm := tarball.Manifest{{Config: "blobs/sha256/" + am.Config.Digest.Hex, RepoTags: []string{"app:v1"}}}
	for _, l := range am.Layers {
		dm[0].Layers = append(dm[0].Layers, "blobs/sha256/"+l.Digest.Hex)
	}
	b, _ := json.Marshal(dm)
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "docker.tar")
	tarDir(t, dir, tarPath)
	s := newStore(t)
	got, err := s.Load(ctx, tarPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Digest != e.Digest || got[0].Ref != "docker.io/library/app:v1" || !slices.Equal(got[0].Platforms, []string{"linux/amd64"}) {
		t.Fatalf("loaded %+v", got)
	}
	info, err := s.Inspect(got[0], nil)
	if err != nil || info.Architecture != "amd64" || len(info.Manifests) != 2 || !info.Manifests[0].Available || info.Manifests[1].Available {
		t.Errorf("inspect %+v %v", info, err)
	}
}

// TestSaveCorruptBlob: a blob damaged on disk after it was stored fails
// the save (ErrCorrupt, naming the blob) in both formats, instead of going
// into the archive.
func TestSaveCorruptBlob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	img := randomImage(t, 2000, 1)
	e, err := s.WriteImage(ctx, img, ref(t, "app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	h, _ := layers[0].Digest()
	p, err := s.blobPath(h)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{FormatDocker, FormatOCI} {
		err := s.Save(ctx, io.Discard, []Entry{e}, format, platform.Selection{})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), h.String()) {
			t.Errorf("save --format %s of a damaged blob: %v", format, err)
		}
	}
}

// TestSaveArtifactsNotInDockerManifest: docker's manifest.json lists images
// only. An artifact saved beside an image, or an attestation in an index
// (listed before its image, of another platform than this machine's),
// goes into the OCI layout and loads back from it, but manifest.json,
// whose every entry docker and podman load as an image, leaves it out.
func TestSaveArtifactsNotInDockerManifest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	img := stored(t, s, "app:v1", platformImage(t, "linux/amd64", true))
	sbom, err := s.WriteImage(ctx, orasArtifact(t, "application/spdx+json", "sbom"), ref(t, "app:sbom"))
	if err != nil {
		t.Fatal(err)
	}
	other := "linux/s390x"
	if platform.Default().Architecture == "s390x" {
		other = "linux/ppc64le"
	}
	pimg := platformImage(t, other, true)
	att := orasArtifact(t, "application/vnd.in-toto+json", "attestation")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"}}},
		mutate.IndexAddendum{Add: pimg, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: strings.TrimPrefix(other, "linux/")}}},
	)
	ie, err := s.WriteIndex(ctx, idx, ref(t, "app:multi"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Save(ctx, &buf, []Entry{img.Entry, sbom, ie}, FormatDocker, platform.Selection{}); err != nil {
		t.Fatal(err)
	}
	m := tarMembers(t, buf.Bytes())
	var dm tarball.Manifest
	if err := json.Unmarshal(m["manifest.json"], &dm); err != nil {
		t.Fatal(err)
	}
	pid, err := pimg.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if len(dm) != 2 || dm[0].Config != "blobs/sha256/"+img.Entry.ID.Hex || !slices.Equal(dm[0].RepoTags, []string{"app:v1"}) ||
		dm[1].Config != "blobs/sha256/"+pid.Hex || !slices.Equal(dm[1].RepoTags, []string{"app:multi"}) {
		t.Errorf("manifest.json lists:\n%s\nwant app:v1 and app:multi's image only", m["manifest.json"])
	}
	s2 := newStore(t)
	got, err := s2.LoadStream(ctx, bytes.NewReader(buf.Bytes()), "archive")
	if err != nil {
		t.Fatal(err)
	}
	loaded := map[string]v1.Hash{}
	for _, e := range got {
		loaded[e.Ref] = e.Digest
	}
	if len(got) != 3 || loaded["docker.io/library/app:sbom"] != sbom.Digest || loaded["docker.io/library/app:multi"] != ie.Digest {
		t.Errorf("loaded back: %+v", got)
	}
}
