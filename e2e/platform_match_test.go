package e2e

import (
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// pushArmIndex pushes an index listing linux/arm/v6 before linux/arm/v7,
// linux/arm64 without a variant (as many indexes write it), and an in-toto
// artifact with an artifactType and no platform; it returns the children's
// digests by platform.
func pushArmIndex(t *testing.T, r *testenv.Registry, ref string) map[string]string {
	t.Helper()
	children := map[string]string{}
	idx := v1.ImageIndex(empty.Index)
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "arm", Variant: "v6"}, {OS: "linux", Architecture: "arm", Variant: "v7"}, {OS: "linux", Architecture: "arm64"}} {
		img := platformImage(t, p.Architecture, p.Variant)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
		children[p.String()] = mustDigest(t, img).String()
	}
	art := platformImage(t, "unknown", "")
	idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: art, Descriptor: v1.Descriptor{ArtifactType: "application/vnd.in-toto+json"}})
	if err := remote.WriteIndex(r.ParseRef(t, ref), idx, r.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	return children
}

// TestPlatformMatching: --platform is matched as docker (containerd)
// matches it: linux/arm64/v8, linux/aarch64 and linux/ARM64 are the entry
// written linux/arm64; linux/arm is arm/v7 and takes v7 over the v6 listed
// first; arm/v8 takes v7 when there is no v8, but index remove of arm/v8
// removes nothing. The artifact is no platform anywhere.
func TestPlatformMatching(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	children := pushArmIndex(t, reg, "var:idx")
	ref := reg.Ref("var:idx")
	v6, v7, arm64 := children["linux/arm/v6"], children["linux/arm/v7"], children["linux/arm64"]
	e := testenv.NewEnv(t)

	for p, want := range map[string]string{
		"linux/arm64/v8": arm64, "linux/arm64": arm64, "linux/aarch64": arm64, "linux/ARM64": arm64, "Linux/arm64": arm64,
		"linux/arm": v7, "linux/arm/v7": v7, "linux/armhf": v7, "linux/arm/v8": v7,
		"linux/arm/v6": v6, "linux/armel": v6, "linux/arm64/v8.2": arm64, // v8.2 takes v8.1 and v8
	} {
		res := e.Run(t, "digest", "--platform", p, ref)
		if res.Code != 0 || res.Stdout != want+"\n" {
			t.Errorf("digest --platform %s: exit %d %q %q, want %s", p, res.Code, res.Stdout, res.Stderr, want)
		}
	}
	for _, p := range []string{"linux/arm/v5", "linux/amd64", "linux/riscv64"} {
		res := e.Run(t, "digest", "--platform", p, ref)
		if res.Code != 3 || !strings.HasSuffix(res.Stderr, "(the index has: linux/arm/v6, linux/arm/v7, linux/arm64)\n") {
			t.Errorf("digest --platform %s: exit %d %q, want 3 naming the platforms", p, res.Code, res.Stderr)
		}
	}

	// pull and manifest get pick the same child; save takes the v8 form.
	res := e.Run(t, "pull", "--platform", "linux/arm64/v8", ref)
	wantCode(t, res, 0)
	res = e.Run(t, "image", "inspect", "--format", "{{.Descriptor.Digest}}", ref)
	if res.Stdout != arm64+"\n" {
		t.Errorf("pull --platform linux/arm64/v8 stored %q, want %s", res.Stdout, arm64)
	}
	res = e.Run(t, "manifest", "get", "--platform", "linux/arm", ref)
	if res.Code != 0 || sha256Of(res.Stdout) != v7 {
		t.Errorf("manifest get --platform linux/arm: exit %d, bytes of %s, want %s", res.Code, sha256Of(res.Stdout), v7)
	}

	// A subset keeps the best entry of each platform asked for.
	res = e.Run(t, "pull", "--platform", "linux/arm,linux/aarch64", ref)
	wantCode(t, res, 0)
	if !strings.Contains(res.Stdout, "Platforms: linux/arm/v7, linux/arm64\n") {
		t.Errorf("subset pull: %q", res.Stdout)
	}
	if got, complete := inspectManifests(t, e, ref); !complete || !mapsEqual(got, map[string]string{"linux/arm/v7": v7, "linux/arm64": arm64}) {
		t.Errorf("subset pull stored %v (complete %v)", got, complete)
	}
	wantCode(t, e.Run(t, "save", "--platform", "linux/arm64/v8", "-o", t.TempDir()+"/a.tar", ref), 0)

	// The whole index: the artifact is not a platform, in pull or images.
	res = e.Run(t, "pull", "--platform", "all", ref)
	wantCode(t, res, 0)
	if !strings.Contains(res.Stdout, "Platforms: linux/arm/v6, linux/arm/v7, linux/arm64\n") {
		t.Errorf("pull --platform all: %q", res.Stdout)
	}
	res = e.Run(t, "images", "--format", "{{.Platforms}}", ref)
	if res.Stdout != "linux/arm/v6,linux/arm/v7,linux/arm64\n" {
		t.Errorf("images: %q", res.Stdout)
	}

	// index remove: the platform itself, spelled either way, never an
	// older variant standing in for it.
	res = e.Run(t, "index", "remove", ref, "linux/arm/v8")
	if res.Code != 3 || !strings.Contains(res.Stderr, "no image for platform linux/arm/v8") {
		t.Errorf("index remove linux/arm/v8: exit %d %q, want 3", res.Code, res.Stderr)
	}
	res = e.Run(t, "index", "remove", ref, "linux/arm64/v8")
	wantCode(t, res, 0)
	if !strings.HasSuffix(res.Stdout, " platforms: linux/arm/v6,linux/arm/v7\n") {
		t.Errorf("index remove linux/arm64/v8: %q", res.Stdout)
	}
	res = e.Run(t, "index", "remove", ref, "linux/arm")
	wantCode(t, res, 0)
	if !strings.HasSuffix(res.Stdout, " platforms: linux/arm/v6\n") {
		t.Errorf("index remove linux/arm: %q", res.Stdout)
	}
}
