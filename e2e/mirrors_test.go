package e2e

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// mirrorLab is an upstream registry that wants credentials (htpasswd over
// TLS) and a real pull-through cache of it (distribution's proxy mode, with
// its own credentials upstream), each behind a counting proxy that ctl
// talks to, plus a mirror that is down (a closed port). ctl's config.json
// lists the dead mirror, then the cache, for the upstream.
type mirrorLab struct {
	upstream *testenv.Registry
	up       *testenv.Proxy // ctl → upstream
	remote   *testenv.Proxy // cache → upstream: cut it and the cache goes stale
	mirror   *testenv.Proxy // ctl → cache
	dead     string
	e        *testenv.Env
}

func newMirrorLab(t *testing.T) *mirrorLab {
	t.Helper()
	l := &mirrorLab{upstream: testenv.StartRegistry(t, testenv.RegistryOptions{HTPasswd: true, DeleteEnabled: true})}
	user, pass := l.upstream.User()
	l.up = testenv.NewProxy(t, l.upstream.URL, l.upstream.CAPEM)
	l.remote = testenv.NewProxy(t, l.upstream.URL, l.upstream.CAPEM)
	cache := testenv.StartRegistry(t, testenv.RegistryOptions{PullThrough: &testenv.PullThrough{
		RemoteURL: l.remote.URL, Username: user, Password: pass,
	}})
	l.mirror = testenv.NewProxy(t, cache.URL, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.dead = ln.Addr().String()
	ln.Close()
	l.e = testenv.NewEnv(t)
	l.e.AddDockerAuth(t, l.up.Host, user, pass)
	writeCtlConfig(t, l.e, map[string]any{"mirrors": map[string][]string{l.up.Host: {l.dead, l.mirror.Host}}})
	return l
}

// writeCtlConfig writes ctl's own config.json in e.
func writeCtlConfig(t *testing.T, e *testenv.Env, cfg map[string]any) {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.XDGConfig, "ctl")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// cached pushes an image of two layers to app:v1 on the upstream and
// pulls it through the mirror, so that the cache holds it; it returns its
// digest and the reference ctl reads it by.
func (l *mirrorLab) cached(t *testing.T) (digest, ref string) {
	t.Helper()
	digest = mustDigest(t, l.upstream.PushRandomImage(t, "app:v1", 2, 4096)).String()
	ref = l.up.Host + "/app:v1"
	l.run(t, "pull", ref)
	return digest, ref
}

// emptyStore is an Env with the lab's credentials and ctl config and a
// store of its own, empty.
func (l *mirrorLab) emptyStore(t *testing.T) *testenv.Env {
	t.Helper()
	e := testenv.NewEnv(t)
	e.DockerConfig, e.XDGConfig = l.e.DockerConfig, l.e.XDGConfig
	return e
}

// run runs ctl and fails the test unless it exits 0.
func (l *mirrorLab) run(t *testing.T, args ...string) testenv.Result {
	t.Helper()
	r := l.e.Run(t, args...)
	if r.Code != 0 {
		t.Fatalf("ctl %s: exit %d\n%s", strings.Join(args, " "), r.Code, r.Stderr)
	}
	return r
}

// sourced is the source part of a --format json result.
type sourced struct {
	Digest string `json:"digest"`
	Source string `json:"source"`
	Mirror string `json:"mirror"`
}

func decode(t *testing.T, out string) sourced {
	t.Helper()
	var s sourced
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("decoding %q: %v", out, err)
	}
	return s
}

// noAuthorization fails when the mirror saw an Authorization header: the
// upstream's credentials must never reach it.
func (l *mirrorLab) noAuthorization(t *testing.T) {
	t.Helper()
	for _, r := range l.mirror.Requests() {
		if r.Authorization {
			t.Errorf("the mirror got an Authorization header: %s %s", r.Method, r.Path)
		}
	}
}

func TestMirrorPullThroughCache(t *testing.T) {
	t.Parallel()
	l := newMirrorLab(t)
	want := mustDigest(t, l.upstream.PushRandomImage(t, "team/app:v1", 2, 4096)).String()
	ref := l.up.Host + "/team/app:v1"

	// ctl ref lists where reads go, without reaching anything.
	r := l.run(t, "ref", "--format", "json", ref)
	var info struct {
		Registry string   `json:"registry"`
		Mirrors  []string `json:"mirrors"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil || info.Registry != l.up.Host ||
		strings.Join(info.Mirrors, " ") != l.dead+"/team/app "+l.mirror.Host+"/team/app" {
		t.Errorf("ref: %s (%v)", r.Stdout, err)
	}

	// The pull goes past the dead mirror (a warning) to the cache, which
	// fetches from the upstream with its own credentials; ctl never
	// contacts the upstream and sends the cache no credentials.
	r = l.run(t, "pull", "--format", "json", ref)
	if got := decode(t, r.Stdout); got.Digest != want || got.Source != "mirror" || got.Mirror != l.mirror.Host {
		t.Errorf("pull: %s; want %s from mirror %s", r.Stdout, want, l.mirror.Host)
	}
	if !strings.Contains(r.Stderr, "Warning: mirror "+l.dead+" skipped") {
		t.Errorf("pull: no warning about the dead mirror:\n%s", r.Stderr)
	}
	if n := len(l.up.Requests()); n != 0 {
		t.Errorf("ctl sent %d requests to the upstream while the mirror served", n)
	}
	if l.mirror.Count("GET", "/v2/team/app/blobs/") != 3 || l.remote.Count("GET", "/v2/team/app/blobs/") != 3 {
		t.Errorf("blob GETs: %d at the mirror, %d by the cache upstream; want 3 and 3",
			l.mirror.Count("GET", "/v2/team/app/blobs/"), l.remote.Count("GET", "/v2/team/app/blobs/"))
	}

	// -v says where the read went; the cache answers from what it holds.
	r = l.run(t, "-v", "inspect", "--format", "json", ref)
	if got := decode(t, r.Stdout); got.Digest != want || got.Source != "mirror" {
		t.Errorf("inspect: %s", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "Reading "+ref+" from mirror "+l.mirror.Host+" ("+l.mirror.Host+"/team/app)") {
		t.Errorf("inspect -v does not say where it read from:\n%s", r.Stderr)
	}
	r = l.run(t, "tags", "list", ref[:strings.LastIndex(ref, ":")])
	if r.Stdout != "v1\n" {
		t.Errorf("tags list via the mirror: %q", r.Stdout)
	}

	// Writes go to the upstream only: copy reads its source from the
	// mirror and writes the upstream; delete goes to the upstream.
	l.mirror.Reset()
	l.up.Reset()
	l.run(t, "copy", ref, l.up.Host+"/team/app:v2")
	l.run(t, "delete", l.up.Host+"/team/app:v2")
	for _, rec := range l.mirror.Requests() {
		if rec.Method != "GET" && rec.Method != "HEAD" {
			t.Errorf("a write went to the mirror: %s %s", rec.Method, rec.Path)
		}
	}
	if l.up.Count("PUT", "/manifests/v2") != 1 || l.up.Count("DELETE", "/manifests/") == 0 || l.mirror.Count("GET", "/manifests/v1") != 1 {
		t.Errorf("copy and delete: %d manifest PUTs and %d DELETEs upstream, %d manifest GETs at the mirror",
			l.up.Count("PUT", "/manifests/v2"), l.up.Count("DELETE", "/manifests/"), l.mirror.Count("GET", "/manifests/v1"))
	}

	// --no-mirror reads the upstream itself, with the credentials.
	l.mirror.Reset()
	r = l.run(t, "--no-mirror", "digest", "--format", "json", ref)
	if got := decode(t, r.Stdout); got.Digest != want || got.Source != "upstream" || len(l.mirror.Requests()) != 0 {
		t.Errorf("--no-mirror digest: %s, %d mirror requests", r.Stdout, len(l.mirror.Requests()))
	}
	l.noAuthorization(t)
}

// TestMirrorStaleTag: the upstream moved the tag while the cache cannot
// reach it; the cache answers with its old copy, which ctl reports as read
// from the mirror and verifies, and --no-mirror sees the new one.
func TestMirrorStaleTag(t *testing.T) {
	t.Parallel()
	l := newMirrorLab(t)
	old, ref := l.cached(t)

	moved := mustDigest(t, l.upstream.PushRandomImage(t, "app:v1", 2, 4096)).String()
	l.remote.AddFault(testenv.Fault{PathRegexp: "/manifests/", Kind: testenv.FaultStatus, Status: 503})

	r := l.run(t, "digest", "--format", "json", ref)
	if got := decode(t, r.Stdout); got.Digest != old || got.Source != "mirror" || got.Mirror != l.mirror.Host {
		t.Errorf("digest through the stale cache: %s; want %s from the mirror", r.Stdout, old)
	}
	// The pull verifies what the cache serves against the stale digest.
	e2 := l.emptyStore(t)
	r = e2.Run(t, "pull", "--format", "json", ref)
	if got := decode(t, r.Stdout); r.Code != 0 || got.Digest != old || got.Source != "mirror" {
		t.Errorf("pull through the stale cache: exit %d %s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if n := len(l.up.Requests()); n != 0 {
		t.Errorf("ctl sent %d requests to the upstream while the mirror served", n)
	}
	r = l.run(t, "--no-mirror", "digest", "--format", "json", ref)
	if got := decode(t, r.Stdout); got.Digest != moved || got.Source != "upstream" {
		t.Errorf("--no-mirror digest: %s; want %s", r.Stdout, moved)
	}
	l.noAuthorization(t)
}

// TestMirrorLying: a mirror whose bodies do not match their digests is
// skipped with a warning and the upstream serves, verified.
func TestMirrorLying(t *testing.T) {
	t.Parallel()
	l := newMirrorLab(t)
	want, ref := l.cached(t)
	l.mirror.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/blobs/", Kind: testenv.FaultCorruptBody, Bytes: 100})
	l.mirror.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/manifests/sha256:", Kind: testenv.FaultCorruptBody, Bytes: 20})

	e2 := l.emptyStore(t)
	r := e2.Run(t, "pull", "--format", "json", ref)
	if got := decode(t, r.Stdout); r.Code != 0 || got.Digest != want || got.Source != "upstream" {
		t.Fatalf("pull past a lying mirror: exit %d %s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "Warning: mirror "+l.mirror.Host+" skipped for "+ref) || !strings.Contains(r.Stderr, "digest") {
		t.Errorf("pull: no warning about the lying mirror:\n%s", r.Stderr)
	}
	if l.up.Count("GET", "/blobs/") != 3 {
		t.Errorf("the upstream served %d blobs; want 3", l.up.Count("GET", "/blobs/"))
	}
	r = l.run(t, "manifest", "get", l.up.Host+"/app@"+want)
	if !strings.Contains(r.Stderr, "Warning: mirror "+l.mirror.Host+" skipped") || r.Stdout == "" {
		t.Errorf("manifest get by digest past a lying mirror:\n%s", r.Stderr)
	}
	l.noAuthorization(t)
}

// TestMirrorBadEntries: a mirror entry that is not HOST[:PORT][/PATH] is
// invalid input (exit 2) naming where it was written.
func TestMirrorBadEntries(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  map[string]any
		args []string
		want string
	}{
		{map[string]any{"registry-mirrors": []string{"https://mirror.gcr.io", "mirror:5000/UP"}}, nil, "registry-mirrors in "},
		{map[string]any{"mirrors": map[string][]string{"ghcr.io": {"cache.local:5000/ghcr", "not a mirror"}}}, nil, `mirrors["ghcr.io"] in `},
		{map[string]any{"mirrors": map[string][]string{"ghcr.io/org": {"cache.local:5000"}}}, nil, `mirrors["ghcr.io/org"] in `},
		{nil, []string{"--registry-mirror", "ghcr.io=cache.local:5000?x"}, `--registry-mirror "ghcr.io=cache.local:5000?x"`},
	} {
		e := testenv.NewEnv(t)
		if tc.cfg != nil {
			writeCtlConfig(t, e, tc.cfg)
		}
		r := e.Run(t, append(tc.args, "digest", "localhost:1/app:v1")...)
		if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) || !strings.Contains(r.Stderr, "HOST[:PORT]") {
			t.Errorf("%v %v: exit %d\n%s; want exit 2 naming %s", tc.cfg, tc.args, r.Code, r.Stderr, tc.want)
		}
	}
}

// TestDockerHubMirror: registry-mirrors (daemon.json's key) serves Docker
// Hub's names as docker maps them, docker.io/library/nginx as
// MIRROR/library/nginx, and the store keeps the image under its Hub name.
// The mirror holds the image, so Docker Hub itself is never contacted.
func TestDockerHubMirror(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	want := mustDigest(t, reg.PushRandomImage(t, "library/nginx:1.25", 1, 2048)).String()
	mirror := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	writeCtlConfig(t, e, map[string]any{"registry-mirrors": []string{"http://" + mirror.Host + "/"}})

	// Looking at a name without a registry looks in the store, and on a
	// fresh machine does not make one to look in.
	r := e.Run(t, "digest", "nginx:1.25")
	if r.Code != 0 || r.Stdout != want+"\n" {
		t.Errorf("digest before any pull: exit %d %q\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if _, err := os.Stat(e.Store); !os.IsNotExist(err) {
		t.Errorf("digest made the store %s (%v)", e.Store, err)
	}
	mirror.Reset()

	r = e.Run(t, "pull", "--format", "json", "nginx:1.25")
	if got := decode(t, r.Stdout); r.Code != 0 || got.Digest != want || got.Source != "mirror" || got.Mirror != mirror.Host {
		t.Fatalf("pull nginx:1.25 via registry-mirrors: exit %d %s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if n := mirror.Count("GET", "^/v2/library/nginx/manifests/1.25$"); n != 1 {
		t.Errorf("the mirror served the manifest %d times; want once", n)
	}
	r = e.Run(t, "images", "--format", "{{.Repository}}:{{.Tag}}")
	if r.Code != 0 || r.Stdout != "nginx:1.25\n" {
		t.Errorf("images after a mirrored pull: %q %s", r.Stdout, r.Stderr)
	}
	r = e.Run(t, "ref", "--format", "{{json .Mirrors}}", "nginx")
	if r.Stdout != `["`+mirror.Host+`/library/nginx"]`+"\n" {
		t.Errorf("ref: %q", r.Stdout)
	}
	// A pulled image is its registry's: digest asks the mirror again, as
	// crane would, not the store; a tag made in the store is a local image,
	// which the store answers (docs/design.md, "A name without a registry").
	r = e.Run(t, "digest", "--format", "json", "nginx:1.25")
	if got := decode(t, r.Stdout); r.Code != 0 || got.Digest != want || got.Source != "mirror" {
		t.Errorf("digest of a pulled image: exit %d %s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if n := mirror.Count("HEAD", "^/v2/library/nginx/manifests/1.25$"); n != 1 {
		t.Errorf("the mirror answered %d HEADs for the digest; want 1", n)
	}
	wantCode(t, e.Run(t, "tag", "nginx:1.25", "mine:v1"), 0)
	r = e.Run(t, "digest", "--format", "json", "mine:v1")
	if got := decode(t, r.Stdout); r.Code != 0 || got.Digest != want || got.Source != "local" {
		t.Errorf("digest of a local tag: exit %d %s\n%s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestMirrorFailingPartWay: a mirror that serves the manifest but fails
// its blobs (a cache missing them, an error, a cut connection) is skipped
// with a warning, and the upstream serves the whole pull or copy again.
func TestMirrorFailingPartWay(t *testing.T) {
	t.Parallel()
	l := newMirrorLab(t)
	want, ref := l.cached(t)
	for _, f := range []testenv.Fault{
		{Method: "GET", PathRegexp: "/blobs/", Kind: testenv.FaultStatus, Status: 404,
			Body: `{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}`},
		{Method: "GET", PathRegexp: "/blobs/", Kind: testenv.FaultStatus, Status: 500},
		{Method: "GET", PathRegexp: "/blobs/", Kind: testenv.FaultDropMidBody, Bytes: 100},
	} {
		l.mirror.ClearFaults()
		l.mirror.AddFault(f)
		l.up.Reset()
		e := l.emptyStore(t)
		r := e.Run(t, "pull", "--format", "json", ref)
		if got := decode(t, r.Stdout); r.Code != 0 || got.Digest != want || got.Source != "upstream" {
			t.Errorf("%v %d: pull past a mirror failing its blobs: exit %d %s\n%s", f.Kind, f.Status, r.Code, r.Stdout, r.Stderr)
		}
		if !strings.Contains(r.Stderr, "Warning: mirror "+l.mirror.Host+" skipped for "+ref) {
			t.Errorf("%v %d: pull: no warning about the mirror:\n%s", f.Kind, f.Status, r.Stderr)
		}
		if n := l.up.Count("GET", "/blobs/"); n != 3 {
			t.Errorf("%v %d: the upstream served %d blobs to the pull; want 3", f.Kind, f.Status, n)
		}
		to := testenv.StartRegistry(t, testenv.RegistryOptions{}).Host + "/app:v1" // lacking every blob
		r = e.Run(t, "copy", ref, to)
		if r.Code != 0 || !strings.Contains(r.Stderr, "Warning: mirror "+l.mirror.Host+" skipped for "+ref) {
			t.Errorf("%v %d: copy past a mirror failing its blobs: exit %d\n%s", f.Kind, f.Status, r.Code, r.Stderr)
		}
		if got := strings.TrimSpace(e.Run(t, "digest", to).Stdout); got != want {
			t.Errorf("%v %d: copied %s, want %s", f.Kind, f.Status, got, want)
		}
	}
	l.noAuthorization(t)
}

// TestMirrorFilledBySync: a mirror kept up to date by ctl sync and copy
// from the registry it mirrors, on a machine where it is configured as
// that mirror: the source is read from the registry, never from the
// mirror being written, so what is new or moved upstream is seen.
func TestMirrorFilledBySync(t *testing.T) {
	t.Parallel()
	up := testenv.StartRegistry(t, testenv.RegistryOptions{})
	cache := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	writeCtlConfig(t, e, map[string]any{"mirrors": map[string][]string{up.Host: {cache.Host + "/up"}}})
	src, dst := up.Host+"/app", cache.Host+"/up/app"
	up.PushRandomImage(t, "app:v1", 1, 1024)
	wantCode(t, e.Run(t, "sync", src, dst), 0)

	moved := mustDigest(t, up.PushRandomImage(t, "app:v1", 1, 1024)).String()
	added := mustDigest(t, up.PushRandomImage(t, "app:v2", 1, 1024)).String()
	if r := e.Run(t, "sync", "--check", src, dst); r.Code != 1 || !strings.Contains(r.Stdout, "app:v1") || !strings.Contains(r.Stdout, "app:v2") {
		t.Errorf("sync --check after the registry moved v1 and added v2: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	wantCode(t, e.Run(t, "sync", src, dst), 0)
	for tag, want := range map[string]string{"v1": moved, "v2": added} {
		if got := strings.TrimSpace(e.Run(t, "--no-mirror", "digest", dst+":"+tag).Stdout); got != want {
			t.Errorf("the mirror's %s after sync is %s; want the registry's %s", tag, got, want)
		}
	}

	moved = mustDigest(t, up.PushRandomImage(t, "app:v1", 1, 1024)).String()
	wantCode(t, e.Run(t, "copy", src+":v1", dst+":v1"), 0)
	if got := strings.TrimSpace(e.Run(t, "--no-mirror", "digest", dst+":v1").Stdout); got != moved {
		t.Errorf("the mirror's v1 after copy is %s; want the registry's %s", got, moved)
	}
	// Other reads still go to the mirror.
	if got := decode(t, e.Run(t, "digest", "--format", "json", src+":v1").Stdout); got.Source != "mirror" || got.Digest != moved {
		t.Errorf("digest through the refreshed mirror: %+v", got)
	}
}

// TestMirrorStaleTagReferrers: copy and pull --referrers through a stale
// cache take the referrers of the image the cache served, not those of
// the manifest the registry's tag points at now.
func TestMirrorStaleTagReferrers(t *testing.T) {
	t.Parallel()
	l := newMirrorLab(t)
	old, ref := l.cached(t)
	repo := l.upstream.ParseRef(t, "app:v1").Context()
	sign := func(digest string) string {
		t.Helper()
		subject, err := remote.Head(repo.Digest(digest), l.upstream.RemoteOptions()...)
		if err != nil {
			t.Fatal(err)
		}
		return testenv.Attach(t, repo, *subject, "application/vnd.example.sig", map[string]string{"of": digest}, l.upstream.RemoteOptions()...).Digest.String()
	}
	oldSig := sign(old)
	moved := mustDigest(t, l.upstream.PushRandomImage(t, "app:v1", 2, 4096)).String()
	movedSig := sign(moved)
	l.remote.AddFault(testenv.Fault{PathRegexp: "/manifests/", Kind: testenv.FaultStatus, Status: 503})

	dst := testenv.StartRegistry(t, testenv.RegistryOptions{}).Host + "/app:v1"
	r := l.run(t, "copy", "--referrers", ref, dst)
	if !strings.Contains(r.Stderr, "Copied 1 referrer") {
		t.Errorf("copy --referrers through the stale cache:\n%s", r.Stderr)
	}
	r = l.run(t, "referrers", "--format", "json", dst)
	if !strings.Contains(r.Stdout, `"digest":"`+old+`"`) || !strings.Contains(r.Stdout, oldSig) || strings.Contains(r.Stdout, movedSig) {
		t.Errorf("the copy's referrers: %s; want %s with %s only", r.Stdout, old, oldSig)
	}

	synced := testenv.StartRegistry(t, testenv.RegistryOptions{}).Host + "/app"
	l.run(t, "sync", "--referrers", ref[:strings.LastIndex(ref, ":")], synced)
	r = l.run(t, "referrers", "--format", "json", synced+":v1")
	if !strings.Contains(r.Stdout, `"digest":"`+old+`"`) || !strings.Contains(r.Stdout, oldSig) || strings.Contains(r.Stdout, movedSig) {
		t.Errorf("the sync's referrers: %s; want %s with %s only", r.Stdout, old, oldSig)
	}

	e := l.emptyStore(t)
	r = e.Run(t, "pull", "--referrers", "--format", "json", ref)
	// The image's result on stdout, the referrers stored on stderr.
	if r.Code != 0 || !strings.Contains(r.Stdout, old) || !strings.Contains(r.Stderr, oldSig) || strings.Contains(r.Stdout+r.Stderr, movedSig) {
		t.Errorf("pull --referrers through the stale cache: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	l.noAuthorization(t)
}
