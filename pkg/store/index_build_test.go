package store

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/ctl-dev/ctl/pkg/platform"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ggcrvalidate "github.com/google/go-containerregistry/pkg/v1/validate"
)

// platformImage is a random image whose config names the platform p
// ("" for none), in OCI media types when oci is set (docker schema 2
// otherwise, as random.Image makes them).
func platformImage(t testing.TB, p string, oci bool) v1.Image {
	t.Helper()
	img := randomImage(t, 256, 2)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	if p != "" {
		pl, err := platform.Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		cf.OS, cf.Architecture, cf.Variant = pl.OS, pl.Architecture, pl.Variant
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	if oci {
		img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.OCIConfigJSON)
	}
	return img
}

// stored writes img under name and returns the source naming it.
func stored(t testing.TB, s *Store, name string, img v1.Image) IndexSource {
	t.Helper()
	e, err := s.WriteImage(context.Background(), img, ref(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return IndexSource{Name: name, Entry: e}
}

func indexManifest(t testing.TB, s *Store, e Entry) *v1.IndexManifest {
	t.Helper()
	im, err := mustIndex(t, s, e).IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func TestCreateIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	amd := stored(t, s, "app:amd64", platformImage(t, "linux/amd64", false))
	arm := stored(t, s, "app:arm64", platformImage(t, "linux/arm64/v8", false))
	e, err := s.CreateIndex(ctx, ref(t, "app:v1"), []IndexSource{amd, arm}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e.MediaType != types.DockerManifestList || !slices.Equal(e.Platforms, []string{"linux/amd64", "linux/arm64/v8"}) || e.Size != amd.Entry.Size+arm.Entry.Size {
		t.Errorf("entry %+v", e)
	}
	im := indexManifest(t, s, e)
	if len(im.Manifests) != 2 || im.Manifests[0].Digest != amd.Entry.Digest || im.Manifests[1].Digest != arm.Entry.Digest ||
		im.Manifests[1].Platform.Variant != "v8" || im.Annotations != nil {
		t.Errorf("index %+v", im)
	}
	// A docker manifest list has no annotations: an annotated index of
	// docker images is an OCI index, and stays one as it is edited.
	ea, err := s.CreateIndex(ctx, ref(t, "app:annotated"), []IndexSource{amd}, IndexOptions{Annotations: map[string]string{"org.opencontainers.image.version": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if im := indexManifest(t, s, ea); ea.MediaType != types.OCIImageIndex || im.MediaType != types.OCIImageIndex || im.Annotations["org.opencontainers.image.version"] != "1" {
		t.Errorf("annotated index %s %+v", ea.MediaType, im)
	}
	if ea, err = s.AddToIndex(ctx, ref(t, "app:annotated"), []IndexSource{arm}, IndexOptions{}); err != nil || ea.MediaType != types.OCIImageIndex || indexManifest(t, s, ea).Annotations["org.opencontainers.image.version"] != "1" {
		t.Errorf("annotated index after an add: %+v %v", ea, err)
	}
	listed, err := s.Lookup(ref(t, "app:v1"))
	if err != nil || !slices.Equal(listed.Platforms, e.Platforms) {
		t.Errorf("listing %+v %v", listed, err)
	}

	// One OCI source makes an OCI index; an index source brings its entries.
	oci := stored(t, s, "app:s390x", platformImage(t, "linux/s390x", true))
	e2, err := s.CreateIndex(ctx, ref(t, "app:v2"), []IndexSource{{Name: "app:v1", Entry: listed}, oci}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e2.MediaType != types.OCIImageIndex || len(e2.Platforms) != 3 {
		t.Errorf("mixed: %+v", e2)
	}

	// Edits: a new digest each, the old index untagged until pruned.
	e3, err := s.RemoveFromIndex(ctx, ref(t, "app:v2"), []v1.Platform{{OS: "linux", Architecture: "arm64"}})
	if err != nil || !slices.Equal(e3.Platforms, []string{"linux/amd64", "linux/s390x"}) || e3.Digest == e2.Digest {
		t.Fatalf("remove: %+v %v", e3, err)
	}
	amd2 := stored(t, s, "app:amd64-2", platformImage(t, "linux/amd64", false))
	_, err = s.AddToIndex(ctx, ref(t, "app:v2"), []IndexSource{amd2}, IndexOptions{})
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "app:v2") || !strings.Contains(err.Error(), "app:amd64-2") {
		t.Errorf("duplicate platform: %v", err)
	}
	// The image the index lists for that platform already is no change
	// (podman's manifest add, buildx's imagetools create): the same
	// index, the same digest.
	if again, err := s.AddToIndex(ctx, ref(t, "app:v2"), []IndexSource{amd}, IndexOptions{}); err != nil || again.Digest != e3.Digest {
		t.Errorf("adding the image it has: %+v %v, want %s", again, err, e3.Digest)
	}
	if twice, err := s.CreateIndex(ctx, ref(t, "app:twice"), []IndexSource{amd, arm, amd}, IndexOptions{}); err != nil || len(indexManifest(t, s, twice).Manifests) != 2 {
		t.Errorf("an image named twice: %+v %v, want one entry of it", twice, err)
	}
	e4, err := s.AddToIndex(ctx, ref(t, "app:v2"), []IndexSource{arm}, IndexOptions{})
	if err != nil || len(e4.Platforms) != 3 {
		t.Fatalf("add: %+v %v", e4, err)
	}
	if _, err := s.RemoveFromIndex(ctx, ref(t, "app:v2"), []v1.Platform{{OS: "windows", Architecture: "amd64"}}); !errors.Is(err, platform.ErrNotFound) {
		t.Errorf("remove of a missing platform: %v", err)
	}
	all, _ := s.List()
	dangling := 0
	for _, o := range all {
		if o.Ref == "" {
			dangling++
		}
	}
	if dangling != 3 { // app:annotated's first, app:v2's first two
		t.Errorf("%d untagged indexes after three edits, want 3: %+v", dangling, all)
	}
}

// TestCreateIndexOfDockerSaveImage: an image loaded from a docker save
// archive (its layers stored uncompressed) joins an index as a push sends
// it, gzip'd: the entry is the image "ctl push" of the source sends, and
// the index is whole in the store.
func TestCreateIndexOfDockerSaveImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	archive := filepath.Join(t.TempDir(), "app.tar")
	testenv.DockerSaveTar(t, archive, 2, 10_000)
	es, err := s.Load(ctx, archive)
	if err != nil {
		t.Fatal(err)
	}
	pushed, err := s.PushImage(ctx, es[0])
	if err != nil {
		t.Fatal(err)
	}
	want := digestOf(t, pushed)
	e, err := s.CreateIndex(ctx, ref(t, "app:v1"), []IndexSource{{Name: "app", Entry: es[0]}}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	idx := mustIndex(t, s, e)
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 || im.Manifests[0].Digest != want {
		t.Fatalf("index %+v (%v), want its entry %s", im, err, want)
	}
	if err := ggcrvalidate.Index(idx); err != nil {
		t.Errorf("the index is not whole in the store: %v", err)
	}
	child, err := idx.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	m, err := child.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers {
		if _, uncompressed := gzipTypes[l.MediaType]; uncompressed {
			t.Errorf("the entry lists layer %s uncompressed (%s)", l.Digest, l.MediaType)
		}
	}
}
func TestCreateIndexRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	amd := stored(t, s, "app:amd64", platformImage(t, "linux/amd64", false))
	amd2 := stored(t, s, "app:amd64-2", platformImage(t, "linux/amd64", false))
	bare := stored(t, s, "app:bare", platformImage(t, "", false))
	// buildkit's attestation manifests: a config of unknown/unknown.
	unknown := stored(t, s, "app:unknown", platformImage(t, "unknown/unknown", true))
	art := mutate.ConfigMediaType(platformImage(t, "linux/amd64", true), "application/vnd.example.sbom")
	artifact := stored(t, s, "app:sbom", art)
	nested, err := s.CreateIndex(ctx, ref(t, "app:one"), []IndexSource{amd}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	outer, err := s.CreateIndex(ctx, ref(t, "app:outer"), []IndexSource{{Name: "app:one", Entry: nested}}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// An index listing an index, as a registry's may.
	deep, err := s.WriteIndex(ctx, mutate.AppendManifests(mustIndex(t, s, outer), mutate.IndexAddendum{Add: mustIndex(t, s, nested)}), ref(t, "app:deep"))
	if err != nil {
		t.Fatal(err)
	}
	// An index whose entry names no platform, of an image whose config
	// names none: the image, and the index it came through, are named.
	bareImg, _ := s.Image(bare.Entry.Digest)
	bareIdx, err := s.WriteIndex(ctx, mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: bareImg}), ref(t, "app:bare-index"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateIndex(ctx, ref(t, "app:bad"), []IndexSource{{Name: "app:bare-index", Entry: bareIdx}}, IndexOptions{})
	if pe := (*PlatformError)(nil); !errors.As(err, &pe) || pe.Index != "app:bare-index" || pe.First != "app:bare-index@"+bare.Entry.Digest.String() {
		t.Errorf("an index's image without platform: %v", err)
	}
	before, _ := s.List()
	for _, tc := range []struct {
		name    string
		sources []IndexSource
		want    string
	}{
		{"duplicate", []IndexSource{amd, amd2}, "app:amd64 (sha256:"}, // and app:amd64-2
		{"no platform", []IndexSource{bare}, "app:bare has no platform in its config"},
		{"unknown platform", []IndexSource{amd, unknown}, "app:unknown has no platform in its config"},
		{"artifact", []IndexSource{artifact}, "artifact"},
		{"nested", []IndexSource{{Name: "app:deep", Entry: deep}}, "index of indexes"},
		{"empty", nil, "no entries"},
	} {
		_, err := s.CreateIndex(ctx, ref(t, "app:bad"), tc.sources, IndexOptions{})
		if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want invalid input with %q", tc.name, err, tc.want)
		}
	}
	after, _ := s.List()
	if len(after) != len(before) {
		t.Errorf("a refused index left entries: %d, %d before", len(after), len(before))
	}
	// --platform gives the bare image one; --replace keeps the later.
	bare.Platform = &v1.Platform{OS: "linux", Architecture: "riscv64"}
	e, err := s.CreateIndex(ctx, ref(t, "app:ok"), []IndexSource{amd, bare, amd2}, IndexOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	im := indexManifest(t, s, e)
	if len(im.Manifests) != 2 || im.Manifests[0].Digest != amd2.Entry.Digest || im.Manifests[1].Platform.Architecture != "riscv64" {
		t.Errorf("replace/platform: %+v", im.Manifests)
	}
}

func mustIndex(t testing.TB, s *Store, e Entry) v1.ImageIndex {
	t.Helper()
	idx, err := s.Index(e.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

// TestRemovePruneIndex: rmi of an index takes its untagged children along
// and keeps the tagged ones; prune never removes what a live index lists.
func TestRemovePruneIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	amd := stored(t, s, "app:amd64", platformImage(t, "linux/amd64", false))
	armImg := platformImage(t, "linux/arm64", false)
	armEntry, err := s.WriteImage(ctx, armImg) // untagged: dangling on its own
	if err != nil {
		t.Fatal(err)
	}
	arm := IndexSource{Name: armEntry.ID.String(), Entry: armEntry}
	e, err := s.CreateIndex(ctx, ref(t, "app:v1"), []IndexSource{amd, arm}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag(e, ref(t, "app:latest")); err != nil {
		t.Fatal(err)
	}
	// Prune: the untagged arm64 image is a child of a live index.
	pr, err := s.Prune()
	if err != nil || len(pr.Deleted) != 0 {
		t.Fatalf("prune removed %v (%v)", pr.Deleted, err)
	}
	if !s.HasBlob(armEntry.Digest) {
		t.Fatal("prune removed a child of a live index")
	}
	// tag of an index tags the index.
	if got, err := s.Lookup(ref(t, "app:latest")); err != nil || got.Digest != e.Digest || !got.IsIndex() {
		t.Fatalf("tagged index: %+v %v", got, err)
	}
	if _, err := s.Remove("app:latest", false); err != nil {
		t.Fatal(err)
	}
	res, err := s.Remove("app:v1", false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Deleted, e.ID) || !slices.Contains(res.Deleted, armEntry.ID) || slices.Contains(res.Deleted, amd.Entry.ID) {
		t.Errorf("rmi of the index deleted %v; want the index and its untagged child only", res.Deleted)
	}
	if _, err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	if s.HasBlob(armEntry.Digest) || s.HasBlob(e.Digest) || !s.HasBlob(amd.Entry.Digest) {
		t.Error("after rmi and prune: the index and its untagged child go, the tagged image stays")
	}
}

// TestRemoveIndexChild: rmi of the last reference of an image a tagged
// index lists untags it and deletes nothing: the image stays, the index's
// child, and goes (reported deleted) with the index.
func TestRemoveIndexChild(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	amd := stored(t, s, "app:amd64", platformImage(t, "linux/amd64", false))
	arm := stored(t, s, "app:arm64", platformImage(t, "linux/arm64", false))
	idx, err := s.CreateIndex(ctx, ref(t, "app:v1"), []IndexSource{amd, arm}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Remove("app:amd64", false)
	if err != nil || !slices.Equal(res.Untagged, []string{"docker.io/library/app:amd64"}) || len(res.Deleted) != 0 {
		t.Fatalf("rmi of a child of a tagged index: %+v %v, want it untagged, nothing deleted", res, err)
	}
	if pr, err := s.Prune(); err != nil || len(pr.Deleted) != 0 || !s.HasBlob(amd.Entry.Digest) {
		t.Fatalf("the child went: prune %v %v", pr.Deleted, err)
	}
	if e, err := s.Resolve(amd.Entry.ID.String()); err != nil || e.Ref != "" || e.Digest != amd.Entry.Digest {
		t.Errorf("the child is no untagged image of the store: %+v %v", e, err)
	}
	if _, err := s.Remove(amd.Entry.ID.String(), false); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "remove that index first") {
		t.Errorf("rmi of the untagged child by ID: %v, want a conflict", err)
	}
	res, err = s.Remove("app:v1", false)
	if err != nil || len(res.Deleted) != 2 || !slices.Contains(res.Deleted, idx.ID) || !slices.Contains(res.Deleted, amd.Entry.ID) {
		t.Errorf("rmi of the index: %+v %v, want the index %s and its untagged child %s deleted", res, err, idx.ID, amd.Entry.ID)
	}
	if _, err := s.Prune(); err != nil || s.HasBlob(amd.Entry.Digest) || !s.HasBlob(arm.Entry.Digest) {
		t.Errorf("after prune: the untagged child goes, the tagged one stays (%v)", err)
	}
}

// TestIndexKeepsAttestations: an index source brings the attestation
// manifests of its images (buildkit's, naming their image by
// vnd.docker.reference.digest), never as a platform; an image removed or
// replaced takes its attestation along.
func TestIndexKeepsAttestations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	var imgs, atts []mutate.IndexAddendum
	digests := map[string]v1.Hash{}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		img := platformImage(t, p, true)
		pl, _ := platform.Parse(p)
		imgs = append(imgs, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
		digests[p], _ = img.Digest()
		att := platformImage(t, "unknown/unknown", true)
		atts = append(atts, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": digests[p].String()},
		}})
		digests["att "+p], _ = att.Digest()
	}
	built, err := s.WriteIndex(ctx, mutate.AppendManifests(empty.Index, append(imgs, atts...)...), ref(t, "app:built"))
	if err != nil {
		t.Fatal(err)
	}
	listed := func(e Entry) []v1.Hash {
		t.Helper()
		var out []v1.Hash
		for _, d := range indexManifest(t, s, e).Manifests {
			out = append(out, d.Digest)
		}
		return out
	}
	s390x := stored(t, s, "app:s390x", platformImage(t, "linux/s390x", true))
	e, err := s.CreateIndex(ctx, ref(t, "app:v1"), []IndexSource{{Name: "app:built", Entry: built}, s390x}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []v1.Hash{digests["linux/amd64"], digests["linux/arm64"], s390x.Entry.Digest, digests["att linux/amd64"], digests["att linux/arm64"]}; !slices.Equal(listed(e), want) {
		t.Errorf("create lists %v, want %v", listed(e), want)
	}
	if !slices.Equal(e.Platforms, []string{"linux/amd64", "linux/arm64", "linux/s390x"}) {
		t.Errorf("platforms %v", e.Platforms)
	}
	e, err = s.RemoveFromIndex(ctx, ref(t, "app:v1"), []v1.Platform{{OS: "linux", Architecture: "arm64"}})
	if want := []v1.Hash{digests["linux/amd64"], s390x.Entry.Digest, digests["att linux/amd64"]}; err != nil || !slices.Equal(listed(e), want) {
		t.Errorf("remove of arm64 lists %v (%v), want %v", listed(e), err, want)
	}
	amd := stored(t, s, "app:amd64", platformImage(t, "linux/amd64", true))
	e, err = s.AddToIndex(ctx, ref(t, "app:v1"), []IndexSource{amd}, IndexOptions{Replace: true})
	if want := []v1.Hash{amd.Entry.Digest, s390x.Entry.Digest}; err != nil || !slices.Equal(listed(e), want) {
		t.Errorf("replace of amd64 lists %v (%v), want %v", listed(e), err, want)
	}

	// Two images' attestations may be one manifest (the same statement):
	// each entry still goes with its own image.
	same := atts[0].Add
	sameDigest, _ := same.Digest()
	for i := range atts {
		atts[i].Add = same
	}
	shared, err := s.WriteIndex(ctx, mutate.AppendManifests(empty.Index, append(imgs, atts...)...), ref(t, "app:shared"))
	if err != nil {
		t.Fatal(err)
	}
	e, err = s.CreateIndex(ctx, ref(t, "app:v2"), []IndexSource{{Name: "app:shared", Entry: shared}}, IndexOptions{})
	if err != nil || e.Digest != shared.Digest {
		t.Errorf("an index of the shared one's entries: %+v %v, want it again, %s", e, err, shared.Digest)
	}
	e, err = s.RemoveFromIndex(ctx, ref(t, "app:v2"), []v1.Platform{{OS: "linux", Architecture: "amd64"}})
	im := indexManifest(t, s, e)
	if err != nil || len(im.Manifests) != 2 || im.Manifests[0].Digest != digests["linux/arm64"] || im.Manifests[1].Digest != sameDigest || platform.AttestationOf(im.Manifests[1]) != digests["linux/arm64"].String() {
		t.Errorf("remove of amd64 with a shared attestation: %+v %v", im.Manifests, err)
	}
}

// TestCreateIndexAmend: create refuses a target naming an index, as
// docker's manifest create does, and leaves it as it was; Amend adds the
// sources to it as AddToIndex does; a target naming an image is retagged.
func TestCreateIndexAmend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	amd := stored(t, s, "app:amd64", platformImage(t, "linux/amd64", false))
	arm := stored(t, s, "app:arm64", platformImage(t, "linux/arm64", false))
	s390 := stored(t, s, "app:s390x", platformImage(t, "linux/s390x", false))
	first, err := s.CreateIndex(ctx, ref(t, "app:v1"), []IndexSource{amd, arm}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateIndex(ctx, ref(t, "app:v1"), []IndexSource{s390}, IndexOptions{})
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "app:v1 is already an index") || !strings.Contains(err.Error(), "--amend") {
		t.Errorf("create over an index: %v, want invalid input naming it and --amend", err)
	}
	if e, err := s.Lookup(ref(t, "app:v1")); err != nil || e.Digest != first.Digest {
		t.Errorf("a refused create moved the target: %v %v, want %s", e.Digest, err, first.Digest)
	}
	amended, err := s.CreateIndex(ctx, ref(t, "app:v1"), []IndexSource{s390}, IndexOptions{Amend: true})
	if err != nil {
		t.Fatal(err)
	}
	im := indexManifest(t, s, amended)
	if len(im.Manifests) != 3 || im.Manifests[0].Digest != amd.Entry.Digest || im.Manifests[2].Digest != s390.Entry.Digest {
		t.Errorf("amended: %+v, want amd64, arm64, s390x", im.Manifests)
	}
	// The index add makes of the same index and sources.
	if _, err := s.CreateIndex(ctx, ref(t, "app:v2"), []IndexSource{amd, arm}, IndexOptions{}); err != nil {
		t.Fatal(err)
	}
	if added, err := s.AddToIndex(ctx, ref(t, "app:v2"), []IndexSource{s390}, IndexOptions{}); err != nil || added.Digest != amended.Digest {
		t.Errorf("index add: %v %v, want the amended %s", added.Digest, err, amended.Digest)
	}
	if err := s.Tag(amd.Entry, ref(t, "app:image")); err != nil {
		t.Fatal(err)
	}
	// Amend of a target naming nothing, or an image, creates.
	for _, target := range []string{"app:new", "app:image"} {
		e, err := s.CreateIndex(ctx, ref(t, target), []IndexSource{arm}, IndexOptions{Amend: true})
		if err != nil || len(indexManifest(t, s, e).Manifests) != 1 {
			t.Errorf("amend of %s: %v", target, err)
		}
	}
}

// TestIndexPlatformsAsListed: an index's Platforms (what images shows) are
// its entries' as platform.List names them (what pull prints): an entry
// naming no platform is "unknown/unknown", whatever its config says.
func TestIndexPlatformsAsListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: platformImage(t, "linux/amd64", false), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: platformImage(t, "", false)},
		mutate.IndexAddendum{Add: platformImage(t, "linux/arm64", false)},
	)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	want := platform.List(im)
	if !slices.Equal(want, []string{"linux/amd64", "unknown/unknown"}) {
		t.Fatalf("platform.List %v", want)
	}
	e, err := s.WriteIndex(ctx, idx, ref(t, "app:bare"))
	if err != nil {
		t.Fatal(err)
	}
	listed, err := s.Resolve("app:bare")
	if err != nil || !slices.Equal(e.Platforms, want) || !slices.Equal(listed.Platforms, want) {
		t.Errorf("platforms written %v, listed %v (%v), want %v", e.Platforms, listed.Platforms, err, want)
	}
}
