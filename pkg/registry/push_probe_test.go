package registry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// mountsFromItself answers, as distribution does, a mount from the pushed
// repository itself: 201 with the digest when the repository has the
// blob; otherwise the POST goes on as a plain one, to an upload session.
// (The fake itself ignores mount, as many registries do: always 202.)
func mountsFromItself(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
	d := r.URL.Query().Get("mount")
	if r.Method != http.MethodPost || d == "" {
		return false
	}
	blobs := strings.TrimSuffix(r.URL.Path, "uploads/")
	head := httptest.NewRecorder()
	next.ServeHTTP(head, httptest.NewRequest(http.MethodHead, blobs+d, nil))
	if head.Code == http.StatusOK && "/v2/"+r.URL.Query().Get("from")+"/blobs/" == blobs {
		w.Header().Set("Docker-Content-Digest", d)
		w.Header().Set("Location", blobs+d)
		w.WriteHeader(http.StatusCreated)
		return true
	}
	r.URL.RawQuery = ""
	return false
}

// probePush pushes img as repo:tag with a client of its own keeping its
// host cache in dir (a run of ctl) and returns the requests it sent, how
// many layers it found there and how many it uploaded.
func probePush(t *testing.T, reg *fakeRegistry, dir, run, tag string, img v1.Image) (map[string]int, int32, int32) {
	t.Helper()
	var exists, done atomic.Int32
	progress := func(e Event) {
		switch {
		case e.Kind == BlobExists && e.Layer:
			exists.Add(1)
		case e.Kind == BlobDone:
			done.Add(1)
		}
	}
	c := hostCacheClient(t, dir, run)
	if _, err := c.Push(context.Background(), mustRef(t, reg.host()+"/app"), []PushTag{{Tag: tag, Artifact: img}}, PushOptions{Progress: progress}); err != nil {
		t.Fatalf("%s: %v", run, err)
	}
	return reg.countsOf(run), exists.Load(), done.Load()
}

// grown is img with one more random layer.
func grown(t *testing.T, img v1.Image) v1.Image {
	t.Helper()
	l, err := random.Layer(100, "application/vnd.docker.image.rootfs.diff.tar.gzip")
	if err != nil {
		t.Fatal(err)
	}
	out, err := mutate.AppendLayers(img, l)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPushAlways202Registry: a registry that answers every mount from
// the pushed repository with 202 and a session (the fake, as many
// registries that only mount across repositories) is found out on the
// first blob it has, by the HEAD sent beside the probe: the blobs it has
// are reported there (Layer already exists) and not sent again, their
// sessions are deleted, and later runs HEAD then POST without probing.
func TestPushAlways202Registry(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	dir := t.TempDir()
	base := mustRandom(t) // a config and 2 layers
	if got, exists, done := probePush(t, reg, dir, "run1-", "v1", base); exists != 0 || done != 3 || got["HEAD blob"] != 3 || got["POST upload"] != 3 {
		t.Errorf("first push: %v, %d existing, %d uploaded; want HEAD and probe per blob, 3 uploaded", got, exists, done)
	}
	more := grown(t, base)
	got, exists, done := probePush(t, reg, dir, "run2-", "v2", more)
	// Blobs probed before the host was found out had sessions opened: each
	// not used is deleted.
	if exists != 2 || done != 2 || got["PUT upload"] != 2 || got["DELETE upload"] == 0 || got["POST upload"]-got["PUT upload"] != got["DELETE upload"] {
		t.Errorf("push of 2 layers the registry has: %v, %d existing, %d uploaded; want 2 existing, their sessions deleted, the new config and layer uploaded", got, exists, done)
	}
	// Remembered in the host cache: HEAD, and POST only for what is missing.
	got, exists, done = probePush(t, reg, dir, "run3-", "v3", grown(t, more))
	if exists != 3 || done != 2 || got["HEAD blob"] != 5 || got["POST upload"] != 2 || got["DELETE upload"] != 0 {
		t.Errorf("push to a host known not to mount: %v, %d existing, %d uploaded; want a HEAD per blob, POSTs for the 2 missing", got, exists, done)
	}
}

// TestPushSameRepoMountProven: a registry that mounts from the pushed
// repository itself is proven by its 201 for a blob a HEAD found, and
// from then on, in later runs too, each blob costs the probe alone.
func TestPushSameRepoMountProven(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	reg.hook = mountsFromItself
	dir := t.TempDir()
	base := mustRandom(t)
	if got, _, _ := probePush(t, reg, dir, "run1-", "v1", base); got["HEAD blob"] != 3 || got["POST upload"] != 3 {
		t.Errorf("first push: %v, want HEAD and probe per blob", got)
	}
	more := grown(t, base)
	if got, exists, done := probePush(t, reg, dir, "run2-", "v2", more); exists != 2 || done != 2 || got["PUT upload"] != 2 || got["DELETE upload"] != 0 {
		t.Errorf("push of 2 layers the registry has: %v, %d existing, %d uploaded", got, exists, done)
	}
	got, exists, done := probePush(t, reg, dir, "run3-", "v3", grown(t, more))
	if exists != 3 || done != 2 || got["HEAD blob"] != 0 || got["POST upload"] != 5 || got["PUT upload"] != 2 {
		t.Errorf("push to a host known to mount: %v, %d existing, %d uploaded; want a probe per blob and no HEAD", got, exists, done)
	}
}
