package registry

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPullAndCopyPlatforms: --platform all keeps the index whole, a list
// keeps a filtered index of those images only, and copy does the same
// registry to registry; a platform the index lacks names those it has.
func TestPullAndCopyPlatforms(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	c := newShareClient(t)
	var adds []mutate.IndexAddendum
	children := map[string]v1.Hash{}
	for _, p := range []string{"linux/amd64", "linux/arm64/v8", "linux/s390x"} {
		img, _ := random.Image(100, 2)
		pl, _ := platform.Parse(p)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
		children[p], _ = img.Digest()
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	idxDigest, _ := idx.Digest()
	ref := mustRef(t, reg.host()+"/multi:v1")
	nref, _ := c.Ref(ref)
	if err := remote.WriteIndex(nref, idx); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	sink := newMemSink()
	res, err := c.Pull(ctx, ref, sink, PullOptions{Platforms: platform.All()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Digest != idxDigest || res.Image != idxDigest || res.Filtered || len(res.Platforms) != 3 || sink.tags[ref.String()] != idxDigest {
		t.Errorf("pull --platform all: %+v", res)
	}
	for p, h := range children {
		if _, ok := sink.blobs[h]; !ok {
			t.Errorf("pull --platform all: %s image missing", p)
		}
	}
	if res, err := c.Pull(ctx, ref, sink, PullOptions{Platforms: platform.All()}); err != nil || !res.UpToDate {
		t.Errorf("second pull --platform all: %+v %v", res, err)
	}

	two, _ := platform.ParseSelection("linux/amd64,linux/arm64")
	sub := newMemSink()
	res, err = c.Pull(ctx, ref, sub, PullOptions{Platforms: two})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Filtered || res.Image == idxDigest || res.Digest != idxDigest || !slices.Equal(res.Platforms, []string{"linux/amd64", "linux/arm64/v8"}) {
		t.Errorf("pull of two platforms: %+v", res)
	}
	if _, ok := sub.blobs[children["linux/s390x"]]; ok {
		t.Error("a platform not asked for was pulled")
	}
	if sub.pulled[ref.String()] != idxDigest || sub.tags[ref.String()] != res.Image {
		t.Errorf("the sink records %s at %s, want the filtered %s pulled at %s", ref, sub.tags[ref.String()], res.Image, idxDigest)
	}

	missing, _ := platform.ParseSelection("linux/amd64,windows/amd64")
	_, err = c.Pull(ctx, ref, newMemSink(), PullOptions{Platforms: missing})
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, platform.ErrNotFound) || !strings.Contains(err.Error(), "windows/amd64 (the index has: linux/amd64, linux/arm64/v8, linux/s390x)") {
		t.Errorf("pull of a missing platform: %v", err)
	}

	// copy: the filtered index lists only what was copied.
	dst := mustRef(t, reg.host()+"/copy:v1")
	out, err := c.Copy(ctx, ref, dst, CopyOptions{Platforms: two})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Digest != res.Image {
		t.Fatalf("copy of two platforms: %+v, want the filtered index %s", out, res.Image)
	}
	ndst, _ := c.Ref(dst)
	got, err := remote.Index(ndst)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := got.IndexManifest()
	if len(im.Manifests) != 2 {
		t.Fatalf("copied index lists %d entries", len(im.Manifests))
	}
	for _, d := range im.Manifests {
		if d.Digest != children[platform.String(d.Platform)] {
			t.Errorf("copied entry %s: %s, source child %s", platform.String(d.Platform), d.Digest, children[platform.String(d.Platform)])
		}
		if _, err := remote.Image(ndst.Context().Digest(d.Digest.String())); err != nil {
			t.Errorf("copied index lists %s, which is not in the destination: %v", d.Digest, err)
		}
	}

	// A destination named by the source's digest cannot take a subset,
	// whose digest differs: refused before anything goes up.
	reg.counts() // reset
	byDigest := mustRef(t, reg.host()+"/bydigest@"+idxDigest.String())
	if _, err := c.Copy(ctx, ref, byDigest, CopyOptions{Platforms: two}); !errors.Is(err, reference.ErrInvalid) || !strings.Contains(err.Error(), "picks "+res.Image.String()) {
		t.Errorf("copy of two platforms under the index digest: %v, want an invalid reference naming %s", err, res.Image)
	}
	sent := reg.counts()
	for _, k := range []string{"POST upload", "PUT upload", "PUT manifest"} {
		if sent[k] != 0 {
			t.Errorf("the refused copy sent %d %s", sent[k], k)
		}
	}
	if out, err := c.Copy(ctx, ref, byDigest, CopyOptions{Platforms: platform.All()}); err != nil || len(out) != 1 || out[0].Digest != idxDigest {
		t.Errorf("copy --platform all under the index digest: %+v %v", out, err)
	}
}

// TestSingleImagePlatformList: a single image answers a --platform list
// only when it is every platform listed, as an index must have each: pull
// and copy of linux/amd64,linux/arm64 out of an amd64 image are not found
// naming arm64, and nothing is copied; its own platform twice is fine.
func TestSingleImagePlatformList(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	c := newShareClient(t)
	img, _ := random.Image(100, 1)
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	img, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	ref := mustRef(t, reg.host()+"/single:v1")
	nref, _ := c.Ref(ref)
	if err := remote.Write(nref, img); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	two, _ := platform.ParseSelection("linux/amd64,linux/arm64")
	_, err = c.Pull(ctx, ref, newMemSink(), PullOptions{Platforms: two})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "wanted linux/arm64, actual: linux/amd64") {
		t.Errorf("pull of two platforms from an amd64 image: %v", err)
	}
	reg.counts() // reset
	_, err = c.Copy(ctx, ref, mustRef(t, reg.host()+"/copy:v1"), CopyOptions{Platforms: two})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "wanted linux/arm64, actual: linux/amd64") {
		t.Errorf("copy of two platforms from an amd64 image: %v", err)
	}
	if sent := reg.counts(); sent["PUT manifest"] != 0 || sent["POST upload"] != 0 {
		t.Errorf("the refused copy sent %v", sent)
	}
	own, _ := platform.ParseSelection("linux/amd64,linux/x86_64")
	if _, err := c.Copy(ctx, ref, mustRef(t, reg.host()+"/copy:v1"), CopyOptions{Platforms: own}); err != nil {
		t.Errorf("copy of its own platform named twice: %v", err)
	}
}

// attestedIndex is an index as buildx pushes it: an image per platform,
// then an attestation manifest of each (unknown/unknown, naming its image
// by vnd.docker.reference.digest). It returns the index and the digests
// of the images and of the attestations, by platform.
func attestedIndex(t *testing.T, platforms ...string) (v1.ImageIndex, map[string]v1.Hash, map[string]v1.Hash) {
	t.Helper()
	var imgs, atts []mutate.IndexAddendum
	images, attestations := map[string]v1.Hash{}, map[string]v1.Hash{}
	for _, p := range platforms {
		img, _ := random.Image(100, 1)
		pl, _ := platform.Parse(p)
		imgs = append(imgs, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
		images[p], _ = img.Digest()
		att, _ := random.Image(50, 1)
		atts = append(atts, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": images[p].String()},
		}})
		attestations[p], _ = att.Digest()
	}
	return mutate.AppendManifests(empty.Index, append(imgs, atts...)...), images, attestations
}

// TestSubsetKeepsAttestations: a subset keeps the attestation manifests of
// the images it keeps (as buildx's imagetools create and docker's platform
// filter do) and no other's; every platform asked for is the index itself.
func TestSubsetKeepsAttestations(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	c := newShareClient(t)
	idx, images, atts := attestedIndex(t, "linux/amd64", "linux/arm64", "linux/s390x")
	idxDigest, _ := idx.Digest()
	ref := mustRef(t, reg.host()+"/attested:v1")
	nref, _ := c.Ref(ref)
	if err := remote.WriteIndex(nref, idx); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	two, _ := platform.ParseSelection("linux/amd64,linux/arm64")
	sink := newMemSink()
	res, err := c.Pull(ctx, ref, sink, PullOptions{Platforms: two})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{"linux/amd64": true, "linux/arm64": true, "linux/s390x": false} {
		for what, h := range map[string]v1.Hash{"image": images[p], "attestation": atts[p]} {
			if _, ok := sink.blobs[h]; ok != want {
				t.Errorf("pull of amd64 and arm64: the %s %s stored: %v, want %v", p, what, ok, want)
			}
		}
	}
	if !res.Filtered || !slices.Equal(res.Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("pull of two platforms: %+v", res)
	}

	dst := mustRef(t, reg.host()+"/copy:v1")
	out, err := c.Copy(ctx, ref, dst, CopyOptions{Platforms: two})
	if err != nil || len(out) != 1 || out[0].Digest != res.Image {
		t.Fatalf("copy of two platforms: %+v %v, want pull's filtered index %s", out, err, res.Image)
	}
	ndst, _ := c.Ref(dst)
	got, err := remote.Index(ndst)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := got.IndexManifest()
	var listed []v1.Hash
	for _, d := range im.Manifests {
		listed = append(listed, d.Digest)
	}
	if want := []v1.Hash{images["linux/amd64"], images["linux/arm64"], atts["linux/amd64"], atts["linux/arm64"]}; !slices.Equal(listed, want) {
		t.Errorf("copied index lists %v, want %v", listed, want)
	}

	// Two images' attestations that are one manifest: only the kept
	// image's entry stays.
	im0, _ := idx.IndexManifest()
	shared, _ := random.Image(50, 1)
	sharedDigest, _ := shared.Digest()
	var adds []mutate.IndexAddendum
	for _, d := range im0.Manifests[:3] {
		img, _ := idx.Image(d.Digest)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: d})
	}
	for _, d := range im0.Manifests[3:] {
		d.Digest, d.Size = v1.Hash{}, 0
		adds = append(adds, mutate.IndexAddendum{Add: shared, Descriptor: d})
	}
	one, _ := platform.ParseSelection("linux/arm64,linux/arm64/v8")
	sub, err := SelectIndex(mutate.AppendManifests(empty.Index, adds...), one)
	if err != nil {
		t.Fatal(err)
	}
	subm, _ := sub.IndexManifest()
	if len(subm.Manifests) != 2 || subm.Manifests[0].Digest != images["linux/arm64"] || subm.Manifests[1].Digest != sharedDigest || platform.AttestationOf(subm.Manifests[1]) != images["linux/arm64"].String() {
		t.Errorf("subset of an index whose attestations are one manifest: %+v", subm.Manifests)
	}

	every, _ := platform.ParseSelection("linux/s390x,linux/amd64,linux/arm64")
	if res, err := c.Pull(ctx, ref, newMemSink(), PullOptions{Platforms: every}); err != nil || res.Filtered || res.Image != idxDigest {
		t.Errorf("pull of every platform by name: %+v %v, want the index %s itself", res, err, idxDigest)
	}
}
