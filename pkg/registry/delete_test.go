package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// digestOnly is a registry that stores manifests by digest and tags that
// point to them, deletes manifests only by digest (taking their tags with
// them) and refuses tag deletion, like registries without OCI tag delete.
type digestOnly struct {
	mu        sync.Mutex
	manifests map[string][]byte // digest → bytes
	tags      map[string]string // tag → digest
	accepts   []string          // Accept header of every HEAD
	deletes   []string          // every DELETE target
	noDigest  bool              // omit Docker-Content-Digest on HEAD
	tagStatus int               // answer to DELETE of a tag
}

func newDigestOnly(t *testing.T) (*digestOnly, *httptest.Server) {
	d := &digestOnly{manifests: map[string][]byte{}, tags: map[string]string{}, tagStatus: http.StatusMethodNotAllowed}
	srv := fakeServer(t, d.serve)
	return d, srv
}

// put stores an image manifest (distinct per seed) under tags.
func (d *digestOnly) put(seed string, tags ...string) string {
	return d.store([]byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:%064d"},"layers":[],"annotations":{"seed":%q}}`, types.OCIManifestSchema1, 0, seed)), tags)
}

// store keeps manifest b under its digest and tags, and returns the digest.
func (d *digestOnly) store(b []byte, tags []string) string {
	sum := sha256.Sum256(b)
	dig := "sha256:" + hex.EncodeToString(sum[:])
	d.mu.Lock()
	defer d.mu.Unlock()
	d.manifests[dig] = b
	for _, t := range tags {
		d.tags[t] = dig
	}
	return dig
}

// putIndex stores an index listing children (digests of the media types
// given, one each) under tags.
func (d *digestOnly) putIndex(children map[string]types.MediaType, tags ...string) string {
	var ms []string
	for _, c := range slices.Sorted(maps.Keys(children)) {
		ms = append(ms, fmt.Sprintf(`{"mediaType":%q,"size":2,"digest":%q}`, children[c], c))
	}
	return d.store([]byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"manifests":[%s]}`, types.OCIImageIndex, strings.Join(ms, ","))), tags)
}

func (d *digestOnly) tagList() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for t := range d.tags {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func (d *digestOnly) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/tags/list") {
		var tags []string
		for t := range d.tags {
			tags = append(tags, t)
		}
		sort.Strings(tags)
		json.NewEncoder(w).Encode(map[string]any{"name": "r", "tags": tags})
		return
	}
	id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	dig := id
	if !strings.HasPrefix(id, "sha256:") {
		dig = d.tags[id]
	}
	b, ok := d.manifests[dig]
	unknown := func() {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`)
	}
	switch r.Method {
	case http.MethodHead, http.MethodGet:
		if r.Method == http.MethodHead {
			d.accepts = append(d.accepts, r.Header.Get("Accept"))
		}
		if !ok {
			unknown()
			return
		}
		mt := types.OCIManifestSchema1
		if strings.Contains(string(b), `"manifests"`) {
			mt = types.OCIImageIndex
		}
		w.Header().Set("Content-Type", string(mt))
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		if !d.noDigest || r.Method == http.MethodGet {
			w.Header().Set("Docker-Content-Digest", dig)
		}
		if r.Method == http.MethodGet {
			w.Write(b)
		}
	case http.MethodDelete:
		d.deletes = append(d.deletes, id)
		if !strings.HasPrefix(id, "sha256:") {
			w.WriteHeader(d.tagStatus)
			fmt.Fprint(w, `{"errors":[{"code":"UNSUPPORTED","message":"tag deletion"}]}`)
			return
		}
		if !ok {
			unknown()
			return
		}
		delete(d.manifests, dig)
		for t, td := range d.tags {
			if td == dig {
				delete(d.tags, t)
			}
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

func TestDigestAcceptsEveryManifestType(t *testing.T) {
	t.Parallel()
	for _, noDigest := range []bool{false, true} {
		d, srv := newDigestOnly(t)
		d.noDigest = noDigest
		want := d.put("x", "v1")
		got, _, err := newTestClient(t).Digest(context.Background(), mustRef(t, hostOf(srv)+"/r:v1"), nil)
		if err != nil || got.String() != want {
			t.Fatalf("noDigest=%v: digest %v, err %v; want %s", noDigest, got, err, want)
		}
		for _, mt := range []types.MediaType{types.DockerManifestSchema2, types.DockerManifestList, types.OCIManifestSchema1, types.OCIImageIndex} {
			if !strings.Contains(d.accepts[0], string(mt)) {
				t.Errorf("Accept %q lacks %s", d.accepts[0], mt)
			}
		}
	}
}

func TestDeleteTagFallsBackToDigest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, status := range []int{http.StatusBadRequest, http.StatusMethodNotAllowed} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			t.Parallel()
			d, srv := newDigestOnly(t)
			d.tagStatus = status
			host := hostOf(srv)
			alone := d.put("alone", "solo")
			shared := d.put("shared", "v1", "v1.0", "latest")
			c := newTestClient(t)

			// A tag alone on its manifest: deleted by digest.
			acts, err := c.Delete(ctx, mustRef(t, host+"/r:solo"), DeleteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(acts) != 2 || acts[0].Ref != host+"/r:solo" || acts[1].Ref != host+"/r@"+alone {
				t.Errorf("actions: %+v", acts)
			}

			// A tag sharing its manifest: refused, naming the others, and
			// nothing deleted.
			_, err = c.Delete(ctx, mustRef(t, host+"/r:v1"), DeleteOptions{})
			if !errors.Is(err, ErrSharedManifest) || !strings.Contains(err.Error(), "latest, v1.0") {
				t.Fatalf("shared tag: %v", err)
			}
			if got := strings.Join(d.tagList(), ","); got != "latest,v1,v1.0" {
				t.Fatalf("tags after refusal: %s", got)
			}

			// --force removes them all.
			acts, err = c.Delete(ctx, mustRef(t, host+"/r:v1"), DeleteOptions{Force: true})
			if err != nil {
				t.Fatal(err)
			}
			var refs []string
			for _, a := range acts {
				refs = append(refs, a.Ref)
			}
			want := []string{host + "/r:v1", host + "/r:latest", host + "/r:v1.0", host + "/r@" + shared}
			if strings.Join(refs, " ") != strings.Join(want, " ") {
				t.Errorf("forced: %v, want %v", refs, want)
			}
			if len(d.tagList()) != 0 {
				t.Errorf("tags left: %v", d.tagList())
			}
		})
	}
}

func TestDeleteMissingAndDisabled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, srv := newDigestOnly(t)
	host := hostOf(srv)
	dig := d.put("x", "v1")
	c := newTestClient(t)
	if _, err := c.Delete(ctx, mustRef(t, host+"/r:nope"), DeleteOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing tag: %v, want ErrNotFound", err)
	}
	missing := "sha256:" + strings.Repeat("0", 64)
	if _, err := c.Delete(ctx, mustRef(t, host+"/r@"+missing), DeleteOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing digest: %v, want ErrNotFound", err)
	}

	// Deletion disabled: every DELETE answers 405 (or 400) UNSUPPORTED,
	// said plainly; the by-digest DELETE is sent once, not retried.
	for _, status := range []int{http.StatusMethodNotAllowed, http.StatusBadRequest} {
		var digestDeletes atomic.Int32
		off := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodDelete {
				if strings.Contains(r.URL.Path, "/manifests/sha256:") {
					digestDeletes.Add(1)
				}
				w.WriteHeader(status)
				fmt.Fprint(w, `{"errors":[{"code":"UNSUPPORTED"}]}`)
				return
			}
			d.serve(w, r)
		})
		_, err := c.Delete(ctx, mustRef(t, hostOf(off)+"/r@"+dig), DeleteOptions{})
		want := "deletion is disabled on " + hostOf(off) + " (run the registry with REGISTRY_STORAGE_DELETE_ENABLED=true)"
		if !errors.Is(err, ErrDeleteDisabled) || err.Error() != want || digestDeletes.Load() != 1 {
			t.Errorf("disabled (%d): %v after %d DELETEs", status, err, digestDeletes.Load())
		}
		if _, err := c.Delete(ctx, mustRef(t, hostOf(off)+"/r:v1"), DeleteOptions{}); !errors.Is(err, ErrDeleteDisabled) {
			t.Errorf("disabled (%d), by tag: %v", status, err)
		}
	}
	if _, ok := d.manifests[dig]; !ok || len(d.tagList()) != 1 {
		t.Error("a registry with deletion disabled lost content")
	}

	// Dry run by digest names the tags and deletes nothing: its only
	// DELETE is of a digest no manifest has.
	n := len(d.deletes)
	acts, err := c.Delete(ctx, mustRef(t, host+"/r@"+dig), DeleteOptions{DryRun: true})
	if err != nil || len(acts) != 2 || acts[0].Ref != host+"/r:v1" || strings.Join(d.deletes[n:], " ") != absentDigest {
		t.Errorf("dry run: %+v, %v, deletes %v", acts, err, d.deletes[n:])
	}
}

// TestDeleteIfDigestAndSkipChanged: on a registry that deletes only by
// digest, a tag goes with the siblings asked with it and refuses with any
// other; IfDigest refuses a tag that moved since the plan, and
// SkipChanged leaves it (and a tag gone) alone, reported in its place,
// without letting it go with a sibling's manifest.
func TestDeleteIfDigestAndSkipChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, srv := newDigestOnly(t)
	host := hostOf(srv)
	shared := d.put("shared", "old", "older", "kept")
	c := newTestClient(t)
	refs := func(tags ...string) []reference.Reference { return tagRefs(t, host+"/r", tags...) }
	zero := "sha256:" + strings.Repeat("0", 64)

	_, err := c.DeleteAll(ctx, refs("old", "older"), DeleteOptions{})
	if !errors.Is(err, ErrSharedManifest) || !strings.Contains(err.Error(), "kept") {
		t.Fatalf("a sibling not asked: %v", err)
	}
	_, err = c.Delete(ctx, mustRef(t, host+"/r:old"), DeleteOptions{IfDigest: map[reference.Reference]string{mustRef(t, host+"/r:old"): zero}})
	if !errors.Is(err, ErrTagMoved) {
		t.Fatalf("moved tag: %v", err)
	}
	// kept moved since the plan: it is skipped, and old cannot take it.
	_, err = c.DeleteAll(ctx, refs("old", "older", "kept"), DeleteOptions{SkipChanged: true,
		IfDigest: map[reference.Reference]string{mustRef(t, host+"/r:kept"): zero}})
	if !errors.Is(err, ErrSharedManifest) || !strings.Contains(err.Error(), "kept") {
		t.Fatalf("a moved sibling went along: %v", err)
	}
	if got := strings.Join(d.tagList(), ","); got != "kept,old,older" {
		t.Fatalf("tags after refusals: %s", got)
	}

	other := d.put("other", "solo", "twin")
	acts, err := c.DeleteAll(ctx, refs("kept", "gone", "solo", "twin"), DeleteOptions{SkipChanged: true,
		IfDigest: map[reference.Reference]string{mustRef(t, host+"/r:kept"): zero, mustRef(t, host+"/r:solo"): other, mustRef(t, host+"/r:twin"): other}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range acts {
		got = append(got, a.Ref)
	}
	want := []string{host + "/r:kept", host + "/r:gone", host + "/r:solo", host + "/r:twin", host + "/r@" + other}
	if !slices.Equal(got, want) || !errors.Is(acts[0].Skipped, ErrTagMoved) || !errors.Is(acts[1].Skipped, ErrNotFound) || acts[2].Skipped != nil {
		t.Errorf("actions: %+v, want %v", acts, want)
	}
	if got := strings.Join(d.tagList(), ","); got != "kept,old,older" || d.tags["kept"] != shared {
		t.Errorf("tags left: %s", got)
	}
}

// TestDeleteAllChecksFirst: on a registry that deletes only by digest, one
// refused reference among several deletes nothing (the only DELETEs are of
// a tag and a digest that do not exist); the tags of one manifest asked
// together go together, its DELETE sent once.
func TestDeleteAllChecksFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, srv := newDigestOnly(t)
	host := hostOf(srv)
	alone := d.put("alone", "solo")
	shared := d.put("shared", "v1", "v1.0", "latest")
	c := newTestClient(t)

	_, err := c.DeleteAll(ctx, []reference.Reference{mustRef(t, host+"/r:solo"), mustRef(t, host+"/r:v1")}, DeleteOptions{})
	if !errors.Is(err, ErrSharedManifest) {
		t.Fatalf("solo and a shared tag: %v", err)
	}
	for _, id := range d.deletes {
		if id == alone || id == shared || id == "solo" || id == "v1" {
			t.Errorf("DELETE %s before every reference was checked", id)
		}
	}
	if got := strings.Join(d.tagList(), ","); got != "latest,solo,v1,v1.0" {
		t.Fatalf("tags after refusal: %s", got)
	}

	n := len(d.deletes)
	acts, err := c.DeleteAll(ctx, []reference.Reference{mustRef(t, host+"/r:v1"), mustRef(t, host+"/r:latest"), mustRef(t, host+"/r:v1.0")}, DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, a := range acts {
		refs = append(refs, a.Ref)
	}
	if want := host + "/r:v1 " + host + "/r:latest " + host + "/r:v1.0 " + host + "/r@" + shared; strings.Join(refs, " ") != want {
		t.Errorf("actions: %v, want %s", refs, want)
	}
	if got := strings.Count(strings.Join(d.deletes[n:], " "), shared); got != 1 {
		t.Errorf("%d DELETEs of the shared manifest: %v", got, d.deletes[n:])
	}
}

// TestDeleteNeverBreaksATaggedIndex: a manifest an index tag lists, even
// through an untagged index it lists, is refused by digest and by a tag
// the registry deletes only by digest, with Force too; a referrers index
// (sha256-<hex>) listing it does not count.
func TestDeleteNeverBreaksATaggedIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, srv := newDigestOnly(t)
	host := hostOf(srv)
	img := d.put("img", "img-tag")
	inner := d.putIndex(map[string]types.MediaType{img: types.OCIManifestSchema1})
	d.putIndex(map[string]types.MediaType{inner: types.OCIImageIndex}, "v1", "stable")
	free := d.put("free", "free-tag")
	d.putIndex(map[string]types.MediaType{free: types.OCIManifestSchema1}, "sha256-"+strings.Repeat("f", 64))
	c := newTestClient(t)
	for _, ref := range []string{host + "/r@" + img, host + "/r:img-tag"} {
		for _, force := range []bool{false, true} {
			_, err := c.Delete(ctx, mustRef(t, ref), DeleteOptions{Force: force})
			var ice *IndexChildError
			if !errors.Is(err, ErrIndexChild) || !errors.As(err, &ice) || strings.Join(ice.Indexes, ",") != "stable,v1" || ice.Digest != img {
				t.Errorf("%s (force %v): %v", ref, force, err)
			}
		}
	}
	if _, ok := d.manifests[img]; !ok {
		t.Fatal("the part of a tagged index was deleted")
	}
	if _, err := c.Delete(ctx, mustRef(t, host+"/r:free-tag"), DeleteOptions{}); err != nil {
		t.Errorf("a manifest only a referrers index lists: %v", err)
	}
}

// TestDeleteAllScansTheTagsOnce: on a registry that deletes only by
// digest, the checks of many tags share one scan of the repository (one
// listing, one HEAD per tag, one GET per index): the requests grow with
// the tags, not with their square.
func TestDeleteAllScansTheTagsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, _ := newDigestOnly(t)
	var requests atomic.Int32
	srv := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		d.serve(w, r)
	})
	host := hostOf(srv)
	const n = 40
	var refs []reference.Reference
	for i := range n {
		d.put(fmt.Sprint(i), fmt.Sprintf("old%02d", i))
		refs = append(refs, mustRef(t, host+fmt.Sprintf("/r:old%02d", i)))
	}
	for i := range 5 {
		img := d.put(fmt.Sprint("kept", i), fmt.Sprint("kept", i))
		d.putIndex(map[string]types.MediaType{img: types.OCIManifestSchema1}, fmt.Sprint("multi", i))
	}
	tags := len(d.tagList())
	acts, err := newTestClient(t).DeleteAll(ctx, refs, DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(acts) != 2*n || len(d.tagList()) != tags-n {
		t.Fatalf("%d actions, %d tags left", len(acts), len(d.tagList()))
	}
	// A HEAD of each tag asked and of each tag of the repository, the
	// listing, a GET per index, a DELETE per manifest and the two probes.
	if got, most := int(requests.Load()), n+tags+1+5+n+2; got > most {
		t.Errorf("deleting %d tags of %d sent %d requests, want at most %d", n, tags, got, most)
	}
}

// TestDeleteAllIndexBeforeItsParts: on a registry that deletes only by
// digest, the part of a tagged index goes when an earlier reference of the
// same call removes the index's tags (as tags prune orders them), and is
// refused before it; a dry run says the same.
func TestDeleteAllIndexBeforeItsParts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, srv := newDigestOnly(t)
	host := hostOf(srv)
	img := d.put("img", "amd64")
	idx := d.putIndex(map[string]types.MediaType{img: types.OCIManifestSchema1}, "v1", "stable")
	c := newTestClient(t)
	refs := func(tags ...string) []reference.Reference { return tagRefs(t, host+"/r", tags...) }
	_, err := c.DeleteAll(ctx, refs("amd64", "v1", "stable"), DeleteOptions{})
	if !errors.Is(err, ErrIndexChild) || len(d.tagList()) != 3 {
		t.Fatalf("the part before its index: %v, tags left %v", err, d.tagList())
	}
	want := []string{host + "/r:v1", host + "/r:stable", host + "/r@" + idx, host + "/r:amd64", host + "/r@" + img}
	for _, dry := range []bool{true, false} {
		acts, err := c.DeleteAll(ctx, refs("v1", "stable", "amd64"), DeleteOptions{DryRun: dry})
		var got []string
		for _, a := range acts {
			got = append(got, a.Ref)
		}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("dry run %v: %v, %v; want %v", dry, got, err, want)
		}
	}
	if len(d.manifests) != 0 {
		t.Errorf("left %d manifests", len(d.manifests))
	}

	// SkipChanged leaves the part alone, in its place, and the rest goes.
	img = d.put("img", "amd64")
	d.putIndex(map[string]types.MediaType{img: types.OCIManifestSchema1}, "v1")
	solo := d.put("solo", "solo")
	acts, err := c.DeleteAll(ctx, refs("amd64", "solo"), DeleteOptions{SkipChanged: true})
	if err != nil || len(acts) != 3 || acts[0].Ref != host+"/r:amd64" || !errors.Is(acts[0].Skipped, ErrIndexChild) || acts[2].Ref != host+"/r@"+solo {
		t.Errorf("skipping the part: %+v, %v", acts, err)
	}
	if got := strings.Join(d.tagList(), ","); got != "amd64,v1" {
		t.Errorf("tags left: %s", got)
	}
}

// tagRefs are the references to repo's tags.
func tagRefs(t *testing.T, repo string, tags ...string) []reference.Reference {
	var rs []reference.Reference
	for _, tag := range tags {
		rs = append(rs, mustRef(t, repo+":"+tag))
	}
	return rs
}
