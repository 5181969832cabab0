package registry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/pkg/reference"
	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestParseMirror(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Mirror // zero: invalid
	}{
		{"m:5000", Mirror{Host: "m:5000"}},
		{"Cache.Local:5000/ghcr", Mirror{Host: "cache.local:5000", Prefix: "ghcr"}},
		{"https://mirror.gcr.io/", Mirror{Host: "mirror.gcr.io"}}, // daemon.json's form
		{"http://10.0.0.5:5000", Mirror{Host: "10.0.0.5:5000", PlainHTTP: true}},
		{"localhost:5000/a/b-c", Mirror{Host: "localhost:5000", Prefix: "a/b-c"}},
		{"", Mirror{}},
		{"https://", Mirror{}},
		{"m:5000/GHCR", Mirror{}},         // uppercase path
		{"m:5000?x=1", Mirror{}},          // a query
		{"m:5000//x", Mirror{}},           // empty component
		{"mirror/ghcr", Mirror{}},         // "mirror" is a path, not a host
		{"user@m:5000", Mirror{}},         // user info
		{"m:5000/app:v1", Mirror{}},       // a tag
		{"ftp://m:5000", Mirror{}},        // another scheme
		{"m: 5000", Mirror{}},             // a space
		{"m:5000/x@sha256:abc", Mirror{}}, // a digest
	} {
		got, err := ParseMirror(tc.in)
		if tc.want == (Mirror{}) {
			// The error names the part at fault, never the reference
			// made up to check it ("m/x").
			if err == nil || !errors.Is(err, ErrInvalidMirror) || !strings.Contains(err.Error(), "HOST[:PORT][/PATH]") || strings.Contains(err.Error(), "invalid reference") {
				t.Errorf("ParseMirror(%q) = %+v, %v; want ErrInvalidMirror", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseMirror(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestMirroredRegistry(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"docker.io": "docker.io", "index.docker.io": "docker.io", "registry-1.docker.io": "docker.io",
		"Index.Docker.io": "docker.io", "REGISTRY-1.DOCKER.IO": "docker.io", "Docker.IO": "docker.io",
		"GHCR.io": "ghcr.io", "reg.lan:5000": "reg.lan:5000",
		"ghcr.io/org": "", "nginx": "", "": "", "a b": "",
	} {
		got, err := MirroredRegistry(in)
		if want == "" && err == nil || want != "" && (err != nil || got != want) {
			t.Errorf("MirroredRegistry(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestSources checks the mapping of repositories onto mirrors: docker's
// for Docker Hub (the path as it is, library/ included), a prefix put in
// front of the path, and the registry itself last.
func TestSources(t *testing.T) {
	t.Parallel()
	ms := Mirrors{}
	ms.Add("docker.io", Mirror{Host: "m:5000"}, Mirror{Host: "c.local", Prefix: "hub"}, Mirror{Host: "m:5000"})
	ms.Add("ghcr.io", Mirror{Host: "c.local", Prefix: "ghcr"})
	for ref, want := range map[string]string{
		"nginx":                  "m:5000/library/nginx c.local/hub/library/nginx docker.io/library/nginx",
		"index.docker.io/a/b:v1": "m:5000/a/b c.local/hub/a/b docker.io/a/b",
		"ghcr.io/org/app@sha256:" + strings.Repeat("a", 64): "c.local/ghcr/org/app ghcr.io/org/app",
		"quay.io/x/y": "quay.io/x/y",
	} {
		var got []string
		for _, s := range ms.Sources(mustRef(t, ref)) {
			got = append(got, s.String())
		}
		if strings.Join(got, " ") != want {
			t.Errorf("Sources(%s) = %v; want %s", ref, got, want)
		}
	}
}

// mirrorSetup is an upstream registry holding app:v1, and a client whose
// mirrors for it are, in order: a closed port, a registry without the
// image, a lying one (hook set by the test) and a good one that holds the
// image under the prefix "cache".
type mirrorSetup struct {
	upstream, empty, liar, good *fakeRegistry
	c                           *Client
	dead                        string
	mu                          sync.Mutex
	events                      []SourceEvent
}

func newMirrorSetup(t *testing.T) (*mirrorSetup, string) {
	t.Helper()
	m := &mirrorSetup{upstream: newFakeRegistry(t), empty: newFakeRegistry(t), liar: newFakeRegistry(t), good: newFakeRegistry(t)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m.dead = l.Addr().String()
	l.Close()
	img, err := random.Image(1000, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []string{m.upstream.host() + "/app:v1", m.liar.host() + "/app:v1", m.good.host() + "/cache/app:v1"} {
		nref, err := newTestClient(t).Ref(mustRef(t, at))
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(nref, img); err != nil {
			t.Fatal(err)
		}
	}
	ms := Mirrors{}
	ms.Add(m.upstream.host(), Mirror{Host: m.dead}, Mirror{Host: m.empty.host()}, Mirror{Host: m.liar.host()})
	m.c, err = New(WithMirrors(ms), WithSourceFunc(func(e SourceEvent) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.events = append(m.events, e)
	}))
	if err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return m, d.String()
}

// skipped returns the mirrors skipped since the last call, with the
// errors that made them be, and the source that answered.
func (m *mirrorSetup) skipped() (map[string]error, Source) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out, served := map[string]error{}, Source{}
	for _, e := range m.events {
		if e.Err != nil {
			out[e.Source.Host] = e.Err
		} else {
			served = e.Source
		}
	}
	m.events = nil
	return out, served
}

func TestReadFallsThroughMirrors(t *testing.T) {
	t.Parallel()
	m, digest := newMirrorSetup(t)
	ctx := context.Background()
	ref := mustRef(t, m.upstream.host()+"/app:v1")
	byDigest := mustRef(t, m.upstream.host()+"/app@"+digest)

	// The liar answers the tag: it serves it, and is reported as a mirror.
	d, src, err := m.c.Digest(ctx, ref, nil)
	if err != nil || d.String() != digest || src.Host != m.liar.host() || src.Kind() != "mirror" {
		t.Fatalf("Digest via mirrors = %s, %+v, %v; want %s from %s", d, src, err, digest, m.liar.host())
	}
	skipped, served := m.skipped()
	if _, ok := skipped[m.dead]; !ok || !errors.Is(skipped[m.empty.host()], ErrNotFound) || served != src {
		t.Errorf("skipped %v, served by %+v", skipped, served)
	}

	// Now it lies: a manifest by digest answered with other content, and
	// blobs corrupted. Each read skips it with ErrDigestMismatch and gets
	// the upstream's verified answer.
	m.liar.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method != http.MethodGet || r.URL.Path == "/v2/" {
			return false
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		b := rec.Body.Bytes()
		if len(b) > 0 {
			b[len(b)-2] ^= 0x01
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		io.Copy(w, bytes.NewReader(b))
		return true
	}
	m.upstream.counts()
	man, err := m.c.GetManifest(ctx, byDigest, nil)
	if err != nil || man.Digest.String() != digest || man.Source.IsMirror() {
		t.Fatalf("GetManifest by digest = %+v, %v; want the upstream's", man, err)
	}
	if skipped, _ := m.skipped(); !errors.Is(skipped[m.liar.host()], ErrDigestMismatch) {
		t.Errorf("lying mirror: skipped %v, want %s with ErrDigestMismatch", skipped, m.liar.host())
	}
	sink := newMemSink()
	started := 0
	res, err := m.c.Pull(ctx, ref, sink, PullOptions{Started: func(reference.Reference) { started++ }})
	if err != nil || res.Digest.String() != digest || res.Source.IsMirror() || len(sink.blobs) != 3 {
		t.Fatalf("Pull past a lying mirror = %+v, %v (%d blobs)", res, err, len(sink.blobs))
	}
	if started != 1 {
		t.Errorf("the pull was announced %d times; want once, whatever sources it tried", started)
	}
	if skipped, _ := m.skipped(); !errors.Is(skipped[m.liar.host()], ErrDigestMismatch) {
		t.Errorf("pull: skipped %v, want %s with ErrDigestMismatch", skipped, m.liar.host())
	}
	if got := m.upstream.counts(); got["GET manifest"] != 2 {
		t.Errorf("upstream requests: %v; want the manifest twice (get, pull)", got)
	}

	// A prefixed mirror that holds the image serves everything; the
	// upstream sees nothing.
	ms := Mirrors{}
	ms.Add(m.upstream.host(), Mirror{Host: m.good.host(), Prefix: "cache"})
	c, err := New(WithMirrors(ms))
	if err != nil {
		t.Fatal(err)
	}
	m.good.counts()
	tags, err := c.ListTags(ctx, ref, 0)
	if err != nil || len(tags) != 1 || tags[0] != "v1" {
		t.Errorf("ListTags via a prefixed mirror: %v, %v", tags, err)
	}
	in, err := c.Inspect(ctx, ref, nil)
	if err != nil || in.Source != "mirror" || in.Mirror != m.good.host()+"/cache" || in.Digest != digest {
		t.Errorf("Inspect via a prefixed mirror: %+v, %v", in, err)
	}
	if got := m.upstream.counts(); len(got) != 0 {
		t.Errorf("upstream got requests while the mirror served: %v", got)
	}
	if got := m.good.counts(); got["GET manifest"] != 1 || got["GET /v2/cache/app/tags/list"] != 1 {
		t.Errorf("mirror requests: %v", got)
	}

	// Writes never go to a mirror.
	dst := mustRef(t, m.upstream.host()+"/app:v2")
	if _, err := c.Copy(ctx, ref, dst, CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := m.good.counts(); got["PUT manifest"] != 0 || got["GET manifest"] != 1 {
		t.Errorf("copy: mirror requests %v; want the source read only", got)
	}
	if got := m.upstream.counts(); got["PUT manifest"] != 1 {
		t.Errorf("copy: upstream requests %v; want the manifest written there", got)
	}
}

// TestMirrorUnreachableIsQuick: a dead mirror costs one try, not the
// registry's retry budget; the registry's own failure is the error.
func TestMirrorUnreachableIsQuick(t *testing.T) {
	t.Parallel()
	dead := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	var tries int
	var mu sync.Mutex
	mirror := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tries++
		mu.Unlock()
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	up := dead()
	ms := Mirrors{}
	ms.Add(up, Mirror{Host: dead()}, Mirror{Host: hostOf(mirror)})
	c, err := New(WithMirrors(ms), WithRetryPolicy(ctltransport.RetryPolicy{Attempts: 3, Backoff: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.Digest(context.Background(), mustRef(t, up+"/app:v1"), nil)
	var ue *unreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), up) {
		t.Errorf("all sources down: %v; want the registry's own unreachable error", err)
	}
	// One try (the registry's budget would be 3).
	if tries != 1 {
		t.Errorf("the 503 mirror got %d requests; want 1", tries)
	}
}

// TestMirrorLackingATagFallsThrough: reads of tags given by the caller (a
// listing, perhaps from another source) treat a mirror's not found as the
// mirror's failure, not as the tag being gone: the next source answers.
func TestMirrorLackingATagFallsThrough(t *testing.T) {
	t.Parallel()
	m, digest := newMirrorSetup(t)
	ctx := context.Background()
	repo := mustRef(t, m.upstream.host()+"/app")
	ms := Mirrors{}
	ms.Add(m.upstream.host(), Mirror{Host: m.empty.host()}, Mirror{Host: m.good.host(), Prefix: "cache"})
	c, err := New(WithMirrors(ms))
	if err != nil {
		t.Fatal(err)
	}
	details, err := c.TagDetails(ctx, repo, []string{"v1"}, nil)
	if err != nil || len(details) != 1 || details[0].Digest != digest {
		t.Errorf("TagDetails past a mirror without the tag = %+v, %v; want v1 at %s", details, err, digest)
	}
	_, found, err := c.ResolveTags(ctx, repo, []string{"v1", digest}, false, nil)
	if err != nil || found["v1"].String() != digest || found[digest].String() != digest {
		t.Errorf("ResolveTags past a mirror without the tag = %v, %v; want v1 and its digest at %s", found, err, digest)
	}
	// The registry's own not found still means gone.
	details, err = c.TagDetails(ctx, repo, []string{"v1", "gone"}, nil)
	if err != nil || len(details) != 1 || details[0].Tag != "v1" {
		t.Errorf("TagDetails of a tag gone from the registry = %+v, %v; want v1 alone", details, err)
	}
	_, found, err = c.ResolveTags(ctx, repo, []string{"gone"}, false, nil)
	if _, ok := found["gone"]; err != nil || ok {
		t.Errorf("ResolveTags of a tag gone from the registry = %v, %v; want it absent", found, err)
	}
}

// TestCopyPastALyingMirrorAnnouncesOnce: a mirror whose blobs do not match
// their digests fails the copy part way; the registry serves it all again,
// and the copy is announced once.
func TestCopyPastALyingMirrorAnnouncesOnce(t *testing.T) {
	t.Parallel()
	m, digest := newMirrorSetup(t)
	m.liar.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
			return false
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		b := rec.Body.Bytes()
		b[len(b)/2] ^= 0x01
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(b)
		return true
	}
	dst := newFakeRegistry(t)
	pushing := 0
	res, err := m.c.Copy(context.Background(), mustRef(t, m.upstream.host()+"/app:v1"), mustRef(t, dst.host()+"/app:v1"),
		CopyOptions{Pushing: func() { pushing++ }})
	if err != nil || len(res) != 1 || res[0].Digest.String() != digest {
		t.Fatalf("Copy past a lying mirror = %+v, %v; want %s", res, err, digest)
	}
	if skipped, _ := m.skipped(); !errors.Is(skipped[m.liar.host()], ErrDigestMismatch) {
		t.Errorf("skipped %v, want %s with ErrDigestMismatch", skipped, m.liar.host())
	}
	if pushing != 1 {
		t.Errorf("the copy was announced %d times; want once", pushing)
	}
}

// TestWithoutMirrorAt: the mirror that is a copy's destination is not read
// for its source; the others are, and other registries keep theirs.
func TestWithoutMirrorAt(t *testing.T) {
	t.Parallel()
	ms := Mirrors{}
	ms.Add("ghcr.io", Mirror{Host: "cache.lan:5000", Prefix: "ghcr"}, Mirror{Host: "other.lan"})
	ms.Add("docker.io", Mirror{Host: "cache.lan:5000"})
	c, err := New(WithMirrors(ms))
	if err != nil {
		t.Fatal(err)
	}
	src := mustRef(t, "ghcr.io/org/app:v1")
	sources := func(c *Client, r reference.Reference) (out []string) {
		for _, s := range c.Sources(r) {
			out = append(out, s.String())
		}
		return out
	}
	for dst, want := range map[string]string{
		"CACHE.lan:5000/ghcr/org/app:v1": "other.lan/org/app ghcr.io/org/app",
		"cache.lan:5000/ghcr/org/app":    "other.lan/org/app ghcr.io/org/app",
		"cache.lan:5000/org/app:v1":      "cache.lan:5000/ghcr/org/app other.lan/org/app ghcr.io/org/app",
		"other.lan/org/app:v2":           "cache.lan:5000/ghcr/org/app ghcr.io/org/app",
		"registry.lan/org/app:v1":        "cache.lan:5000/ghcr/org/app other.lan/org/app ghcr.io/org/app",
	} {
		cc := c.WithoutMirrorAt(src, mustRef(t, dst))
		if got := strings.Join(sources(cc, src), " "); got != want {
			t.Errorf("WithoutMirrorAt(%s, %s) reads %s; want %s", src, dst, got, want)
		}
		if got := strings.Join(sources(cc, mustRef(t, "nginx")), " "); got != "cache.lan:5000/library/nginx docker.io/library/nginx" {
			t.Errorf("WithoutMirrorAt(%s, %s) changed Docker Hub's mirrors: %s", src, dst, got)
		}
	}
	if got := strings.Join(sources(c, src), " "); got != "cache.lan:5000/ghcr/org/app other.lan/org/app ghcr.io/org/app" {
		t.Errorf("WithoutMirrorAt changed the client it was called on: %s", got)
	}
}

// TestMirrorListingNoTags: a mirror that lists no tags of the repository
// (it deleted them all) is skipped for the registry's listing.
func TestMirrorListingNoTags(t *testing.T) {
	t.Parallel()
	m, _ := newMirrorSetup(t)
	empty := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/" {
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"name":"app","tags":[]}`)
	})
	ms := Mirrors{}
	ms.Add(m.upstream.host(), Mirror{Host: hostOf(empty)})
	c, err := New(WithMirrors(ms))
	if err != nil {
		t.Fatal(err)
	}
	repo := mustRef(t, m.upstream.host()+"/app")
	if tags, err := c.ListTags(context.Background(), repo, 0); err != nil || strings.Join(tags, " ") != "v1" {
		t.Errorf("ListTags past a mirror listing no tags = %v, %v; want the registry's v1", tags, err)
	}
	if listed, _, err := c.ResolveTags(context.Background(), repo, nil, true, func([]string) []string { return nil }); err != nil || strings.Join(listed, " ") != "v1" {
		t.Errorf("ResolveTags past a mirror listing no tags = %v, %v; want the registry's v1", listed, err)
	}
}
