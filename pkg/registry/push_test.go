package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/pkg/reference"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// fakeRegistry is ggcr's in-memory registry behind a hook that may answer a
// request itself (mounts, odd Locations, lying digests) and counts requests.
type fakeRegistry struct {
	*httptest.Server
	mu      sync.Mutex
	count   map[string]int            // "METHOD kind" → requests
	byAgent map[string]map[string]int // User-Agent → "METHOD kind" → requests (see countsOf)
	hook    func(w http.ResponseWriter, r *http.Request, next http.Handler) bool
}

func newFakeRegistry(t *testing.T) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{count: map[string]int{}, byAgent: map[string]map[string]int{}}
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		key := r.Method + " " + kind(r.URL.Path)
		f.count[key]++
		if f.byAgent[r.UserAgent()] == nil {
			f.byAgent[r.UserAgent()] = map[string]int{}
		}
		f.byAgent[r.UserAgent()][key]++
		hook := f.hook
		f.mu.Unlock()
		if hook != nil && hook(w, r, inner) {
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func kind(path string) string {
	switch {
	case path == "/v2/":
		return "ping"
	case strings.Contains(path, "/blobs/uploads"):
		return "upload"
	case strings.Contains(path, "/blobs/"):
		return "blob"
	case strings.Contains(path, "/manifests/"):
		return "manifest"
	}
	return path
}

func (f *fakeRegistry) counts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.count {
		out[k] = v
	}
	f.count = map[string]int{}
	return out
}

// countsOf returns and resets the counts of the requests of run: those
// of the client hostCacheClient made for it. Another run's requests do not
// count, such as a ping an earlier run sent beside its first request and
// dropped once that was answered, which can arrive late under load.
func (f *fakeRegistry) countsOf(run string) map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for ua, counts := range f.byAgent {
		if !strings.Contains(ua, run) {
			continue
		}
		for k, v := range counts {
			out[k] += v
		}
		delete(f.byAgent, ua)
	}
	return out
}

func (f *fakeRegistry) host() string { return strings.TrimPrefix(f.URL, "http://") }

// seeded starts a fake registry holding a random image (n layers of size
// bytes) at app:v1, with a client for it.
func seeded(t *testing.T, size, n int64) (*fakeRegistry, *Client, reference.Reference, v1.Image) {
	t.Helper()
	reg := newFakeRegistry(t)
	c := newShareClient(t)
	img, err := random.Image(size, n)
	if err != nil {
		t.Fatal(err)
	}
	ref := mustRef(t, reg.host()+"/app:v1")
	nref, _ := c.Ref(ref)
	if err := remote.Write(nref, img); err != nil {
		t.Fatal(err)
	}
	return reg, c, ref, img
}

func newShareClient(t *testing.T) *Client {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return c.WithJobs(8)
}

func TestPushAllTagsThenAgain(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	c := newShareClient(t)
	img, err := random.Image(1000, 10)
	if err != nil {
		t.Fatal(err)
	}
	var tags []PushTag
	for i := range 5 {
		tags = append(tags, PushTag{Tag: fmt.Sprintf("v%d", i), Artifact: img})
	}
	repo := mustRef(t, reg.host()+"/app")
	var pushed, exists int
	progress := func(e Event) {
		switch e.Kind {
		case BlobDone:
			pushed++
		case BlobExists:
			exists++
		}
	}
	res, err := c.Push(context.Background(), repo, tags, PushOptions{Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	for _, r := range res {
		if r.Digest != want || r.Unchanged {
			t.Errorf("first push %s: %+v, want digest %s changed", r.Tag, r, want)
		}
	}
	got := reg.counts()
	// One ping, one HEAD of the first tag, per blob a HEAD, a POST and a
	// PUT, and one PUT per tag: 1 + 1 + 11*3 + 5 = 40.
	if got["POST upload"] != 11 || got["PUT upload"] != 11 || got["PUT manifest"] != 5 || got["HEAD manifest"] != 1 || got["PATCH upload"] != 0 {
		t.Errorf("first push requests = %v", got)
	}
	if pushed != 11 || exists != 0 {
		t.Errorf("events: %d pushed, %d existing; want 11, 0", pushed, exists)
	}
	for _, tag := range tags {
		ref := mustRef(t, reg.host()+"/app:"+tag.Tag)
		nref, _ := c.Ref(ref)
		d, err := remote.Head(nref)
		if err != nil || d.Digest != want {
			t.Fatalf("%s: %v %v", tag.Tag, d, err)
		}
	}

	reg.counts() // forget the checks above
	res, err = c.Push(context.Background(), repo, tags, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if !r.Unchanged {
			t.Errorf("second push re-sent %s", r.Tag)
		}
	}
	got = reg.counts()
	// A ping (the client may remember it) and a HEAD per tag.
	if total := sum(got); total > 6 || got["HEAD manifest"] != 5 {
		t.Errorf("second push: %d requests %v, want at most 6 (ping + a HEAD per tag)", total, got)
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestUploadLocations checks that the upload URL is used as the registry
// gave it, relative or absolute, with its query (the _state) kept.
func TestUploadLocations(t *testing.T) {
	t.Parallel()
	for _, absolute := range []bool{false, true} {
		t.Run(fmt.Sprint("absolute=", absolute), func(t *testing.T) {
			t.Parallel()
			reg := newFakeRegistry(t)
			var bad []string
			var mu sync.Mutex
			reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				switch {
				case r.Method == http.MethodPost && kind(r.URL.Path) == "upload":
					rec := httptest.NewRecorder()
					next.ServeHTTP(rec, r)
					loc := rec.Header().Get("Location") + "?_state=abc%3D"
					if absolute {
						loc = reg.URL + loc
					}
					w.Header().Set("Location", loc)
					w.WriteHeader(rec.Code)
					return true
				case r.Method == http.MethodPut && kind(r.URL.Path) == "upload":
					if r.URL.Query().Get("_state") != "abc=" || r.URL.Query().Get("digest") == "" {
						mu.Lock()
						bad = append(bad, r.URL.String())
						mu.Unlock()
					}
				}
				return false
			}
			img, _ := random.Image(100, 2)
			_, err := newShareClient(t).Push(context.Background(), mustRef(t, reg.host()+"/loc"), []PushTag{{Tag: "t", Artifact: img}}, PushOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(bad) > 0 {
				t.Errorf("PUTs lost the Location's query: %v", bad)
			}
		})
	}
}

// TestMount covers both answers to a mount: 201 (done) and 202 (upload at
// the Location given).
func TestMount(t *testing.T) {
	t.Parallel()
	for _, status := range []int{http.StatusCreated, http.StatusAccepted} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			reg := newFakeRegistry(t)
			img, _ := random.Image(100, 1)
			layers, _ := img.Layers()
			ld, _ := layers[0].Digest()
			var mounts []string
			var mu sync.Mutex
			reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				if r.Method == http.MethodPost && r.URL.Query().Get("mount") != "" && r.URL.Query().Get("from") != "app" {
					mu.Lock()
					mounts = append(mounts, r.URL.Query().Get("mount")+" from "+r.URL.Query().Get("from"))
					mu.Unlock()
					if status == http.StatusCreated {
						// Make the blob really exist so the manifest PUT passes.
						l, _ := img.LayerByDigest(v1.Hash(ld))
						rc, _ := l.Compressed()
						defer rc.Close()
						up := httptest.NewRecorder()
						next.ServeHTTP(up, httptest.NewRequest(http.MethodPost, "/v2/other/blobs/uploads/?digest="+ld.String(), rc))
						w.WriteHeader(http.StatusCreated)
						return true
					}
					r.URL.RawQuery = "" // the fake does not mount: an upload session
				}
				return false
			}
			var events []string
			progress := func(e Event) {
				if e.Layer && (e.Kind == BlobMounted || e.Kind == BlobDone) {
					events = append(events, fmt.Sprint(e.Kind, " ", e.From))
				}
			}
			srcs := map[v1.Hash][]string{ld: {"other"}}
			_, err := newShareClient(t).Push(context.Background(), mustRef(t, reg.host()+"/app"), []PushTag{{Tag: "t", Artifact: img}}, PushOptions{Sources: srcs, Progress: progress})
			if err != nil {
				t.Fatal(err)
			}
			if len(mounts) != 1 || mounts[0] != ld.String()+" from other" {
				t.Errorf("mount requests = %v", mounts)
			}
			want := fmt.Sprint(BlobMounted, " other")
			if status == http.StatusAccepted {
				want = fmt.Sprint(BlobDone, " ")
			}
			if len(events) != 1 || events[0] != want {
				t.Errorf("events = %q, want %q", events, want)
			}
		})
	}
}

func TestManifestDigestMismatch(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method == http.MethodPut && kind(r.URL.Path) == "manifest" {
			w.Header().Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64))
			w.WriteHeader(http.StatusCreated)
			return true
		}
		return false
	}
	img, _ := random.Image(100, 1)
	_, err := newShareClient(t).Push(context.Background(), mustRef(t, reg.host()+"/app"), []PushTag{{Tag: "t", Artifact: img}}, PushOptions{})
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("err = %v, want ErrDigestMismatch", err)
	}
}

// TestPushRetriesBrokenUpload: a reset in the middle of a PUT and a 503
// are survived by starting the blob's upload again.
func TestPushRetriesBrokenUpload(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	var mu sync.Mutex
	failures := 2
	reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPut && kind(r.URL.Path) == "upload" && failures > 0 {
			failures--
			if failures == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return true
			}
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return true
		}
		return false
	}
	img, _ := random.Image(5000, 2)
	c := newShareClient(t)
	if _, err := c.Push(context.Background(), mustRef(t, reg.host()+"/app"), []PushTag{{Tag: "t", Artifact: img}}, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	nref, _ := c.Ref(mustRef(t, reg.host()+"/app:t"))
	got, err := remote.Image(nref)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatal(err)
	}
}

// TestPushOneTagSpeculative: one tag is HEADed together with its blobs; a
// first push saves the round trip, and when the tag already points at the
// image nothing is uploaded even if a blob HEAD says it is missing.
func TestPushOneTagSpeculative(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	c := newShareClient(t)
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: mustRandom(t)}, mutate.IndexAddendum{Add: mustRandom(t)})
	for _, a := range []Artifact{mustRandom(t), idx} {
		repo := mustRef(t, reg.host()+"/one")
		if _, err := c.Push(context.Background(), repo, []PushTag{{Tag: "t", Artifact: a}}, PushOptions{}); err != nil {
			t.Fatal(err)
		}
		reg.counts()
		reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
			if r.Method == http.MethodHead && kind(r.URL.Path) == "blob" {
				w.WriteHeader(http.StatusNotFound)
				return true
			}
			return false
		}
		res, err := c.Push(context.Background(), repo, []PushTag{{Tag: "t", Artifact: a}}, PushOptions{})
		reg.hook = nil
		if err != nil {
			t.Fatal(err)
		}
		got := reg.counts()
		if !res[0].Unchanged || got["POST upload"] != 0 || got["PUT upload"] != 0 || got["PUT manifest"] != 0 {
			t.Errorf("%T pushed again: %+v, requests %v", a, res[0], got)
		}
	}
}

func mustRandom(t *testing.T) v1.Image {
	t.Helper()
	img, err := random.Image(100, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestPushCancelDeletesUpload: cancelling a push mid-upload abandons the
// upload session with a DELETE of its Location and sends no manifest.
func TestPushCancelDeletesUpload(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var deletes []string
	reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		switch {
		case r.Method == http.MethodPut && kind(r.URL.Path) == "upload":
			// Read the body first: only then does the server notice the
			// client going away.
			_, _ = io.Copy(io.Discard, r.Body)
			cancel()
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return true
		case r.Method == http.MethodDelete:
			mu.Lock()
			deletes = append(deletes, r.URL.Path)
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
			return true
		}
		return false
	}
	img, _ := random.Image(1000, 1)
	_, err := newShareClient(t).Push(ctx, mustRef(t, reg.host()+"/app"), []PushTag{{Tag: "t", Artifact: img}}, PushOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(deletes) == 0 || !strings.Contains(deletes[0], "/blobs/uploads/") {
		t.Errorf("upload sessions deleted: %v", deletes)
	}
	if n := reg.counts()["PUT manifest"]; n != 0 {
		t.Errorf("%d manifest PUTs after cancel", n)
	}
}

// TestPushNewTagProbesBesideHead: on a host known open (here learnt from
// a 404, as a registry wanting a token answers 401 instead), a tag the
// caller marks New has its blobs probed while the tag's HEAD is still
// unanswered, a round trip less; any other tag's HEAD is answered before
// a blob is asked about. A New tag that was there after all is left
// unchanged: its probes found every blob, and nothing is written.
func TestPushNewTagProbesBesideHead(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	// Another run of ctl sharing the host cache learns that the host is
	// open; only the pushing run's requests count (see countsOf).
	dir := t.TempDir()
	learner := hostCacheClient(t, dir, "run-learner")
	c := hostCacheClient(t, dir, "run-pusher")
	ctx := context.Background()
	repo := mustRef(t, reg.host()+"/app")
	if _, _, err := learner.Digest(ctx, mustRef(t, reg.host()+"/app:none"), nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("digest of a missing tag: %v", err)
	}
	var (
		mu       sync.Mutex
		order    []string
		posted   = make(chan struct{})
		postOnce sync.Once
	)
	note := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		switch {
		case r.Method == http.MethodPost:
			note("POST")
			postOnce.Do(func() { close(posted) })
			return mountsFromItself(w, r, next)
		case r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/"):
			if strings.HasSuffix(r.URL.Path, "/new") {
				// Held until a probe arrives: it must not wait for this answer.
				select {
				case <-posted:
				case <-time.After(10 * time.Second):
				}
			}
			note("HEAD answered")
		}
		return false
	}
	push := func(tag string, img v1.Image, isNew bool) (PushResult, map[string]int, []string) {
		t.Helper()
		mu.Lock()
		order = nil
		mu.Unlock()
		reg.countsOf("run-pusher")
		var exists atomic.Int32
		opts := PushOptions{Progress: func(e Event) {
			if e.Kind == BlobExists {
				exists.Add(1)
			}
		}}
		res, err := c.Push(ctx, repo, []PushTag{{Tag: tag, Artifact: img, New: isNew}}, opts)
		if err != nil || len(res) != 1 {
			t.Fatalf("push %s: %+v, %v", tag, res, err)
		}
		mu.Lock()
		defer mu.Unlock()
		return res[0], reg.countsOf("run-pusher"), append(order, fmt.Sprint(exists.Load(), " existing"))
	}
	img, err := random.Image(100, 3)
	if err != nil {
		t.Fatal(err)
	}
	res, got, order := push("new", img, true)
	if res.Unchanged || order[0] != "POST" || got["PUT manifest"] != 1 || got["GET ping"] != 0 {
		t.Errorf("new tag: %+v, %v, order %v; want a probe before the HEAD's answer, no ping", res, got, order)
	}
	res, got, order = push("new", img, true)
	if !res.Unchanged || got["PUT upload"] != 0 || got["PUT manifest"] != 0 || got["POST upload"] != 4 || order[len(order)-1] != "4 existing" {
		t.Errorf("new tag already there: %+v, %v, %v; want it unchanged, every blob found by its probe", res, got, order)
	}
	other, err := random.Image(100, 3)
	if err != nil {
		t.Fatal(err)
	}
	res, got, order = push("old", other, false)
	if res.Unchanged || order[0] != "HEAD answered" || got["POST upload"] != 4 {
		t.Errorf("tag not marked new: %+v, %v, order %v; want the HEAD answered first", res, got, order)
	}
	if late := reg.countsOf("run-pusher"); late["GET ping"] != 0 {
		t.Errorf("the pushes pinged after they were counted: %v", late)
	}
}
