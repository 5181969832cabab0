package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestPushLoadedDockerSaveGzips: the layers of a docker save archive are
// kept uncompressed in the store; a push sends them gzip'd, as docker push
// does, so the image passes crane validate. The compressed blobs are
// remembered: a second push is a single manifest HEAD, and a push to
// another registry sends the very same digests.
func TestPushLoadedDockerSaveGzips(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	other := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	archive := filepath.Join(t.TempDir(), "big.tar")
	testenv.DockerSaveTar(t, archive, 2, 100_000)
	wantCode(t, e.Run(t, "load", "-i", archive), 0)
	ref := proxy.Host + "/big:1"
	wantCode(t, e.Run(t, "tag", "big:1", ref, other.Ref("big:1")), 0)

	first := e.Run(t, "push", ref)
	wantCode(t, first, 0)
	wantCode(t, e.Crane(t, "validate", "--remote", ref), 0)
	res := e.Crane(t, "manifest", ref)
	wantCode(t, res, 0)
	var m v1.Manifest
	if err := json.Unmarshal([]byte(res.Stdout), &m); err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer %s pushed as %s, want %s", l.Digest, l.MediaType, types.OCILayer)
		}
	}
	digest := strings.TrimSpace(e.Crane(t, "digest", ref).Stdout)
	if !strings.Contains(first.Stdout, "digest: "+digest) {
		t.Errorf("push printed %q, the registry has %s", first.Stdout, digest)
	}

	proxy.Reset()
	again := e.Run(t, "push", ref)
	wantCode(t, again, 0)
	if again.Stdout != first.Stdout {
		t.Errorf("second push printed %q, first %q", again.Stdout, first.Stdout)
	}
	if n := proxy.Count("POST", "") + proxy.Count("PUT", "") + proxy.Count("PATCH", ""); n != 0 {
		t.Errorf("second push sent %d uploads (%v), want none", n, proxy.Requests())
	}

	wantCode(t, e.Run(t, "push", other.Ref("big:1")), 0)
	if d := strings.TrimSpace(e.Crane(t, "digest", other.Ref("big:1")).Stdout); d != digest {
		t.Errorf("pushed to another registry as %s, first as %s", d, digest)
	}

}

// TestRepushOneTagRequests: pushing a tag that already points at the
// image costs the manifest HEAD (and at most a ping) and nothing else,
// and still shows each layer as already there.
func TestRepushOneTagRequests(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	ref := proxy.Host + "/team/app:v1"
	seed(t, e, 10, 1000, ref)
	first := e.Run(t, "push", ref)
	wantCode(t, first, 0)

	proxy.Reset()
	again := e.Run(t, "push", ref)
	wantCode(t, again, 0)
	reqs := proxy.Requests()
	t.Logf("re-push: %v", reqs)
	if len(reqs) > 2 || proxy.Count("HEAD", "/manifests/v1") != 1 || proxy.Count("HEAD", "/blobs/") != 0 {
		t.Errorf("re-push sent %d requests (%v), want the manifest HEAD and at most a ping", len(reqs), reqs)
	}
	if again.Stdout != first.Stdout || strings.Count(again.Stderr, ": Layer already exists\n") != 10 {
		t.Errorf("re-push printed:\n%s%s", again.Stdout, again.Stderr)
	}

	// The registry answered ctl without credentials: from now on ctl knows
	// it open (its host cache) and sends no ping there, so a re-push is
	// the HEAD alone.
	proxy.Reset()
	wantCode(t, e.Run(t, "push", ref), 0)
	if reqs := proxy.Requests(); len(reqs) != 1 || proxy.Count("HEAD", "/manifests/v1") != 1 {
		t.Errorf("re-push to a registry known open sent %v, want the manifest HEAD alone", reqs)
	}

	// The HEAD goes out beside the ping, not after it: with the ping never
	// answered, the re-push still ends on the HEAD's answer (a client that
	// waited for the ping would hang: the bound is what stops it). The
	// host cache is emptied so that ctl pings again (when the process
	// lives long enough for the ping to leave).
	if err := os.RemoveAll(filepath.Join(e.Home, ".cache", "ctl", "hosts")); err != nil {
		t.Fatal(err)
	}
	proxy.Reset()
	proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: "^/v2/$", Kind: testenv.FaultHang})
	hung := e.Exec(t, testenv.CtlBinary(t), "", 30*time.Second, "push", ref)
	wantCode(t, hung, 0)
	for _, r := range proxy.Requests() {
		if r.Path == "/v2/" && r.Status != 0 {
			t.Errorf("the ping was answered (%d): the fault did not hold it", r.Status)
		}
	}
	if proxy.Count("HEAD", "/manifests/v1") != 1 || hung.Stdout != first.Stdout {
		t.Errorf("re-push with the ping unanswered: %v\n%s%s", proxy.Requests(), hung.Stdout, hung.Stderr)
	}
}

// TestPushSameRepoMountRequests: distribution answers a mount from the
// pushed repository itself with 201 when it has the blob and 202 with an
// upload session when not. ctl does not take that on trust (many
// registries answer 202 whatever the repository holds): on a host it
// knows nothing of, each blob's probe goes out beside its HEAD, at once,
// so a first push costs the HEADs but no round trip more, and the push
// of blobs the repository has proves the host (HEAD 200, probe 201).
// From then on, in later runs too (the host cache), each blob costs one
// POST (and a PUT when it goes up), no HEAD. A registry that refuses
// the mount (here one 405) gets HEAD and POST for the rest of the push,
// which still succeeds.
func TestPushSameRepoMountRequests(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	ref := proxy.Host + "/team/app:v1"
	seed(t, e, 10, 1000, ref)
	proxy.Reset()
	wantCode(t, e.Run(t, "push", ref), 0)
	total, heads := len(proxy.Requests()), proxy.Count("HEAD", "/blobs/")
	posts, puts := proxy.Count("POST", "/blobs/uploads/"), proxy.Count("PUT", "/blobs/uploads/")
	t.Logf("first push: %d requests (%d POST, %d PUT, %d blob HEAD)", total, posts, puts, heads)
	if heads != 11 || posts != 11 || puts != 11 || total != 36 {
		t.Errorf("first push: %d requests (%d POST, %d PUT, %d blob HEAD), want 36: ping, HEAD, 11 × (HEAD and POST at once, PUT), PUT", total, posts, puts, heads)
	}
	wantCode(t, e.Crane(t, "validate", "--remote", ref), 0)

	// mounts counts the POSTs mounting a blob, those answered status (any
	// with 0).
	mounts := func(status int) int {
		n := 0
		for _, r := range proxy.Requests() {
			if r.Method == "POST" && strings.Contains(r.RawQuery, "mount=") && (status == 0 || r.Status == status) {
				n++
			}
		}
		return n
	}
	// The same blobs under another tag: each POST answers 201, and the
	// HEADs sent beside them while the host was unknown 200: the host is
	// proven (the HEADs are as many as blobs went out before the first
	// answers came back, so up to 11).
	wantCode(t, e.Run(t, "tag", ref, proxy.Host+"/team/app:v2"), 0)
	proxy.Reset()
	res := e.Run(t, "push", proxy.Host+"/team/app:v2")
	wantCode(t, res, 0)
	heads = proxy.Count("HEAD", "/blobs/")
	if proxy.Count("PUT", "/blobs/") != 0 || heads == 0 || heads > 11 || proxy.Count("POST", "") != 11 || mounts(201) != 11 || strings.Count(res.Stderr, "Layer already exists") != 10 {
		t.Errorf("push of blobs the repository has: %v\n%s", proxy.Requests(), res.Stderr)
	}
	// Proven, in the host cache: the next run sends one POST per blob.
	wantCode(t, e.Run(t, "tag", ref, proxy.Host+"/team/app:v3"), 0)
	proxy.Reset()
	res = e.Run(t, "push", proxy.Host+"/team/app:v3")
	wantCode(t, res, 0)
	if total := len(proxy.Requests()); total != 13 || proxy.Count("HEAD", "/blobs/") != 0 || mounts(201) != 11 || strings.Count(res.Stderr, "Layer already exists") != 10 {
		t.Errorf("push to a host proven to mount: %v, want 13: the tag's HEAD, 11 POSTs, the manifest PUT\n%s", proxy.Requests(), res.Stderr)
	}

	// A registry refusing the mount: HEAD and upload instead.
	e2 := testenv.NewEnv(t)
	ref3 := proxy.Host + "/team/other:v1"
	seed(t, e2, 3, 1000, ref3)
	proxy.Reset()
	proxy.AddFault(testenv.Fault{Method: "POST", PathRegexp: "/blobs/uploads/", Times: 1, Kind: testenv.FaultStatus, Status: 405})
	wantCode(t, e2.Run(t, "push", "-j", "1", ref3), 0)
	if proxy.Count("HEAD", "/blobs/") != 4 || mounts(0) != 1 {
		t.Errorf("after a refused mount: %v, want a HEAD per blob (3 layers and the config) and no probe after the refused one", proxy.Requests())
	}
	wantCode(t, e.Crane(t, "validate", "--remote", ref3), 0)
}

// TestFirstPushKnownHostRoundTrips: a tag made locally and pushed to a
// registry ctl knows open goes up in three round trips, not four: no
// ping, and the blobs' HEADs and POSTs leave beside the tag's HEAD rather
// than after its answer (each request is held 200 ms at the proxy, so a
// request sent after the answer would arrive after it). 35 requests: the
// HEAD, 11 × (HEAD and POST at once, PUT), the manifest PUT; a host
// proven to mount from the pushed repository itself would spare the 11
// blob HEADs (TestPushSameRepoMountRequests).
func TestFirstPushKnownHostRoundTrips(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	proxy := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	// A digest of a missing tag answers 404 without credentials: the
	// host is open from now on.
	wantCode(t, e.Run(t, "digest", proxy.Host+"/team/app:none"), 3)
	ref := proxy.Host + "/team/app:v1"
	seed(t, e, 10, 1000, ref)
	proxy.Reset()
	proxy.SetDelay(200 * time.Millisecond)
	wantCode(t, e.Run(t, "push", ref), 0)
	reqs := proxy.Requests()
	var head testenv.RequestRecord
	for _, r := range reqs {
		if r.Method == "HEAD" && strings.Contains(r.Path, "/manifests/") {
			head = r
		}
	}
	if len(reqs) != 35 || proxy.Count("GET", "^/v2/$") != 0 || proxy.Count("POST", "/blobs/uploads/") != 11 || proxy.Count("HEAD", "/blobs/") != 11 || head.Answered.IsZero() {
		t.Fatalf("push: %v, want 35 requests and no ping", reqs)
	}
	for _, r := range reqs {
		if (r.Method == "POST" || r.Method == "HEAD" && strings.Contains(r.Path, "/blobs/")) && !r.Time.Before(head.Answered) {
			t.Errorf("%s %s?%s arrived after the tag's HEAD was answered", r.Method, r.Path, r.RawQuery)
		}
	}
	wantCode(t, e.Crane(t, "validate", "--remote", ref), 0)

	// Pushed once, the tag is known there: a second push asks the HEAD
	// alone, even a slow registry.
	proxy.Reset()
	wantCode(t, e.Run(t, "push", ref), 0)
	if reqs := proxy.Requests(); len(reqs) != 1 {
		t.Errorf("re-push: %v, want the HEAD alone", reqs)
	}
}
