package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// craneIndex reads ref's manifest with crane and returns it as an index,
// with the digest of its bytes.
func craneIndex(t *testing.T, e *testenv.Env, ref string) (*v1.IndexManifest, string) {
	t.Helper()
	res := e.Crane(t, "manifest", ref)
	wantCode(t, res, 0)
	var im v1.IndexManifest
	if err := json.Unmarshal([]byte(res.Stdout), &im); err != nil || !im.MediaType.IsIndex() {
		t.Fatalf("crane manifest %s: not an index (%v): %s", ref, err, res.Stdout)
	}
	sum := sha256.Sum256([]byte(res.Stdout))
	return &im, "sha256:" + hex.EncodeToString(sum[:])
}

// indexDigest is the digest in index create's or pull's output line
// "...digest: sha256:..." / "Filtered index: sha256:...".
func digestAfter(t *testing.T, out, prefix string) string {
	t.Helper()
	i := strings.Index(out, prefix)
	if i < 0 {
		t.Fatalf("no %q in %q", prefix, out)
	}
	return strings.Fields(out[i+len(prefix):])[0]
}

// inspectManifests is image inspect's Manifests of a local index: digest
// by platform, and whether every one is in the store.
func inspectManifests(t *testing.T, e *testenv.Env, ref string) (map[string]string, bool) {
	t.Helper()
	res := e.Run(t, "image", "inspect", ref)
	wantCode(t, res, 0)
	var infos []struct {
		Manifests []struct {
			ID, Platform string
			Available    bool
		}
	}
	if err := json.Unmarshal([]byte(res.Stdout), &infos); err != nil || len(infos) != 1 {
		t.Fatalf("image inspect %s: %v %s", ref, err, res.Stdout)
	}
	out, all := map[string]string{}, true
	for _, m := range infos[0].Manifests {
		out[m.Platform] = m.ID
		all = all && m.Available
	}
	return out, all
}

// TestMultiPlatformRoundTrip is the multi-arch flow without buildx: two
// single-platform docker save tars → load → index create → push; the
// registry holds a valid index of both; pull --platform all into a fresh
// store, save, load into another: the same digests throughout.
func TestMultiPlatformRoundTrip(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dir := t.TempDir()
	amdTar, armTar := filepath.Join(dir, "amd64.tar"), filepath.Join(dir, "arm64.tar")
	testenv.ImagesTar(t, amdTar, map[string]v1.Image{"app:amd64": platformImage(t, "amd64", "")}, false)
	testenv.ImagesTar(t, armTar, map[string]v1.Image{"app:arm64": platformImage(t, "arm64", "v8")}, true)

	e := testenv.NewEnv(t)
	wantCode(t, e.Run(t, "load", "-i", amdTar), 0)
	wantCode(t, e.Run(t, "load", "-i", armTar), 0)
	target := reg.Ref("team/app:v1")
	res := e.Run(t, "index", "create", target, "app:amd64", "app:arm64")
	wantCode(t, res, 0)
	created := digestAfter(t, res.Stdout, "digest: ")
	if !strings.HasSuffix(res.Stdout, " platforms: linux/amd64,linux/arm64/v8\n") {
		t.Errorf("index create: %q", res.Stdout)
	}
	local, complete := inspectManifests(t, e, target)
	if len(local) != 2 || !complete {
		t.Fatalf("local index %v (complete %v)", local, complete)
	}
	res = e.Run(t, "images", "--format", "{{.Tag}} {{.Platforms}}", reg.Ref("team/app"))
	if res.Stdout != "v1 linux/amd64,linux/arm64/v8\n" {
		t.Errorf("images: %q", res.Stdout)
	}

	res = e.Run(t, "push", target)
	wantCode(t, res, 0)
	if !strings.Contains(res.Stdout, "v1: digest: "+created+" ") {
		t.Errorf("push printed %q, want the index digest %s", res.Stdout, created)
	}
	// tag of an index tags the index; push --all-tags sends it as any tag.
	wantCode(t, e.Run(t, "tag", target, reg.Ref("team/app:latest")), 0)
	res = e.Run(t, "push", "--all-tags", reg.Ref("team/app"))
	wantCode(t, res, 0)
	if !strings.Contains(res.Stdout, "latest: digest: "+created+" ") || !strings.Contains(res.Stdout, "v1: digest: "+created+" ") {
		t.Errorf("push --all-tags: %q", res.Stdout)
	}
	im, onRegistry := craneIndex(t, e, target)
	if onRegistry != created || len(im.Manifests) != 2 {
		t.Fatalf("registry index %s with %d entries, want %s with 2", onRegistry, len(im.Manifests), created)
	}
	for _, d := range im.Manifests {
		if local[d.Platform.String()] != d.Digest.String() {
			t.Errorf("registry entry %s is %s, local %s", d.Platform, d.Digest, local[d.Platform.String()])
		}
		wantCode(t, e.Crane(t, "validate", "--remote", reg.Ref("team/app@"+d.Digest.String())), 0)
	}

	e2 := testenv.NewEnv(t)
	res = e2.Run(t, "pull", "--platform", "all", target)
	wantCode(t, res, 0)
	if !strings.Contains(res.Stdout, "Digest: "+created+"\n") || !strings.Contains(res.Stdout, "Platforms: linux/amd64, linux/arm64/v8\n") || strings.Contains(res.Stdout, "Filtered") {
		t.Errorf("pull --platform all: %q", res.Stdout)
	}
	if got, complete := inspectManifests(t, e2, target); !complete || !mapsEqual(got, local) {
		t.Errorf("pulled index %v (complete %v), want %v", got, complete, local)
	}
	res = e2.Run(t, "pull", "--platform", "all", target)
	if !strings.Contains(res.Stdout, "Status: Image is up to date") {
		t.Errorf("second pull --platform all: %q", res.Stdout)
	}

	saved := filepath.Join(dir, "saved.tar")
	wantCode(t, e2.Run(t, "save", "-o", saved, target), 0)
	e3 := testenv.NewEnv(t)
	wantCode(t, e3.Run(t, "load", "-i", saved), 0)
	res = e3.Run(t, "images", "--format", "{{.Digest}} {{.Platforms}}", target)
	if res.Stdout != created+" linux/amd64,linux/arm64/v8\n" {
		t.Errorf("loaded back: %q, want %s", res.Stdout, created)
	}
	if got, complete := inspectManifests(t, e3, target); !complete || !mapsEqual(got, local) {
		t.Errorf("loaded index %v (complete %v), want %v", got, complete, local)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// pushThreePlatforms pushes an index of linux/amd64, linux/arm64/v8 and
// linux/s390x images and returns its digest and its children's by platform.
func pushThreePlatforms(t *testing.T, r *testenv.Registry, ref string) (string, map[string]string) {
	t.Helper()
	children := map[string]string{}
	idx := v1.ImageIndex(empty.Index)
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}, {OS: "linux", Architecture: "s390x"}} {
		img := platformImage(t, p.Architecture, p.Variant)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
		children[p.String()] = mustDigest(t, img).String()
	}
	if err := remote.WriteIndex(r.ParseRef(t, ref), idx, r.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	return mustDigest(t, idx).String(), children
}

// TestMultiPlatformSubsets: pull and copy of two platforms out of three
// keep a filtered index listing exactly the source's images of those
// platforms, nothing dangling; a platform the index lacks is exit 3
// naming those it has.
func TestMultiPlatformSubsets(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dst := testenv.StartRegistry(t, testenv.RegistryOptions{})
	srcDigest, children := pushThreePlatforms(t, src, "multi:v1")
	want := map[string]string{"linux/amd64": children["linux/amd64"], "linux/arm64/v8": children["linux/arm64/v8"]}
	e := testenv.NewEnv(t)

	res := e.Run(t, "pull", "--platform", "linux/amd64,linux/arm64", src.Ref("multi:v1"))
	wantCode(t, res, 0)
	filtered := digestAfter(t, res.Stdout, "Filtered index: ")
	if !strings.Contains(res.Stdout, "Digest: "+srcDigest+"\n") || filtered == srcDigest {
		t.Errorf("subset pull: %q", res.Stdout)
	}
	if got, complete := inspectManifests(t, e, src.Ref("multi:v1")); !complete || !mapsEqual(got, want) {
		t.Errorf("subset pull stored %v (complete %v), want %v", got, complete, want)
	}
	// The store lists the filtered index and remembers the registry's digest.
	res = e.Run(t, "images", "--digests", "--format", "{{.Digest}} {{.ID}} {{.Platforms}}", src.Ref("multi:v1"))
	if res.Stdout != srcDigest+" "+strings.TrimPrefix(filtered, "sha256:")[:12]+" linux/amd64,linux/arm64/v8\n" {
		t.Errorf("images after a subset pull: %q", res.Stdout)
	}

	res = e.Run(t, "copy", "--platform", "linux/amd64,linux/arm64", src.Ref("multi:v1"), dst.Ref("multi:v1"))
	wantCode(t, res, 0)
	im, copied := craneIndex(t, e, dst.Ref("multi:v1"))
	if copied != filtered || len(im.Manifests) != 2 {
		t.Errorf("copied index %s with %d entries, want the filtered %s", copied, len(im.Manifests), filtered)
	}
	for _, d := range im.Manifests {
		if want[d.Platform.String()] != d.Digest.String() {
			t.Errorf("copied entry %s is %s, source child %s", d.Platform, d.Digest, want[d.Platform.String()])
		}
	}
	wantCode(t, e.Crane(t, "validate", "--remote", dst.Ref("multi:v1")), 0)
	if r := e.Crane(t, "manifest", dst.Ref("multi@"+children["linux/s390x"])); r.Code == 0 {
		t.Error("the platform not asked for was copied")
	}

	wantCode(t, e.Run(t, "tag", src.Ref("multi:v1"), "multi:v1"), 0)
	for _, args := range [][]string{
		{"pull", "--platform", "linux/amd64,windows/amd64", src.Ref("multi:v1")},
		{"copy", "--platform", "linux/riscv64,linux/amd64", src.Ref("multi:v1"), dst.Ref("x:v1")},
		{"manifest", "get", "--platform", "windows/amd64", src.Ref("multi:v1")},
		{"digest", "--platform", "windows/amd64", src.Ref("multi:v1")},
		{"inspect", "--platform", "windows/amd64", src.Ref("multi:v1")},
		{"image", "inspect", "--platform", "linux/s390x", src.Ref("multi:v1")}, // the store holds two of three
		{"digest", "--platform", "linux/s390x", "multi:v1"},                    // the same, named without a registry
	} {
		res := e.Run(t, args...)
		have := "(the index has: linux/amd64, linux/arm64/v8, linux/s390x)"
		if args[0] == "image" || slices.Contains(args, "multi:v1") {
			have = "(the index has: linux/amd64, linux/arm64/v8)"
		}
		if res.Code != 3 || !strings.Contains(res.Stderr, have) {
			t.Errorf("%v: exit %d, %q; want 3 naming the platforms", args, res.Code, res.Stderr)
		}
	}
}

// TestPushPlatforms: push --platform sends one image of a local index
// under the tag (as docker push --platform does), or a filtered index of
// several, the same one pull and copy make; a later push without it sends
// the whole index; a platform the store lacks is exit 3 naming those it
// has, and a subset cannot go up under the index's digest.
func TestPushPlatforms(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dst := testenv.StartRegistry(t, testenv.RegistryOptions{})
	srcDigest, children := pushThreePlatforms(t, src, "multi:v1")
	e := testenv.NewEnv(t)
	wantCode(t, e.Run(t, "pull", "-q", "--platform", "all", src.Ref("multi:v1")), 0)
	for _, tag := range []string{"one", "two", "digest"} {
		wantCode(t, e.Run(t, "tag", src.Ref("multi:v1"), dst.Ref("multi:"+tag)), 0)
	}
	craneDigest := func(ref string) string {
		t.Helper()
		res := e.Crane(t, "digest", ref)
		wantCode(t, res, 0)
		return strings.TrimSpace(res.Stdout)
	}

	res := e.Run(t, "push", "--platform", "linux/arm64", dst.Ref("multi:one"))
	wantCode(t, res, 0)
	arm := children["linux/arm64/v8"]
	if got := craneDigest(dst.Ref("multi:one")); got != arm || !strings.Contains(res.Stdout, "digest: "+arm) {
		t.Errorf("push --platform linux/arm64: the tag is %s, output %q; want the arm64 image %s", got, res.Stdout, arm)
	}
	wantCode(t, e.Crane(t, "validate", "--remote", dst.Ref("multi:one")), 0)
	if r := e.Crane(t, "manifest", dst.Ref("multi@"+children["linux/amd64"])); r.Code == 0 {
		t.Error("a single-platform push sent another platform's image")
	}

	// Pulled into a second store, so that the first keeps the whole index.
	e2 := testenv.NewEnv(t)
	res = e2.Run(t, "pull", "--platform", "linux/amd64,linux/arm64", src.Ref("multi:v1"))
	wantCode(t, res, 0)
	filtered := digestAfter(t, res.Stdout, "Filtered index: ")
	wantCode(t, e.Run(t, "push", "-q", "--platform", "linux/amd64,linux/arm64", dst.Ref("multi:two")), 0)
	im, pushed := craneIndex(t, e, dst.Ref("multi:two"))
	if pushed != filtered || len(im.Manifests) != 2 {
		t.Errorf("push of two platforms: index %s with %d entries, want pull's filtered index %s", pushed, len(im.Manifests), filtered)
	}
	wantCode(t, e.Crane(t, "validate", "--remote", dst.Ref("multi:two")), 0)

	// The store now knows multi:two as the filtered index on the registry;
	// a plain push sends the whole index.
	wantCode(t, e.Run(t, "push", "-q", dst.Ref("multi:two")), 0)
	if got := craneDigest(dst.Ref("multi:two")); got != srcDigest {
		t.Errorf("push without --platform after a subset: the tag is %s, want the whole index %s", got, srcDigest)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"push", "--platform", "windows/amd64", dst.Ref("multi:one")}, 3, "(the index has: linux/amd64, linux/arm64/v8, linux/s390x)"},
		{[]string{"push", "--platform", "linux/arm64", dst.Ref("multi@" + srcDigest)}, 2, "--platform linux/arm64 picks " + arm},
		{[]string{"push", "--platform", "linux", dst.Ref("multi:one")}, 2, "invalid --platform"},
	} {
		res := e.Run(t, c.args...)
		if res.Code != c.code || !strings.Contains(res.Stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want %d saying %q", c.args, res.Code, res.Stderr, c.code, c.want)
		}
	}
	if got := craneDigest(dst.Ref("multi:one")); got != arm {
		t.Errorf("a refused push moved the tag to %s", got)
	}
}

// TestIndexCreateDockerSave: an index made of an image loaded from a
// docker save archive (layers stored uncompressed) lists it as push sends
// it, gzip'd, so the index's entry and a push of the image alone are the
// same manifest on the registry, as with docker's manifest create.
func TestIndexCreateDockerSave(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	archive := filepath.Join(t.TempDir(), "big.tar")
	testenv.DockerSaveTar(t, archive, 2, 10_000)
	e := testenv.NewEnv(t)
	wantCode(t, e.Run(t, "load", "-i", archive), 0)
	wantCode(t, e.Run(t, "index", "create", reg.Ref("big:v1"), "big:1"), 0)
	wantCode(t, e.Run(t, "push", "-q", reg.Ref("big:v1")), 0)
	im, _ := craneIndex(t, e, reg.Ref("big:v1"))
	if len(im.Manifests) != 1 {
		t.Fatalf("index of %d entries, want 1", len(im.Manifests))
	}
	entry := im.Manifests[0].Digest.String()
	wantCode(t, e.Run(t, "tag", "big:1", reg.Ref("big:alone")), 0)
	res := e.Run(t, "push", reg.Ref("big:alone"))
	wantCode(t, res, 0)
	if !strings.Contains(res.Stdout, "alone: digest: "+entry+" ") {
		t.Errorf("push of the image alone: %q, want the index's entry %s", res.Stdout, entry)
	}
	res = e.Crane(t, "manifest", reg.Ref("big@"+entry))
	wantCode(t, res, 0)
	var m v1.Manifest
	if err := json.Unmarshal([]byte(res.Stdout), &m); err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayer && l.MediaType != types.DockerLayer {
			t.Errorf("the entry's layer %s is %s, want gzip'd", l.Digest, l.MediaType)
		}
	}
	wantCode(t, e.Crane(t, "validate", "--remote", reg.Ref("big:v1")), 0)
}

// TestIndexCreateMixedSources: docker schema 2 sources make a docker
// manifest list, one OCI source an OCI index; a source naming its
// registry is pulled into the store first.
func TestIndexCreateMixedSources(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	for _, p := range []struct{ arch, variant string }{{"amd64", ""}, {"arm64", "v8"}} {
		if err := remote.Write(reg.ParseRef(t, "base:"+p.arch), platformImage(t, p.arch, p.variant), reg.RemoteOptions()...); err != nil {
			t.Fatal(err)
		}
	}
	// Sources that all name their registry need no store: create makes
	// one for its target, as "ctl pull" would (docker manifest create
	// needs no local image at all).
	fresh := testenv.NewEnv(t)
	res := fresh.Run(t, "index", "create", reg.Ref("remote:v1"), reg.Ref("base:amd64"), reg.Ref("base:arm64"))
	wantCode(t, res, 0)
	if r := fresh.Run(t, "images", "--format", "{{.Tag}} {{.Platforms}}", reg.Ref("remote")); r.Stdout != "v1 linux/amd64,linux/arm64/v8\n" {
		t.Errorf("index of remote sources in a new store: %q", r.Stdout)
	}

	e := testenv.NewEnv(t)
	wantCode(t, e.Run(t, "pull", "-q", reg.Ref("base:amd64")), 0)
	// base:arm64 is not in the store: index create fetches it.
	res = e.Run(t, "index", "create", reg.Ref("list:v1"), reg.Ref("base:amd64"), reg.Ref("base:arm64"))
	wantCode(t, res, 0)
	if !strings.Contains(res.Stderr, "Pulling "+reg.Ref("base:arm64")+" into the store") {
		t.Errorf("remote source: stderr %q", res.Stderr)
	}
	wantCode(t, e.Run(t, "push", reg.Ref("list:v1")), 0)
	if im, _ := craneIndex(t, e, reg.Ref("list:v1")); im.MediaType != types.DockerManifestList || len(im.Manifests) != 2 {
		t.Errorf("docker sources: %s with %d entries, want a docker manifest list", im.MediaType, len(im.Manifests))
	}

	dir := t.TempDir()
	ociTar := filepath.Join(dir, "s390x.tar")
	testenv.ImagesTar(t, ociTar, map[string]v1.Image{"app:s390x": platformImage(t, "s390x", "")}, false)
	wantCode(t, e.Run(t, "load", "-i", ociTar), 0) // loaded as an OCI manifest
	res = e.Run(t, "index", "create", "--annotation", "org.opencontainers.image.version=2", reg.Ref("mixed:v1"), reg.Ref("list:v1"), "app:s390x")
	wantCode(t, res, 0)
	wantCode(t, e.Run(t, "push", reg.Ref("mixed:v1")), 0)
	im, _ := craneIndex(t, e, reg.Ref("mixed:v1"))
	var plats []string
	for _, d := range im.Manifests {
		plats = append(plats, d.Platform.String())
	}
	if im.MediaType != types.OCIImageIndex || !slices.Equal(plats, []string{"linux/amd64", "linux/arm64/v8", "linux/s390x"}) || im.Annotations["org.opencontainers.image.version"] != "2" {
		t.Errorf("mixed sources: %s %v %v, want an OCI index of three", im.MediaType, plats, im.Annotations)
	}
	wantCode(t, e.Crane(t, "validate", "--remote", reg.Ref("mixed:v1")), 0)

	// Another image of a platform the index has names both sources;
	// nothing is written.
	if err := remote.Write(reg.ParseRef(t, "other:amd64"), platformImage(t, "amd64", ""), reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	res = e.Run(t, "index", "create", reg.Ref("dup:v1"), reg.Ref("other:amd64"), reg.Ref("list:v1"))
	if res.Code != 2 || !strings.Contains(res.Stderr, "other:amd64") || !strings.Contains(res.Stderr, "list:v1") {
		t.Errorf("duplicate: exit %d %q", res.Code, res.Stderr)
	}
	if r := e.Run(t, "images", "-q", reg.Ref("dup")); r.Stdout != "" {
		t.Errorf("a refused index was stored: %q", r.Stdout)
	}
	// The image the index lists already is that entry, as buildx's
	// imagetools create merges one digest: the same index.
	res = e.Run(t, "index", "create", "--format", "{{.Digest}}", reg.Ref("same:v1"), reg.Ref("base:amd64"), reg.Ref("list:v1"))
	if _, list := craneIndex(t, e, reg.Ref("list:v1")); res.Code != 0 || strings.TrimSpace(res.Stdout) != list {
		t.Errorf("the same image twice: exit %d %q %q, want list:v1's index %s", res.Code, res.Stdout, res.Stderr, list)
	}

	// A source named by tag and digest, the store having the tag at
	// another image, is pulled by its digest: the local tag stays.
	amdID := e.Run(t, "images", "-q", "--no-trunc", reg.Ref("base:amd64")).Stdout
	riscv := platformImage(t, "riscv64", "")
	if err := remote.Write(reg.ParseRef(t, "base:riscv64"), riscv, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	res = e.Run(t, "index", "create", reg.Ref("bydigest:v1"), reg.Ref("base:amd64@"+mustDigest(t, riscv).String()))
	if res.Code != 0 || !strings.HasSuffix(res.Stdout, " platforms: linux/riscv64\n") {
		t.Errorf("a source by tag and digest: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
	}
	if got := e.Run(t, "images", "-q", "--no-trunc", reg.Ref("base:amd64")).Stdout; got != amdID || got == "" {
		t.Errorf("the source's tag moved: base:amd64 is %q, was %q", got, amdID)
	}
}

// TestPullAllPlatformsFault: an index pull whose third image comes back
// corrupt fails, stores no index and leaves the tag on what it named
// before; once the registry answers right, the same pull completes.
func TestPullAllPlatformsFault(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	_, children := pushThreePlatforms(t, reg, "multi:v1")
	proxy := testenv.NewProxy(t, reg.URL, nil)
	ref := proxy.Host + "/multi:v1"
	e := testenv.NewEnv(t)
	wantCode(t, e.Run(t, "pull", "-q", "--platform", "linux/amd64", ref), 0)
	before := e.Run(t, "images", "--format", "{{.ID}} {{.Platforms}}", ref).Stdout

	proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/manifests/" + children["linux/s390x"], Kind: testenv.FaultCorruptBody, Bytes: 10})
	res := e.Run(t, "pull", "--platform", "all", ref)
	if res.Code != 1 || !strings.Contains(res.Stderr, children["linux/s390x"]) {
		t.Errorf("pull of a corrupt child: exit %d, %q", res.Code, res.Stderr)
	}
	if after := e.Run(t, "images", "--format", "{{.ID}} {{.Platforms}}", ref).Stdout; after != before || before != strings.SplitN(before, " ", 2)[0]+" linux/amd64\n" {
		t.Errorf("after a failed index pull the store lists %q, before %q", after, before)
	}

	proxy.ClearFaults()
	res = e.Run(t, "pull", "--platform", "all", ref)
	wantCode(t, res, 0)
	if !strings.Contains(res.Stdout, "Status: Downloaded newer image") {
		t.Errorf("pull after the fault: %q", res.Stdout)
	}
	if got, complete := inspectManifests(t, e, ref); !complete || !mapsEqual(got, children) {
		t.Errorf("after the fault: %v (complete %v), want %v", got, complete, children)
	}
}

// inspectJSON is ctl inspect --format json of ref, without the fields
// that say where it was read (name, source, mirror).
func inspectJSON(t *testing.T, e *testenv.Env, args ...string) map[string]any {
	t.Helper()
	res := e.Run(t, append([]string{"inspect", "--format", "json"}, args...)...)
	wantCode(t, res, 0)
	var in map[string]any
	if err := json.Unmarshal([]byte(res.Stdout), &in); err != nil {
		t.Fatalf("inspect %v: %v %s", args, err, res.Stdout)
	}
	delete(in, "name")
	delete(in, "source")
	delete(in, "mirror")
	return in
}

// sha256Of is the digest of a command's output.
func sha256Of(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestMultiPlatformLook: digest, manifest get and inspect of an index on
// the registry and of the same index in the store under a name without a
// registry (pulled with --platform all and tagged, or made by index
// create) give the same answers, with and without --platform; a platform
// the index lacks is exit 3 naming those it has, locally as remotely.
func TestMultiPlatformLook(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	srcDigest, children := pushThreePlatforms(t, reg, "multi:v1")
	remoteRef := reg.Ref("multi:v1")
	e := testenv.NewEnv(t)
	wantCode(t, e.Run(t, "pull", "-q", "--platform", "all", remoteRef), 0)
	wantCode(t, e.Run(t, "tag", remoteRef, "multi:v1"), 0)

	// The registry's answers, and the store's for the bare name.
	for _, ref := range []string{remoteRef, "multi:v1"} {
		local := ref == "multi:v1"
		res := e.Run(t, "digest", "--format", "{{.Digest}} {{.Source}}", ref)
		source := map[bool]string{true: "local", false: "upstream"}[local]
		if res.Code != 0 || res.Stdout != srcDigest+" "+source+"\n" {
			t.Errorf("digest %s: exit %d %q, want %s from %s", ref, res.Code, res.Stdout, srcDigest, source)
		}
		if note := "Using the local image multi:v1 "; local != strings.HasPrefix(res.Stderr, note) {
			t.Errorf("digest %s: stderr %q", ref, res.Stderr)
		}
		res = e.Run(t, "manifest", "get", ref)
		if res.Code != 0 || sha256Of(res.Stdout) != srcDigest {
			t.Errorf("manifest get %s: exit %d, bytes of %s, want %s", ref, res.Code, sha256Of(res.Stdout), srcDigest)
		}
		in := inspectJSON(t, e, ref)
		entries, _ := in["manifests"].([]any)
		if in["digest"] != srcDigest || len(entries) != 3 {
			t.Errorf("inspect %s: %v", ref, in)
		}
		for _, m := range entries {
			m := m.(map[string]any)
			if children[m["platform"].(string)] != m["digest"] {
				t.Errorf("inspect %s: entry %v, want the child %s", ref, m, children[m["platform"].(string)])
			}
		}
		// A variant left out matches: linux/arm64 is linux/arm64/v8.
		for p, full := range map[string]string{"linux/amd64": "linux/amd64", "linux/arm64": "linux/arm64/v8", "linux/s390x": "linux/s390x"} {
			want := children[full]
			res := e.Run(t, "digest", "--platform", p, ref)
			if res.Code != 0 || res.Stdout != want+"\n" {
				t.Errorf("digest --platform %s %s: exit %d %q, want %s", p, ref, res.Code, res.Stdout, want)
			}
			res = e.Run(t, "manifest", "get", "--platform", p, ref)
			if res.Code != 0 || sha256Of(res.Stdout) != want {
				t.Errorf("manifest get --platform %s %s: exit %d, bytes of %s, want %s", p, ref, res.Code, sha256Of(res.Stdout), want)
			}
			in := inspectJSON(t, e, "--platform", p, ref)
			if in["digest"] != want || in["platform"] != full || len(in["layers"].([]any)) != 2 {
				t.Errorf("inspect --platform %s %s: %v", p, ref, in)
			}
		}
		for _, args := range [][]string{
			{"digest", "--platform", "windows/amd64", ref},
			{"manifest", "get", "--platform", "linux/riscv64", ref},
			{"inspect", "--platform", "linux/arm/v7", ref},
		} {
			res := e.Run(t, args...)
			if res.Code != 3 || res.Stdout != "" || !strings.HasSuffix(res.Stderr, "(the index has: linux/amd64, linux/arm64/v8, linux/s390x)\n") {
				t.Errorf("%v: exit %d %q %q; want 3 naming the platforms", args, res.Code, res.Stdout, res.Stderr)
			}
		}
	}
	// The store's summary is the registry's, field for field.
	for _, args := range [][]string{{}, {"--platform", "linux/s390x"}} {
		if r, l := inspectJSON(t, e, append(args, remoteRef)...), inspectJSON(t, e, append(args, "multi:v1")...); fmt.Sprint(r) != fmt.Sprint(l) {
			t.Errorf("inspect %v: registry %v, store %v", args, r, l)
		}
	}

	// An index made by index create, under a name without a registry: the
	// store answers before any push, and the registry the same after it.
	dir := t.TempDir()
	amdTar, armTar := filepath.Join(dir, "amd64.tar"), filepath.Join(dir, "arm64.tar")
	testenv.ImagesTar(t, amdTar, map[string]v1.Image{"app:amd64": platformImage(t, "amd64", "")}, false)
	testenv.ImagesTar(t, armTar, map[string]v1.Image{"app:arm64": platformImage(t, "arm64", "v8")}, true)
	wantCode(t, e.Run(t, "load", "-i", amdTar), 0)
	wantCode(t, e.Run(t, "load", "-i", armTar), 0)
	res := e.Run(t, "index", "create", "app:v1", "app:amd64", "app:arm64")
	wantCode(t, res, 0)
	created := digestAfter(t, res.Stdout, "digest: ")
	localIndex := e.Run(t, "manifest", "get", "app:v1")
	if localIndex.Code != 0 || sha256Of(localIndex.Stdout) != created {
		t.Fatalf("manifest get of the created index: exit %d, bytes of %s, want %s", localIndex.Code, sha256Of(localIndex.Stdout), created)
	}
	arm := e.Run(t, "digest", "--platform", "linux/arm64", "app:v1")
	wantCode(t, arm, 0)
	res = e.Run(t, "image", "inspect", "--format", "{{.Descriptor.Digest}}", "app:arm64")
	if res.Stdout != arm.Stdout {
		t.Errorf("digest --platform linux/arm64 app:v1: %q, app:arm64 is %q", arm.Stdout, res.Stdout)
	}
	for _, args := range [][]string{
		{"digest", "--platform", "linux/s390x", "app:v1"},
		{"image", "inspect", "--platform", "linux/s390x", "app:v1"},
	} {
		if res := e.Run(t, args...); res.Code != 3 || !strings.Contains(res.Stderr, "(the index has: linux/amd64, linux/arm64/v8)") {
			t.Errorf("%v: exit %d %q; want 3 naming the platforms", args, res.Code, res.Stderr)
		}
	}
	// A name that writes its registry goes there, whatever the store holds.
	pushed := reg.Ref("team/app:v1")
	wantCode(t, e.Run(t, "tag", "app:v1", pushed), 0)
	// Before the push, the registry's not found says the store holds it.
	for _, args := range [][]string{{"digest", pushed}, {"manifest", "get", pushed}, {"inspect", pushed}} {
		res := e.Run(t, args...)
		if hint := "\nthe local store holds " + pushed + ": ctl push " + pushed + " sends it there"; res.Code != 3 || !strings.Contains(res.Stderr, hint) {
			t.Errorf("%v before the push: exit %d %q, want 3 with %q", args, res.Code, res.Stderr, hint)
		}
	}
	wantCode(t, e.Run(t, "push", "-q", pushed), 0)
	if res := e.Run(t, "manifest", "get", pushed); res.Stdout != localIndex.Stdout {
		t.Errorf("the registry's index differs from the store's: %q, want %q", res.Stdout, localIndex.Stdout)
	}
	if res := e.Run(t, "digest", "--platform", "linux/arm64", pushed); res.Stdout != arm.Stdout {
		t.Errorf("digest --platform of the pushed index: %q, want %q", res.Stdout, arm.Stdout)
	}
}

// TestPullIndexSharedLayer: a layer two platforms of an index share is
// one progress line of the pull, as docker shows each layer once.
func TestPullIndexSharedLayer(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	shared, err := random.Layer(512, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	idx := v1.ImageIndex(empty.Index)
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}} {
		img, err := mutate.AppendLayers(platformImage(t, p.Architecture, p.Variant), shared)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	if err := remote.WriteIndex(reg.ParseRef(t, "shared:v1"), idx, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	e := testenv.NewEnv(t)
	res := e.Run(t, "pull", "--platform", "all", reg.Ref("shared:v1"))
	wantCode(t, res, 0)
	sharedDigest, err := shared.Digest()
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]int{}
	for _, l := range strings.Split(res.Stderr, "\n") {
		if id, _, ok := strings.Cut(l, ": "); ok && len(id) == 12 {
			lines[id]++
		}
	}
	// Each platform's two layers of its own, and the shared one once.
	if n := lines[sharedDigest.Hex[:12]]; n != 1 || len(lines) != 5 {
		t.Errorf("the shared layer has %d lines, %d layers in all (want 1 and 5):\n%s", n, len(lines), res.Stderr)
	}
	for id, n := range lines {
		if n != 1 {
			t.Errorf("layer %s: %d lines", id, n)
		}
	}
}

// TestPullKeepsAWholeIndex: a plain pull of a tag the store holds as the
// whole index (pulled with --platform all) whose image for this machine
// is there is up to date and keeps the index, as docker's containerd
// store does; --platform of one still gives that image, and a pull into
// a store without the index gives this machine's image.
func TestPullKeepsAWholeIndex(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	digest, children := pushThreePlatforms(t, src, "multi:v1")
	e := testenv.NewEnv(t)
	wantCode(t, e.Run(t, "pull", "-q", "--platform", "all", src.Ref("multi:v1")), 0)
	res := e.Run(t, "pull", src.Ref("multi:v1"))
	wantCode(t, res, 0)
	if !strings.Contains(res.Stdout, "Digest: "+digest) || !strings.Contains(res.Stdout, "Status: Image is up to date for "+src.Ref("multi:v1")) {
		t.Errorf("plain pull over the whole index: %q", res.Stdout)
	}
	if got := strings.TrimSpace(e.Run(t, "images", "--no-trunc", "--format", "{{.ID}}", src.Ref("multi:v1")).Stdout); got != digest {
		t.Errorf("after a plain pull the store holds %s, want the whole index %s", got, digest)
	}
	res = e.Run(t, "pull", "--platform", "linux/arm64", src.Ref("multi:v1"))
	wantCode(t, res, 0)
	if got := strings.TrimSpace(e.Run(t, "images", "--no-trunc", "--format", "{{.ID}}", src.Ref("multi:v1")).Stdout); got == digest {
		t.Errorf("pull --platform linux/arm64 kept the index %s, want the arm64 image %s", got, children["linux/arm64/v8"])
	}
}
