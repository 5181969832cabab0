package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// memSink is an in-memory PullSink.
type memSink struct {
	mu     sync.Mutex
	blobs  map[v1.Hash][]byte
	tags   map[string]v1.Hash
	pulled map[string]v1.Hash // the digest each tag was last pulled at
}

func newMemSink() *memSink {
	return &memSink{blobs: map[v1.Hash][]byte{}, tags: map[string]v1.Hash{}, pulled: map[string]v1.Hash{}}
}

func (s *memSink) HasBlob(h v1.Hash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.blobs[h]
	return ok
}

func (s *memSink) Resolve(ref reference.Reference) (v1.Hash, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.tags[ref.String()]
	return h, ok
}

// WriteImage reads every layer fully before keeping anything, as the store
// does with its temp files.
func (s *memSink) WriteImage(_ context.Context, img v1.Image, ref reference.Reference, digest v1.Hash) error {
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	got := map[v1.Hash][]byte{}
	for i, l := range layers {
		if s.HasBlob(m.Layers[i].Digest) {
			continue
		}
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != m.Layers[i].Digest.Hex || int64(len(b)) != m.Layers[i].Size {
			return fmt.Errorf("layer %s: content does not match", m.Layers[i].Digest)
		}
		got[m.Layers[i].Digest] = b
		if n, ok := rc.(interface{ Stored() }); ok {
			n.Stored() // as the store does once it has committed the blob
		}
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	got[m.Config.Digest] = raw
	d, err := img.Digest()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, b := range got {
		s.blobs[h] = b
	}
	s.tags[ref.String()] = d
	s.pulled[ref.String()] = digest
	return nil
}

// WriteIndex writes each image idx lists, then records the index.
func (s *memSink) WriteIndex(ctx context.Context, idx v1.ImageIndex, ref reference.Reference, digest v1.Hash) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return err
		}
		if err := s.WriteImage(ctx, img, ref, digest); err != nil {
			return err
		}
		raw, _ := img.RawManifest()
		s.mu.Lock()
		s.blobs[d.Digest] = raw
		s.mu.Unlock()
	}
	h, err := idx.Digest()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tags[ref.String()] = h
	s.pulled[ref.String()] = digest
	return nil
}

func (s *memSink) Pulled(ref reference.Reference, image, digest v1.Hash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tags[ref.String()] == image {
		s.pulled[ref.String()] = digest
	}
	return nil
}

func TestPullVerifiesAndSkips(t *testing.T) {
	t.Parallel()
	reg, c, ref, img := seeded(t, 2000, 3)
	sink := newMemSink()
	var done int
	reg.counts()
	res, err := c.Pull(context.Background(), ref, sink, PullOptions{Progress: func(e Event) {
		if e.Kind == BlobDone {
			done++
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	if res.Digest != want || res.Image != want || res.UpToDate || done != 3 {
		t.Fatalf("first pull: %+v, %d layers fetched", res, done)
	}
	if len(sink.blobs) != 4 {
		t.Fatalf("sink holds %d blobs, want 4", len(sink.blobs))
	}
	// One manifest GET, then the config and each layer once.
	if got := reg.counts(); got["GET manifest"] != 1 || got["GET blob"] != 4 || got["HEAD manifest"] != 0 || len(got) > 3 {
		t.Errorf("first pull requests: %v", got)
	}
	res, err = c.Pull(context.Background(), ref, sink, PullOptions{})
	if err != nil || !res.UpToDate {
		t.Fatalf("second pull: %+v %v", res, err)
	}
	if got := reg.counts(); got["GET manifest"] != 1 || got["GET blob"] != 0 {
		t.Errorf("up-to-date pull requests: %v", got)
	}
}

func TestPullCorruptBlob(t *testing.T) {
	t.Parallel()
	reg, c, ref, img := seeded(t, 2000, 1)
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
		if r.Method == http.MethodGet && r.URL.Path == "/v2/app/blobs/"+ld.String() {
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			b := rec.Body.Bytes()
			b[len(b)/2] ^= 0xff
			w.WriteHeader(rec.Code)
			io.Copy(w, bytes.NewReader(b))
			return true
		}
		return false
	}
	// Copied to another registry, the corrupt body is refused by ctl
	// (not only by the destination, which checks the digest too) and no
	// manifest is written.
	// The corrupt blob is read once: its upload is not started again, as
	// the source would send the same bytes.
	dst := newFakeRegistry(t)
	dref := mustRef(t, dst.host()+"/app:v1")
	reg.counts()
	if _, err := c.Copy(context.Background(), ref, dref, CopyOptions{}); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("copy of a corrupt blob: %v, want ErrDigestMismatch", err)
	}
	if got := dst.counts(); got["PUT manifest"] != 0 {
		t.Errorf("copy of a corrupt blob wrote the manifest: %v", got)
	}
	if got := reg.counts(); got["GET blob"] != 2 {
		t.Errorf("copy of a corrupt blob: %d blob GETs at the source (config and layer), want 2: %v", got["GET blob"], got)
	}
	sink := newMemSink()
	_, err := c.Pull(context.Background(), ref, sink, PullOptions{})
	if err == nil {
		t.Fatal("pull of a corrupted layer succeeded")
	}
	if _, ok := sink.blobs[ld]; ok || len(sink.tags) != 0 {
		t.Errorf("corrupted layer or tag stored: %v", sink.tags)
	}
}

func TestPullPlatform(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	c := newShareClient(t)
	amd, _ := random.Image(100, 1)
	arm, _ := random.Image(100, 1)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}},
	)
	ref := mustRef(t, reg.host()+"/multi:v1")
	nref, _ := c.Ref(ref)
	if err := remote.WriteIndex(nref, idx); err != nil {
		t.Fatal(err)
	}
	idxDigest, _ := idx.Digest()
	armDigest, _ := arm.Digest()
	p, _ := platform.ParseSelection("linux/arm64")
	sink := newMemSink()
	reg.counts()
	res, err := c.Pull(context.Background(), ref, sink, PullOptions{Platforms: p})
	if err != nil {
		t.Fatal(err)
	}
	// The index, the arm64 manifest, its config and layer.
	if got := reg.counts(); got["GET manifest"] != 2 || got["GET blob"] != 2 || len(got) > 3 {
		t.Errorf("pull of an index: requests %v", got)
	}
	if res.Digest != idxDigest || res.Image != armDigest {
		t.Errorf("pull linux/arm64: %+v, want index %s image %s", res, idxDigest, armDigest)
	}
	if got := sink.pulled[ref.String()]; got != idxDigest {
		t.Errorf("sink told the tag was pulled at %s, want the index %s", got, idxDigest)
	}
	// The tag moves to a new index with the same arm64 image: up to date,
	// and the sink learns the new index digest.
	moved := mutate.AppendManifests(idx, mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "riscv64"}}})
	if err := remote.WriteIndex(nref, moved); err != nil {
		t.Fatal(err)
	}
	movedDigest, _ := moved.Digest()
	if res, err := c.Pull(context.Background(), ref, sink, PullOptions{Platforms: p}); err != nil || !res.UpToDate || res.Digest != movedDigest {
		t.Errorf("pull after the index moved: %+v, %v; want up to date at %s", res, err, movedDigest)
	}
	if got := sink.pulled[ref.String()]; got != movedDigest {
		t.Errorf("sink told the tag was pulled at %s, want the new index %s", got, movedDigest)
	}
	if err := remote.WriteIndex(nref, idx); err != nil {
		t.Fatal(err)
	}
	p, _ = platform.ParseSelection("linux/s390x")
	if _, err := c.Pull(context.Background(), ref, newMemSink(), PullOptions{Platforms: p}); !errors.Is(err, ErrNotFound) {
		t.Errorf("pull of a missing platform: %v, want ErrNotFound", err)
	}

	// Copy the index whole to another repository of the same registry:
	// every blob is mounted and the digest is kept.
	dst := mustRef(t, reg.host()+"/copy:v1")
	var mounted int
	reg.counts()
	res2, err := c.Copy(context.Background(), ref, dst, CopyOptions{Progress: func(e Event) {
		if e.Kind == BlobExists || e.Kind == BlobMounted {
			mounted++
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res2) != 1 || res2[0].Digest != idxDigest || mounted != 4 {
		t.Errorf("copy: %+v, %d blobs not sent", res2, mounted)
	}
	// Each source manifest is read once and no blob is downloaded.
	if got := reg.counts(); got["GET manifest"] != 3 || got["GET blob"] != 0 {
		t.Errorf("copy requests: %v", got)
	}

	// To another registry, each source blob (two configs, two layers) is
	// read once, streamed into its upload.
	other := newFakeRegistry(t)
	if _, err := c.Copy(context.Background(), ref, mustRef(t, other.host()+"/copy:v1"), CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := reg.counts(); got["GET manifest"] != 3 || got["GET blob"] != 4 || len(got) > 3 {
		t.Errorf("copy to another registry, source requests: %v", got)
	}
}

// A single-platform image pulled with --platform must be that platform
// (docker refuses it otherwise); without --platform it is taken as it is.
func TestPullSinglePlatformMismatch(t *testing.T) {
	t.Parallel()
	reg := newFakeRegistry(t)
	c := newShareClient(t)
	img, _ := random.Image(100, 1)
	cf, _ := img.ConfigFile()
	cf.OS, cf.Architecture, cf.Variant = "linux", "arm64", "v8"
	img, _ = mutate.ConfigFile(img, cf)
	ref := mustRef(t, reg.host()+"/arm:v1")
	nref, _ := c.Ref(ref)
	if err := remote.Write(nref, img); err != nil {
		t.Fatal(err)
	}
	amd, _ := platform.ParseSelection("linux/amd64")
	_, err := c.Pull(context.Background(), ref, newMemSink(), PullOptions{Platforms: amd})
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "wanted linux/amd64, actual: linux/arm64/v8") {
		t.Errorf("pull --platform linux/amd64 of an arm64 image: %v", err)
	}
	arm, _ := platform.ParseSelection("linux/arm64")
	for _, p := range []platform.Selection{arm, {}} {
		if _, err := c.Pull(context.Background(), ref, newMemSink(), PullOptions{Platforms: p}); err != nil {
			t.Errorf("pull --platform %v of an arm64 image: %v", p, err)
		}
	}
}

// TestPullChecksManifest: pull reads manifests with the session's checked
// GET: a Content-Type that contradicts the manifest's mediaType, or a body
// that is not what Docker-Content-Digest says, fails the pull.
func TestPullChecksManifest(t *testing.T) {
	t.Parallel()
	for name, lie := range map[string]func(h http.Header){
		"content type": func(h http.Header) { h.Set("Content-Type", string(types.OCIImageIndex)) },
		"digest":       func(h http.Header) { h.Set("Docker-Content-Digest", "sha256:"+strings.Repeat("0", 64)) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg, c, ref, _ := seeded(t, 100, 1)
			reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/manifests/") {
					return false
				}
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				lie(w.Header())
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return true
			}
			sink := newMemSink()
			if _, err := c.Pull(context.Background(), ref, sink, PullOptions{}); err == nil {
				t.Errorf("pull succeeded")
			}
			if len(sink.tags) != 0 {
				t.Errorf("stored %v", sink.tags)
			}
		})
	}
}

// TestPullRefusesBadDocuments: a manifest whose bytes are not the pinned
// digest, one that is both an image and an index, one beyond the size cap,
// and a config declaring an absurd size all fail the pull, and nothing is
// stored.
func TestPullRefusesBadDocuments(t *testing.T) {
	t.Parallel()
	other, _ := random.Image(100, 1)
	otherRaw, _ := other.RawManifest()
	otherDigest, _ := other.Digest()
	for _, tc := range []struct {
		name   string
		byDig  bool                                   // pull by the image's digest, not its tag
		serve  func(raw []byte) ([]byte, http.Header) // the manifest body sent instead of raw
		errSub string
	}{
		{"pinned digest, other content", true, func([]byte) ([]byte, http.Header) {
			return otherRaw, http.Header{"Docker-Content-Digest": {otherDigest.String()}}
		}, "content has digest " + otherDigest.String()},
		{"manifests and layers", false, func(raw []byte) ([]byte, http.Header) {
			return append([]byte(`{"manifests":[],`), raw[1:]...), nil
		}, "both manifests and layers"},
		{"oversized", false, func(raw []byte) ([]byte, http.Header) {
			return append(raw, bytes.Repeat([]byte(" "), maxManifestBytes)...), nil
		}, "larger than"},
		{"absurd config size", false, func(raw []byte) ([]byte, http.Header) {
			var m v1.Manifest
			if err := json.Unmarshal(raw, &m); err != nil {
				panic(err)
			}
			m.Config.Size = 1 << 50
			b, _ := json.Marshal(m)
			return b, nil
		}, "absurd size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg, c, ref, img := seeded(t, 100, 1)
			raw, _ := img.RawManifest()
			mt, _ := img.MediaType()
			body, hdr := tc.serve(raw)
			reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
				if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/manifests/") {
					return false
				}
				w.Header().Set("Content-Type", string(mt))
				for k, v := range hdr {
					w.Header()[k] = v
				}
				w.Write(body)
				return true
			}
			if tc.byDig {
				d, _ := img.Digest()
				ref = mustRef(t, reg.host()+"/app@"+d.String())
			}
			sink := newMemSink()
			_, err := c.Pull(context.Background(), ref, sink, PullOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.errSub) {
				t.Errorf("pull: %v, want an error with %q", err, tc.errSub)
			}
			if len(sink.tags) != 0 || len(sink.blobs) != 0 {
				t.Errorf("stored %v and %d blobs", sink.tags, len(sink.blobs))
			}
		})
	}
}

// TestPinnedDigestOfEveryAlgorithmVerified: a reference pinned with a
// sha384 or sha512 digest (references accept both) is verified with that
// algorithm, as a sha256 one is: other content under it fails manifest
// get, digest and pull, and nothing is stored; the right content passes.
func TestPinnedDigestOfEveryAlgorithmVerified(t *testing.T) {
	t.Parallel()
	other, _ := random.Image(100, 1)
	otherRaw, _ := other.RawManifest()
	for _, alg := range []string{"sha384", "sha512"} {
		for _, lying := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s lying=%v", alg, lying), func(t *testing.T) {
				t.Parallel()
				reg, c, _, img := seeded(t, 100, 1)
				raw, _ := img.RawManifest()
				mt, _ := img.MediaType()
				pinned, _ := contentDigest(alg+":", raw)
				body := raw
				if lying {
					body = otherRaw
				}
				reg.hook = func(w http.ResponseWriter, r *http.Request, next http.Handler) bool {
					if !strings.HasSuffix(r.URL.Path, "/manifests/"+pinned) {
						return false
					}
					w.Header().Set("Content-Type", string(mt))
					w.Header().Set("Docker-Content-Digest", pinned) // echoes the question
					w.Write(body)
					return true
				}
				ref := mustRef(t, reg.host()+"/app@"+pinned)
				ctx := context.Background()
				_, getErr := c.GetManifest(ctx, ref, nil)
				_, _, digestErr := c.Digest(ctx, ref, nil)
				sink := newMemSink()
				_, pullErr := c.Pull(ctx, ref, sink, PullOptions{})
				for what, err := range map[string]error{"manifest get": getErr, "digest": digestErr, "pull": pullErr} {
					if lying != errors.Is(err, ErrDigestMismatch) {
						t.Errorf("%s: %v, want a digest mismatch: %v", what, err, lying)
					}
				}
				if lying && (len(sink.tags) != 0 || len(sink.blobs) != 0) {
					t.Errorf("stored %v and %d blobs", sink.tags, len(sink.blobs))
				}
			})
		}
	}
}
