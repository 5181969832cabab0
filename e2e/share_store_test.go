package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
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
// repository of the same registry, the config as the layers, are
// mounted, not uploaded.
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
	if n := proxy.Count("PUT", "/blobs/uploads/"); n != 0 {
		t.Errorf("%d blob uploads, want none (the config is mounted too)", n)
	}
}

// TestPushIndexMountsFromOtherRepository: a multi-platform image pushed to
// one repository, then tagged into another of the same registry and
// pushed there, has every blob of every platform mounted (its layers and
// configs), none uploaded.
func TestPushIndexMountsFromOtherRepository(t *testing.T) {
	t.Parallel()
	scratch := testenv.StartRegistry(t, testenv.RegistryOptions{})
	pushThreePlatforms(t, scratch, "seed/multi:v1")
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	a, b := proxy.Host+"/team/a:v1", proxy.Host+"/team/b:v1"
	wantCode(t, e.Run(t, "pull", "-q", "--platform", "all", scratch.Ref("seed/multi:v1")), 0)
	wantCode(t, e.Run(t, "tag", scratch.Ref("seed/multi:v1"), a), 0)
	wantCode(t, e.Run(t, "push", a), 0)
	wantCode(t, e.Run(t, "tag", a, b), 0)
	proxy.Reset()
	res := e.Run(t, "push", b)
	wantCode(t, res, 0)
	mounted := 0
	for _, r := range proxy.Requests() {
		if r.Method == "POST" && strings.Contains(r.RawQuery, "from=team%2Fa") && r.Status == 201 {
			mounted++
		}
	}
	// 3 platforms of 2 layers and a config each.
	if n := strings.Count(res.Stderr, ": Mounted from team/a\n"); n != 6 || mounted != 9 || proxy.Count("PUT", "/blobs/uploads/") != 0 {
		t.Errorf("push of an index known in team/a: %d Mounted lines (want 6), %d mounts (want 9), %d blob uploads (want 0)\n%s", n, mounted, proxy.Count("PUT", "/blobs/uploads/"), res.Stderr)
	}
	wantCode(t, e.Crane(t, "validate", "--remote", b), 0)
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

// TestPushDockerSaveByDigest: a docker save image goes up gzip'd, under
// another digest than the store's, so a push of it by the store's digest
// is refused before anything is sent (the registry would refuse the
// manifest once the layers were up); by tag it goes.
func TestPushDockerSaveByDigest(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	archive := filepath.Join(t.TempDir(), "big.tar")
	testenv.DockerSaveTar(t, archive, 2, 10_000)
	e := testenv.NewEnv(t)
	wantCode(t, e.Run(t, "load", "-i", archive), 0)
	repo := proxy.Host + "/big"
	wantCode(t, e.Run(t, "tag", "big:1", repo+":v1"), 0)
	res := e.Run(t, "image", "inspect", "--format", "{{.Descriptor.Digest}}", repo+":v1")
	wantCode(t, res, 0)
	local := strings.TrimSpace(res.Stdout)
	res = e.Run(t, "push", repo+"@"+local)
	if res.Code != 2 || !strings.Contains(res.Stderr, "its layers go up gzip'd") || !strings.Contains(res.Stderr, "push it by tag") {
		t.Errorf("push by the local digest: exit %d, stderr %q; want 2 saying to push by tag", res.Code, res.Stderr)
	}
	if n := proxy.Count("PUT", "") + proxy.Count("POST", "") + proxy.Count("PATCH", ""); n != 0 {
		t.Errorf("the refused push sent %d uploads", n)
	}
	res = e.Run(t, "push", repo+":v1")
	wantCode(t, res, 0)
	if strings.Contains(res.Stdout, local) {
		t.Errorf("push by tag: %q, want the gzip'd form's digest", res.Stdout)
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
	res = e.Run(t, "image", "inspect", "--format", "{{.Descriptor.Digest}}", reg.Ref("multi:v1"))
	if res.Stdout != arm.String()+"\n" {
		t.Errorf("store holds %q under v1, want the arm64 image %s", res.Stdout, arm)
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
	// The layer is never reported complete: docker says so only once it
	// is verified and stored.
	if bad := ld.Hex[:12] + ": Pull complete"; strings.Contains(res.Stderr, bad) {
		t.Errorf("pull of a corrupted layer printed %q:\n%s", bad, res.Stderr)
	}
	res = e2.Run(t, "images", "-q")
	if strings.TrimSpace(res.Stdout) != "" {
		t.Errorf("store holds an image after a failed pull: %q", res.Stdout)
	}

	// A layer cut mid-body twice is resumed where it stopped (Range), not
	// fetched again from the start, and the image is stored whole.
	p2.ClearFaults()
	p2.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/blobs/" + ld.String(), Times: 2, Kind: testenv.FaultDropMidBody, Bytes: 20 << 10})
	p2.Reset()
	wantCode(t, e2.Run(t, "pull", "-q", p2.Host+"/bad:v1"), 0)
	var ranges []string
	for _, r := range p2.Requests() {
		if r.Method == "GET" && strings.HasSuffix(r.Path, ld.String()) {
			ranges = append(ranges, r.Range)
		}
	}
	if want := []string{"", "bytes=20480-", "bytes=40960-"}; !slices.Equal(ranges, want) {
		t.Errorf("layer GETs with Range %q, want %q", ranges, want)
	}
	dig, _ := img.Digest()
	if res := e2.Run(t, "images", "--format", "{{.Digest}}", p2.Host+"/bad:v1"); strings.TrimSpace(res.Stdout) != dig.String() {
		t.Errorf("stored image %q, want %s", res.Stdout, dig)
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
	defer cmd.Process.Kill() // should the wait fail the test
	testenv.WaitFor(t, 20*time.Second, "the push's PUT /manifests/ at the proxy", func() bool { return proxy.Count("PUT", "/manifests/") > 0 })
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
	// Its POSTs are same-repository mounts the registry answers 201: no
	// blob is sent.
	if n := proxy.Count("PUT", "/blobs/uploads/"); n != 0 || strings.Count(res.Stderr, "Layer already exists") != 2 {
		t.Errorf("second push sent %d blobs:\n%s", n, res.Stderr)
	}
}

// TestPullInterrupted: Ctrl-C or SIGKILL while one layer's GET hangs (the
// others may be in) leaves no image in the store, and the next pull
// completes and stores the image whole.
func TestPullInterrupted(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	img := reg.PushRandomImage(t, "app:v1", 3, 64<<10)
	layers, _ := img.Layers()
	ld, _ := layers[1].Digest()
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			proxy := testenv.NewProxy(t, reg.URL, nil)
			proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/blobs/" + ld.String(), Times: 1, Kind: testenv.FaultHang})
			e := testenv.NewEnv(t)
			cmd := exec.Command(testenv.CtlBinary(t), "pull", proxy.Host+"/app:v1")
			cmd.Env = e.Environ()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill() // should the wait fail the test
			testenv.WaitFor(t, 20*time.Second, "the pull's GET of the hanging layer at the proxy", func() bool { return proxy.Count("GET", "/blobs/"+ld.String()) > 0 })
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err == nil {
				t.Fatal("interrupted pull succeeded")
			}
			res := e.Run(t, "images", "-q")
			wantCode(t, res, 0)
			if res.Stdout != "" {
				t.Fatalf("an interrupted pull left an image: %q", res.Stdout)
			}
			wantCode(t, e.Run(t, "pull", "-q", proxy.Host+"/app:v1"), 0)
			res = e.Run(t, "images", "--format", "{{.Digest}}", proxy.Host+"/app:v1")
			if strings.TrimSpace(res.Stdout) != mustDigest(t, img).String() {
				t.Errorf("stored image %q, want %s", res.Stdout, mustDigest(t, img))
			}
			wantCode(t, e.Run(t, "save", "-o", t.TempDir()+"/out.tar", proxy.Host+"/app:v1"), 0)
		})
	}
}

// imageDigests lists the store as "REPOSITORY:TAG DIGEST" lines, sorted.
func imageDigests(t *testing.T, e *testenv.Env) string {
	t.Helper()
	res := e.Run(t, "images", "--digests", "--format", "{{.Repository}}:{{.Tag}} {{.Digest}}")
	wantCode(t, res, 0)
	lines := strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// TestPullIndexRepoDigest: a tag pulled out of an index shows the index
// digest in ctl images, as docker's repo digest does, through re-pulls, a
// moved index, tags, push, pull by digest and rmi.
func TestPullIndexRepoDigest(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	idx, _, arm := pushPlatformIndex(t, reg, "multi:v1")
	e := testenv.NewEnv(t)
	name := reg.Ref("multi")
	pull := func(ref, status string) {
		t.Helper()
		res := e.Run(t, "pull", "--platform", "linux/arm64/v8", ref)
		wantCode(t, res, 0)
		if !strings.HasSuffix(res.Stdout, "Status: "+status+" for "+ref+"\n") {
			t.Errorf("pull %s stdout %q, want %q", ref, res.Stdout, status)
		}
	}
	want := func(step, lines string) {
		t.Helper()
		if got := imageDigests(t, e); got != lines {
			t.Errorf("%s: images --digests:\n%s\nwant:\n%s", step, got, lines)
		}
	}
	pull(name+":v1", "Downloaded newer image")
	want("pull", name+":v1 "+idx.String())
	res := e.Run(t, "images", "--digests", name)
	if !strings.Contains(res.Stdout, " DIGEST ") || !strings.Contains(res.Stdout, idx.String()) {
		t.Errorf("images --digests table:\n%s", res.Stdout)
	}
	res = e.Run(t, "images", "--format", "json", name)
	if !strings.Contains(res.Stdout, `"Digest":"`+idx.String()+`"`) {
		t.Errorf("images --format json: %s", res.Stdout)
	}
	res = e.Run(t, "image", "inspect", "--format", "{{json .RepoDigests}}", name+":v1")
	if res.Stdout != `["`+name+"@"+idx.String()+`"]`+"\n" {
		t.Errorf("RepoDigests %s", res.Stdout)
	}
	pull(name+":v1", "Image is up to date")
	want("re-pull", name+":v1 "+idx.String())

	// The tag moves to an index with the same arm64 image: up to date, at
	// the new index digest.
	old, err := remote.Index(reg.ParseRef(t, "multi:v1"), reg.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	moved := mutate.AppendManifests(old, mutate.IndexAddendum{
		Add:        platformImage(t, "riscv64", ""),
		Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "riscv64"}},
	})
	if err := remote.WriteIndex(reg.ParseRef(t, "multi:v1"), moved, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	movedDigest := mustDigest(t, moved)
	pull(name+":v1", "Image is up to date")
	want("re-pull of a moved index", name+":v1 "+movedDigest.String())

	// New tags were never pulled: they show the image's own digest.
	wantCode(t, e.Run(t, "tag", name+":v1", name+":v2", reg.Ref("copy:v1")), 0)
	want("tag", strings.Join([]string{reg.Ref("copy:v1") + " " + arm.String(), name + ":v1 " + movedDigest.String(), name + ":v2 " + arm.String()}, "\n"))

	// Pulled by the index digest: that digest, no tag; up to date the
	// second time; not pushable by that digest; removable by it.
	byDigest := name + "@" + idx.String()
	pull(byDigest, "Downloaded newer image")
	pull(byDigest, "Image is up to date")
	want("pull by digest", strings.Join([]string{reg.Ref("copy:v1") + " " + arm.String(), name + ":<none> " + idx.String(), name + ":v1 " + movedDigest.String(), name + ":v2 " + arm.String()}, "\n"))
	wantCode(t, e.Run(t, "push", byDigest), 2)
	wantCode(t, e.Run(t, "rmi", byDigest), 0)

	// Pushed, the tag is the arm64 image on the registry, and says so.
	wantCode(t, e.Run(t, "push", name+":v1"), 0)
	if got := digestOf(t, reg, "multi:v1"); got != arm {
		t.Fatalf("pushed multi:v1 is %s, want %s", got, arm)
	}
	want("push", strings.Join([]string{reg.Ref("copy:v1") + " " + arm.String(), name + ":v1 " + arm.String(), name + ":v2 " + arm.String()}, "\n"))
	wantCode(t, e.Run(t, "rmi", name+":v1"), 0)
	want("rmi", strings.Join([]string{reg.Ref("copy:v1") + " " + arm.String(), name + ":v2 " + arm.String()}, "\n"))
}

// TestPushPulledKeepsDigest: what was pulled goes up as it came, under
// its digest, wherever it is pushed: an artifact whose blob is a file
// (oras's default media type for one is the uncompressed tar layer type)
// and an image with uncompressed layers alike. Only a docker save image's
// layers are gzip'd on the way (TestPushDockerSaveByDigest).
func TestPushPulledKeepsDigest(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	sbom, err := mutate.AppendLayers(empty.Image, static.NewLayer([]byte(`{"spdxVersion":"SPDX-2.3"}`), types.OCIUncompressedLayer))
	if err != nil {
		t.Fatal(err)
	}
	sbom = mutate.MediaType(sbom, types.OCIManifestSchema1)
	if err := remote.Write(reg.ParseRef(t, "sbom:1"), sbom, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	want, err := sbom.Digest()
	if err != nil {
		t.Fatal(err)
	}
	e := testenv.NewEnv(t)
	wantCode(t, e.Run(t, "pull", "-q", reg.Ref("sbom:1")), 0)
	wantCode(t, e.Run(t, "tag", reg.Ref("sbom:1"), reg.Ref("copy:1")), 0)
	res := e.Run(t, "push", reg.Ref("copy:1"))
	wantCode(t, res, 0)
	if !strings.Contains(res.Stdout, want.String()) {
		t.Errorf("push: %q, want the pulled digest %s", res.Stdout, want)
	}
	got, err := remote.Head(reg.ParseRef(t, "copy:1"), reg.RemoteOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != want {
		t.Errorf("registry has %s under copy:1, want %s", got.Digest, want)
	}
}
