package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// digestOf returns what ref (repo:tag) resolves to on r.
func digestOf(t *testing.T, r *testenv.Registry, ref string) v1.Hash {
	t.Helper()
	d, err := remote.Head(r.ParseRef(t, ref), r.RemoteOptions()...)
	if err != nil {
		t.Fatalf("HEAD %s: %v", ref, err)
	}
	return d.Digest
}

func mustDigest(t *testing.T, a interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	d, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// pushIndex pushes a two-platform index (linux/amd64, linux/arm64/v8).
func pushPlatformIndex(t *testing.T, r *testenv.Registry, ref string) (idx, amd, arm v1.Hash) {
	t.Helper()
	a := platformImage(t, "amd64", "")
	b := platformImage(t, "arm64", "v8")
	index := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: a, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: b, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	if err := remote.WriteIndex(r.ParseRef(t, ref), index, r.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	return mustDigest(t, index), mustDigest(t, a), mustDigest(t, b)
}

// platformImage is a random image whose config names its platform, as
// crane validate wants of an index's children.
func platformImage(t *testing.T, arch, variant string) v1.Image {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture, cf.Variant = "linux", arch, variant
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var pushedLine = regexp.MustCompile(`^[0-9a-f]{12}: (Pushed|Layer already exists|Mounted from [a-z0-9/._-]+)$`)

// checkPushOutput checks docker's push output for a non-terminal: the
// repository line, one line per layer, and the per-tag digest lines.
func checkPushOutput(t *testing.T, res testenv.Result, repoName string, layers int, tagLines []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(res.Stderr, "\n"), "\n")
	if lines[0] != "The push refers to repository ["+repoName+"]" {
		t.Errorf("first stderr line %q", lines[0])
	}
	if len(lines)-1 != layers {
		t.Errorf("%d layer lines, want %d:\n%s", len(lines)-1, layers, res.Stderr)
	}
	for _, l := range lines[1:] {
		if !pushedLine.MatchString(l) {
			t.Errorf("bad layer line %q", l)
		}
	}
	if got := strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n"); strings.Join(got, "\n") != strings.Join(tagLines, "\n") {
		t.Errorf("stdout:\n%s\nwant:\n%s", res.Stdout, strings.Join(tagLines, "\n"))
	}
}

func TestCopyBetweenRegistries(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dst := testenv.StartRegistry(t, testenv.RegistryOptions{})
	img := src.PushRandomImage(t, "app/web:v1", 3, 2048)
	e := testenv.NewEnv(t)

	res := e.Run(t, "copy", src.Ref("app/web:v1"), dst.Ref("mirror/web:v1"))
	wantCode(t, res, 0)
	d := mustDigest(t, img)
	m, _ := img.RawManifest()
	checkPushOutput(t, res, dst.Ref("mirror/web"), 3, []string{"v1: digest: " + d.String() + " size: " + itoa(len(m))})
	if got := digestOf(t, dst, "mirror/web:v1"); got != d {
		t.Fatalf("copied digest %s, want %s", got, d)
	}
	wantCode(t, e.Crane(t, "validate", "--remote", dst.Ref("mirror/web:v1")), 0)

	// Again: nothing to do, nothing printed per layer.
	res = e.Run(t, "copy", "-q", src.Ref("app/web:v1"), dst.Ref("mirror/web:v1"))
	wantCode(t, res, 0)
	if res.Stderr != "" {
		t.Errorf("-q printed %q", res.Stderr)
	}
}

func TestCopyAllTagsAndIndex(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dst := testenv.StartRegistry(t, testenv.RegistryOptions{})
	idx, amd, _ := pushPlatformIndex(t, src, "multi:v1")
	one := src.PushRandomImage(t, "multi:v2", 1, 100)
	e := testenv.NewEnv(t)

	wantCode(t, e.Run(t, "copy", "-a", src.Ref("multi"), dst.Ref("multi")), 0)
	if got := digestOf(t, dst, "multi:v1"); got != idx {
		t.Errorf("index copied as %s, want %s", got, idx)
	}
	if got := digestOf(t, dst, "multi:v2"); got != mustDigest(t, one) {
		t.Errorf("v2 copied as %s", got)
	}
	wantCode(t, e.Crane(t, "validate", "--remote", dst.Ref("multi:v1")), 0)

	wantCode(t, e.Run(t, "copy", "--platform", "linux/amd64", src.Ref("multi:v1"), dst.Ref("amd:v1")), 0)
	if got := digestOf(t, dst, "amd:v1"); got != amd {
		t.Errorf("--platform linux/amd64 copied %s, want %s", got, amd)
	}
}

// TestCopyMountsWithinRegistry counts, through the proxy, that a copy
// inside one registry mounts every blob and uploads none.
func TestCopyMountsWithinRegistry(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	reg.PushRandomImage(t, "base/os:v1", 4, 4096)
	e := testenv.NewEnv(t)
	res := e.Run(t, "copy", proxy.Host+"/base/os:v1", proxy.Host+"/team/app:v1")
	wantCode(t, res, 0)
	mounts := 0
	for _, r := range proxy.Requests() {
		if r.Method == "POST" && strings.Contains(r.RawQuery, "mount=") && r.Status == 201 {
			mounts++
		}
	}
	if mounts != 5 || proxy.Count("PUT", "/blobs/uploads/") != 0 || proxy.Count("PATCH", "") != 0 {
		t.Errorf("%d mounts, %d blob PUTs; want 5 mounts and no upload\n%s", mounts, proxy.Count("PUT", "/blobs/uploads/"), res.Stderr)
	}
	if n := strings.Count(res.Stderr, ": Mounted from base/os\n"); n != 4 {
		t.Errorf("%d 'Mounted from base/os' lines, want 4:\n%s", n, res.Stderr)
	}
}

func TestCopyErrors(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	// A missing source is reported alone: no push header before it; a
	// missing tag with how to see the tags there are.
	for _, tc := range []struct {
		args []string
		hint string
	}{
		{[]string{"copy", reg.Ref("nothing:here"), reg.Ref("other:v1")}, "run: ctl tags list " + reg.Ref("nothing") + " (to see the tags it has)\n"},
		{[]string{"copy", "-a", reg.Ref("nothing"), reg.Ref("other")}, ""},
	} {
		res := e.Run(t, tc.args...)
		wantCode(t, res, 3)
		errLine, hint, _ := strings.Cut(res.Stderr, "\n")
		if !strings.HasPrefix(errLine, "Error: ") || hint != tc.hint || res.Stdout != "" {
			t.Errorf("%q: stderr %q, want the error alone, then %q", tc.args, res.Stderr, tc.hint)
		}
	}
	res := e.Run(t, "copy", "127.0.0.1:1/app:v1", reg.Ref("other:v1"))
	wantCode(t, res, 1)
	if !strings.Contains(res.Stderr, "127.0.0.1:1") {
		t.Errorf("unreachable registry not named: %s", res.Stderr)
	}
	wantCode(t, e.Run(t, "copy", "-a", reg.Ref("a:v1"), reg.Ref("b")), 2)
}

func itoa(n int) string { return strconv.Itoa(n) }
