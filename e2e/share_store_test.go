package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"regexp"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// seed puts an image with layers layers into e's store as ref (on dst's
// registry) by pulling it from a scratch registry and tagging it, and
// returns its digest and manifest size.
func seed(t *testing.T, e *testenv.Env, layers int, size int64, refs ...string) (string, int) {
	t.Helper()
	scratch := testenv.StartRegistry(t, testenv.RegistryOptions{})
	img := scratch.PushRandomImage(t, "seed:v1", layers, size)
	wantCode(t, e.Run(t, "pull", "-q", scratch.Ref("seed:v1")), 0)
	wantCode(t, e.Run(t, append([]string{"tag", scratch.Ref("seed:v1")}, refs...)...), 0)
	m, _ := img.RawManifest()
	return mustDigest(t, img).String(), len(m)
}

// TestPushAllTagsRequests counts requests through the proxy: 5 tags of a
// 10-layer image go up in 11 blob uploads of two requests each and 5
// manifest PUTs; pushing again costs a ping and a HEAD per tag.
func TestPushAllTagsRequests(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	var refs, lines []string
	for i := range 5 {
		refs = append(refs, fmt.Sprintf("%s/team/app:v%d", proxy.Host, i))
	}
	digest, size := seed(t, e, 10, 1000, refs...)
	for i := range 5 {
		lines = append(lines, fmt.Sprintf("v%d: digest: %s size: %d", i, digest, size))
	}
	proxy.Reset()
	res := e.Run(t, "push", "--all-tags", proxy.Host+"/team/app")
	wantCode(t, res, 0)
	checkPushOutput(t, res, proxy.Host+"/team/app", 10, lines)
	if n := strings.Count(res.Stderr, ": Pushed\n"); n != 10 {
		t.Errorf("%d Pushed lines, want 10", n)
	}
	total := len(proxy.Requests())
	posts, puts := proxy.Count("POST", "/blobs/uploads/"), proxy.Count("PUT", "/blobs/uploads/")
	mputs, patches := proxy.Count("PUT", "/manifests/"), proxy.Count("PATCH", "")
	if posts != 11 || puts != 11 || mputs != 5 || patches != 0 || total > 41 {
		t.Errorf("first push: %d requests (%d POST, %d PUT, %d PATCH, %d manifest PUT), want about 39", total, posts, puts, patches, mputs)
	}
	t.Logf("first push --all-tags: %d requests", total)
	wantCode(t, e.Crane(t, "validate", "--remote", proxy.Host+"/team/app:v3"), 0)

	proxy.Reset()
	res = e.Run(t, "push", "-a", proxy.Host+"/team/app")
	wantCode(t, res, 0)
	t.Logf("second push --all-tags: %d requests", len(proxy.Requests()))
	if total := len(proxy.Requests()); total > 6 || proxy.Count("PUT", "") != 0 {
		t.Errorf("second push: %d requests, want at most 6 and no PUT", total)
	}
	if res.Stdout != strings.Join(lines, "\n")+"\n" {
		t.Errorf("second push stdout:\n%s", res.Stdout)
	}
}

// TestPushMountsFromOtherRepository: blobs the store pulled from another
// repository of the same registry are mounted, not uploaded.
func TestPushMountsFromOtherRepository(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	reg.PushRandomImage(t, "base/os:v1", 3, 2000)
	e := testenv.NewEnv(t)
	wantCode(t, e.Run(t, "pull", proxy.Host+"/base/os:v1"), 0)
	wantCode(t, e.Run(t, "tag", proxy.Host+"/base/os:v1", proxy.Host+"/team/app:v1"), 0)
	proxy.Reset()
	res := e.Run(t, "push", proxy.Host+"/team/app:v1")
	wantCode(t, res, 0)
	if n := strings.Count(res.Stderr, ": Mounted from base/os\n"); n != 3 {
		t.Errorf("%d Mounted lines, want 3:\n%s", n, res.Stderr)
	}
	if n := proxy.Count("PUT", "/blobs/uploads/"); n != 1 { // the config only
		t.Errorf("%d blob uploads, want 1 (the config)", n)
	}
}

var pullLayer = regexp.MustCompile(`^[0-9a-f]{12}: (Pull complete|Already exists)$`)

func TestPullRoundTrip(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dst := testenv.StartRegistry(t, testenv.RegistryOptions{})
	img := src.PushRandomImage(t, "app:v1", 3, 4096)
	d := mustDigest(t, img).String()
	e := testenv.NewEnv(t)

	res := e.Run(t, "pull", src.Ref("app:v1"))
	wantCode(t, res, 0)
	want := "Digest: " + d + "\nStatus: Downloaded newer image for " + src.Ref("app:v1") + "\n"
	if res.Stdout != want {
		t.Errorf("stdout %q, want %q", res.Stdout, want)
	}
	lines := strings.Split(strings.TrimSuffix(res.Stderr, "\n"), "\n")
	if lines[0] != "v1: Pulling from app" || len(lines) != 4 {
		t.Errorf("stderr:\n%s", res.Stderr)
	}
	for _, l := range lines[1:] {
		if !pullLayer.MatchString(l) {
			t.Errorf("bad layer line %q", l)
		}
	}
	res = e.Run(t, "pull", src.Ref("app:v1"))
	wantCode(t, res, 0)
	if !strings.HasSuffix(res.Stdout, "Status: Image is up to date for "+src.Ref("app:v1")+"\n") {
		t.Errorf("second pull stdout %q", res.Stdout)
	}

	// And back out to another registry: the same digest.
	wantCode(t, e.Run(t, "tag", src.Ref("app:v1"), dst.Ref("app:v1")), 0)
	wantCode(t, e.Run(t, "push", dst.Ref("app:v1")), 0)
	if got := digestOf(t, dst, "app:v1").String(); got != d {
		t.Errorf("round trip digest %s, want %s", got, d)
	}
	wantCode(t, e.Crane(t, "validate", "--remote", dst.Ref("app:v1")), 0)

	// No tag: latest, said as docker push (and ctl pull) say it.
	wantCode(t, e.Run(t, "tag", src.Ref("app:v1"), dst.Ref("deftag")), 0)
	res = e.Run(t, "push", dst.Ref("deftag"))
	wantCode(t, res, 0)
	if !strings.HasPrefix(res.Stderr, "Using default tag: latest\nThe push refers to repository ["+dst.Ref("deftag")+"]\n") ||
		!regexp.MustCompile(`^latest: digest: `+d+` size: \d+\n$`).MatchString(res.Stdout) {
		t.Errorf("push without a tag: stdout %q stderr %q", res.Stdout, res.Stderr)
	}

	// By digest alone: the manifest goes up, no tag is touched.
	wantCode(t, e.Run(t, "tag", src.Ref("app:v1"), dst.Ref("bydigest:v1")), 0)
	wantCode(t, e.Run(t, "push", dst.Ref("bydigest@"+d)), 0)
	if got := digestOf(t, dst, "bydigest@"+d).String(); got != d {
		t.Errorf("push by digest stored %s", got)
	}
	if _, err := remote.Head(dst.ParseRef(t, "bydigest:v1"), dst.RemoteOptions()...); err == nil {
		t.Errorf("push by digest created a tag")
	}
}

func TestPullAllTagsAndPlatform(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	idx, _, arm := pushPlatformIndex(t, reg, "multi:v1")
	reg.PushRandomImage(t, "multi:v2", 1, 100)
	e := testenv.NewEnv(t)
	res := e.Run(t, "pull", "--platform", "linux/arm64/v8", reg.Ref("multi:v1"))
	wantCode(t, res, 0)
	if !strings.HasPrefix(res.Stdout, "Digest: "+idx.String()+"\n") {
		t.Errorf("stdout %q, want the index digest %s", res.Stdout, idx)
	}
	res = e.Run(t, "images", "--digests", "--format", "{{.Tag}} {{.Digest}}")
	if !strings.Contains(res.Stdout, "v1 "+arm.String()) {
		t.Errorf("store does not hold the arm64 image under v1:\n%s", res.Stdout)
	}
	wantCode(t, e.Run(t, "pull", "--platform", "linux/s390x", reg.Ref("multi:v1")), 3)

	res = e.Run(t, "pull", "-a", "--platform", "linux/amd64", reg.Ref("multi"))
	wantCode(t, res, 0)
	if strings.Count(res.Stdout, "Digest: ") != 2 {
		t.Errorf("pull -a stdout:\n%s", res.Stdout)
	}
}

// TestShareFaults: resets and 503s during a push are survived; a corrupt
// blob on pull fails and stores nothing.
func TestShareFaults(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	seed(t, e, 3, 64<<10, proxy.Host+"/app:v1")
	proxy.AddFault(testenv.Fault{Method: "PUT", PathRegexp: "/blobs/uploads/", Times: 1, Kind: testenv.FaultDropBeforeResponse})
	proxy.AddFault(testenv.Fault{Method: "POST", PathRegexp: "/blobs/uploads/", Times: 2, Kind: testenv.FaultStatus, Status: 503})
	wantCode(t, e.Run(t, "push", proxy.Host+"/app:v1"), 0)
	wantCode(t, e.Crane(t, "validate", "--remote", reg.Ref("app:v1")), 0)

	other := testenv.StartRegistry(t, testenv.RegistryOptions{})
	img := other.PushRandomImage(t, "bad:v1", 1, 64<<10)
	p2 := testenv.NewProxy(t, other.URL, nil)
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	p2.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/blobs/" + ld.String(), Kind: testenv.FaultCorruptBody, Bytes: 100})
	e2 := testenv.NewEnv(t)
	res := e2.Run(t, "pull", p2.Host+"/bad:v1")
	if res.Code == 0 {
		t.Fatalf("pull of a corrupted blob succeeded")
	}
	res = e2.Run(t, "images", "-q")
	if strings.TrimSpace(res.Stdout) != "" {
		t.Errorf("store holds an image after a failed pull: %q", res.Stdout)
	}
}

func TestShareErrors(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	wantCode(t, e.Run(t, "push", reg.Ref("nothing:here")), 3)
	wantCode(t, e.Run(t, "pull", reg.Ref("nothing:here")), 3)
	res := e.Run(t, "pull", "127.0.0.1:1/app:v1")
	wantCode(t, res, 1)
	if !strings.Contains(res.Stderr, "127.0.0.1:1") {
		t.Errorf("unreachable host not named: %s", res.Stderr)
	}
	wantCode(t, e.Run(t, "push", "-a", reg.Ref("app:v1")), 2)
	// A bad --format is a usage error before anything is looked up, even
	// for an image the store does not have.
	for _, args := range [][]string{
		{"push", "--format", "xml", reg.Ref("nothing:here")},
		{"push", "--semver", "--format", "xml", reg.Ref("nothing:1.2.3")},
		{"copy", "--format", "xml", reg.Ref("nothing:here"), reg.Ref("else:here")},
	} {
		res := e.Run(t, args...)
		wantCode(t, res, 2)
		if !strings.Contains(res.Stderr, `invalid --format "xml"`) {
			t.Errorf("%v: stderr %q", args, res.Stderr)
		}
	}

	// A token registry refuses anonymous pushes: exit 4 with the hint.
	auth := testenv.StartRegistry(t, testenv.RegistryOptions{Token: true})
	seed(t, e, 1, 100, auth.Ref("app:v1"))
	res = e.Run(t, "push", auth.Ref("app:v1"))
	wantCode(t, res, 4)
	if !strings.Contains(res.Stderr, "run: ctl login "+auth.Host) {
		t.Errorf("no login hint: %s", res.Stderr)
	}
}

// TestPushInterrupted: Ctrl-C while the manifest PUT hangs (every blob is
// up) ends the push, leaves the tag absent, and the next push completes
// without sending a blob again.
func TestPushInterrupted(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	seed(t, e, 2, 1000, proxy.Host+"/app:v1")
	proxy.AddFault(testenv.Fault{Method: "PUT", PathRegexp: "/manifests/", Times: 1, Kind: testenv.FaultHang})

	cmd := exec.Command(testenv.CtlBinary(t), "push", proxy.Host+"/app:v1")
	cmd.Env = e.Environ()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for proxy.Count("PUT", "/manifests/") == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	err := cmd.Wait()
	t.Logf("push ended %v after the interrupt", time.Since(sent))
	if err == nil {
		t.Fatalf("interrupted push succeeded:\n%s", stderr.String())
	}
	if _, err := remote.Head(reg.ParseRef(t, "app:v1"), reg.RemoteOptions()...); err == nil {
		t.Errorf("the tag exists after an interrupted push")
	}
	proxy.Reset()
	res := e.Run(t, "push", proxy.Host+"/app:v1")
	wantCode(t, res, 0)
	if n := proxy.Count("POST", "/blobs/uploads/"); n != 0 || strings.Count(res.Stderr, "Layer already exists") != 2 {
		t.Errorf("second push started %d uploads:\n%s", n, res.Stderr)
	}
}
