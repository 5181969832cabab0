package store

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/ctl-dev/ctl/pkg/atomicfile"
	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ref(t testing.TB, s string) reference.Reference {
	t.Helper()
	r, err := reference.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func randomImage(t testing.TB, size int64, layers int) v1.Image {
	t.Helper()
	img, err := random.Image(size, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func digestOf(t testing.TB, d interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	h, err := d.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestWriteTagRemovePrune(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	img := randomImage(t, 1024, 2)
	e, err := s.WriteImage(ctx, img, ref(t, "nginx"))
	if err != nil {
		t.Fatal(err)
	}
	if e.Ref != "docker.io/library/nginx:latest" || e.Digest != digestOf(t, img) {
		t.Fatalf("entry = %+v", e)
	}
	cfg, _ := img.ConfigName()
	if e.ID != cfg || e.Size <= 2048 {
		t.Fatalf("entry ID/size = %v %d", e.ID, e.Size)
	}
	got, err := s.Resolve("nginx:latest")
	if err != nil || got.Digest != e.Digest {
		t.Fatalf("Resolve = %+v, %v", got, err)
	}
	if err := s.Tag(got, ref(t, "user/web:v1"), ref(t, "localhost:5000/web")); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"user/web:v1", "docker.io/user/web:v1", cfg.Hex[:12], cfg.String(), e.Digest.String(), "nginx@" + e.Digest.String()} {
		if got, err := s.Resolve(src); err != nil || got.Digest != e.Digest {
			t.Errorf("Resolve(%q) = %+v, %v", src, got, err)
		}
	}
	if _, err := s.Resolve("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Resolve(nope) = %v, want ErrNotFound", err)
	}
	if err := s.Tag(got, ref(t, "a@"+e.Digest.String())); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("digest target: %v", err)
	}
	back, err := s.Image(e.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if digestOf(t, back) != e.Digest {
		t.Fatal("read back a different image")
	}
	if _, err := s.Remove(cfg.Hex[:12], false); !errors.Is(err, ErrConflict) {
		t.Fatalf("rmi by ID with refs in 3 repos: %v", err)
	}
	res, err := s.Remove("user/web:v1", false)
	if err != nil || len(res.Untagged) != 1 || len(res.Deleted) != 0 {
		t.Fatalf("rmi tag: %+v %v", res, err)
	}
	res, err = s.Remove(cfg.Hex[:12], true)
	if err != nil || len(res.Untagged) != 2 || len(res.Deleted) != 1 || res.Deleted[0] != cfg {
		t.Fatalf("rmi -f ID: %+v %v", res, err)
	}
	all, _ := s.List()
	if len(all) != 0 {
		t.Fatalf("left: %+v", all)
	}
	n, err := s.Prune()
	if err != nil || n.Reclaimed < 2048 {
		t.Fatalf("Prune = %+v, %v", n, err)
	}
	if s.HasBlob(e.Digest) {
		t.Fatal("manifest still there")
	}
}

func TestRetagLeavesDangling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	a, _ := s.WriteImage(ctx, randomImage(t, 100, 1), ref(t, "app"))
	b, _ := s.WriteImage(ctx, randomImage(t, 100, 1), ref(t, "app"))
	all, _ := s.List()
	if len(all) != 2 || all[0].Ref != "" || all[0].Digest != a.Digest || all[1].Digest != b.Digest {
		t.Fatalf("list = %+v", all)
	}
	res, err := s.Remove(a.ID.Hex, false)
	if err != nil || len(res.Deleted) != 1 || len(res.Untagged) != 0 {
		t.Fatalf("rmi dangling: %+v %v", res, err)
	}
}

func TestIndexRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	idx, err := random.Index(512, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.WriteIndex(ctx, idx, ref(t, "multi:1"))
	if err != nil {
		t.Fatal(err)
	}
	if !e.IsIndex() || e.ID != e.Digest {
		t.Fatalf("entry %+v", e)
	}
	back, err := s.Index(e.Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := back.IndexManifest()
	if _, err := back.Image(im.Manifests[1].Digest); err != nil {
		t.Fatal(err)
	}
	tags, err := s.Tags(ref(t, "multi"))
	if err != nil || len(tags) != 1 {
		t.Fatalf("Tags = %v %v", tags, err)
	}
}

// archive kinds the tests load.
func writeLayout(t testing.TB, dir string, img v1.Image, refName string) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{AnnotationRef: refName})); err != nil {
		t.Fatal(err)
	}
}

func tarDir(t testing.TB, dir, out string) {
	t.Helper()
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadKinds(t *testing.T) {
	t.Parallel()
	img := randomImage(t, 2<<20, 3) // layers above the in-memory threshold
	small := randomImage(t, 100, 1)
	dir := t.TempDir()
	testenv.ImagesTar(t, filepath.Join(dir, "docker.tar"), map[string]v1.Image{"nginx:1": img, "user/app:v2": small}, false)
	testenv.ImagesTar(t, filepath.Join(dir, "docker.tar.gz"), map[string]v1.Image{"nginx:1": img}, true)
	writeLayout(t, filepath.Join(dir, "layout"), img, "docker.io/library/nginx:1")
	tarDir(t, filepath.Join(dir, "layout"), filepath.Join(dir, "oci.tar"))
	for _, tc := range []struct {
		path string
		refs int
	}{
		{"docker.tar", 2},
		{"docker.tar.gz", 1},
		{"layout", 1},
		{"oci.tar", 1},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			got, err := s.Load(context.Background(), filepath.Join(dir, tc.path))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.refs {
				t.Fatalf("loaded %+v", got)
			}
			e, err := s.Resolve("nginx:1")
			if err != nil {
				t.Fatal(err)
			}
			cfg, _ := img.ConfigName()
			if e.ID != cfg {
				t.Fatalf("ID %s, want %s", e.ID, cfg)
			}
			back, err := s.Image(e.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(back); err != nil {
				t.Fatal(err)
			}
			// Save and reload: same digests.
			for _, format := range []string{FormatDocker, FormatOCI} {
				var buf bytes.Buffer
				if err := s.Save(context.Background(), &buf, []Entry{e}, format, platform.Selection{}); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(t.TempDir(), "out.tar")
				os.WriteFile(p, buf.Bytes(), 0o644)
				s2 := newStore(t)
				got2, err := s2.Load(context.Background(), p)
				if err != nil {
					t.Fatal(err)
				}
				if len(got2) != 1 || got2[0].Digest != e.Digest || got2[0].Ref != e.Ref {
					t.Fatalf("%s reload: %+v, want %+v", format, got2, e)
				}
				if format == FormatDocker {
					if _, err := tarball.ImageFromPath(p, nil); err != nil {
						t.Fatalf("ggcr cannot read our docker archive: %v", err)
					}
				}
			}
		})
	}
}

func validate(img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	_, err = img.ConfigFile()
	return err
}

var _ = mutate.Append

// lyingLayer claims one digest and serves other bytes.
type lyingLayer struct {
	v1.Layer
	body []byte
}

func (l lyingLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.body)), nil
}

type lyingImage struct {
	v1.Image
	layers []v1.Layer
}

func (i lyingImage) Layers() ([]v1.Layer, error) { return i.layers, nil }

// TestWriteImageVerifiesBlobs: content that does not match its descriptor
// is ErrCorrupt (what a registry sent, not the user's input).
func TestWriteImageVerifiesBlobs(t *testing.T) {
	t.Parallel()
	img := randomImage(t, 4096, 1)
	ls, _ := img.Layers()
	size, _ := ls[0].Size()
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"altered", bytes.Repeat([]byte{'x'}, int(size))},
		{"truncated", []byte("short")},
		{"extended", bytes.Repeat([]byte{'x'}, int(size)+10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			_, err := s.WriteImage(context.Background(), lyingImage{img, []v1.Layer{lyingLayer{ls[0], tc.body}}}, ref(t, "x"))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			d, _ := ls[0].Digest()
			all, _ := s.List()
			if s.HasBlob(d) || len(all) != 0 {
				t.Fatal("a bad blob or the image became visible")
			}
			if tmp := testenv.StoreTempFiles(t, s.Dir()); len(tmp) != 0 {
				t.Fatalf("temp files left: %v", tmp)
			}
		})
	}
}

func TestWriteImageCancelled(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.WriteImage(ctx, randomImage(t, 4096, 2), ref(t, "x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if all, _ := s.List(); len(all) != 0 {
		t.Fatalf("cancelled write visible: %+v", all)
	}
}

func TestSaveLoadIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t)
	idx, err := random.Index(256, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.WriteIndex(ctx, idx, ref(t, "localhost:5000/multi:1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{FormatDocker, FormatOCI} {
		var buf bytes.Buffer
		if err := s.Save(ctx, &buf, []Entry{e}, format, platform.Selection{}); err != nil {
			t.Fatal(err)
		}
		s2 := newStore(t)
		got, err := s2.LoadStream(ctx, &buf, format)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Digest != e.Digest || got[0].Ref != e.Ref || got[0].Size != e.Size {
			t.Fatalf("%s: loaded %+v, want %+v", format, got, e)
		}
		back, err := s2.Index(e.Digest)
		if err != nil {
			t.Fatal(err)
		}
		im, _ := back.IndexManifest()
		for _, c := range im.Manifests {
			img, err := back.Image(c.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(img); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s2.Inspect(got[0], nil); err != nil {
			t.Fatal(err)
		}
	}
}

// twoForms is a store with one image loaded twice: from a docker save tar
// as app:docker and from an OCI layout as app:oci (one image ID, two
// manifests).
func twoForms(t *testing.T) *Store {
	t.Helper()
	img := randomImage(t, 1024, 2)
	dir := t.TempDir()
	testenv.ImagesTar(t, filepath.Join(dir, "docker.tar"), map[string]v1.Image{"app:docker": img}, false)
	oci := mutate.MediaType(img, "application/vnd.oci.image.manifest.v1+json")
	writeLayout(t, filepath.Join(dir, "layout"), oci, "docker.io/library/app:oci")
	s := newStore(t)
	for _, p := range []string{"docker.tar", "layout"} {
		if _, err := s.Load(context.Background(), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestRemoveIDOfTwoForms: one image loaded from a docker save tar and from
// an OCI layout is two manifests with one image ID; removing the ID reports
// it deleted once.
func TestRemoveIDOfTwoForms(t *testing.T) {
	t.Parallel()
	s := twoForms(t)
	a, errA := s.Resolve("app:docker")
	b, errB := s.Resolve("app:oci")
	if errA != nil || errB != nil || a.ID != b.ID || a.Digest == b.Digest {
		t.Fatalf("want one ID, two manifests: %+v %v, %+v %v", a, errA, b, errB)
	}
	res, err := s.Remove(a.ID.String(), false)
	if err != nil || len(res.Untagged) != 2 || len(res.Deleted) != 1 || res.Deleted[0] != a.ID {
		t.Errorf("Remove(ID) = %+v, %v; want both untagged, the ID deleted once", res, err)
	}
}

// TestRemoveManifestKeepsID: of one image loaded in two forms (one image
// ID, two manifests), removing one form's reference deletes that manifest,
// reported by its digest: the image ID stays, with the other form.
func TestRemoveManifestKeepsID(t *testing.T) {
	t.Parallel()
	s := twoForms(t)
	a, _ := s.Resolve("app:docker")
	b, _ := s.Resolve("app:oci")
	res, err := s.Remove("app:docker", false)
	if err != nil || len(res.Untagged) != 1 || len(res.Deleted) != 1 || res.Deleted[0] != a.Digest {
		t.Errorf("Remove(app:docker) = %+v, %v; want it untagged and its manifest %s deleted, not the ID %s that stays", res, err, a.Digest, a.ID)
	}
	// The last reference of the other form deletes the image ID.
	if err := s.Tag(b, ref(t, "app:oci2")); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Remove("app:oci", false); err != nil || len(res.Deleted) != 0 {
		t.Errorf("Remove(app:oci) with app:oci2 left = %+v, %v; want nothing deleted", res, err)
	}
	if res, err := s.Remove("app:oci2", false); err != nil || len(res.Deleted) != 1 || res.Deleted[0] != b.ID {
		t.Errorf("Remove(app:oci2) = %+v, %v; want the ID %s deleted", res, err, b.ID)
	}
}

// TestLoadTruncated: an archive cut short says so, with the byte where it
// ends, both at a member boundary (docker save writes manifest.json last,
// so it is simply missing) and in the middle of a member.
func TestLoadTruncated(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	layer := bytes.Repeat([]byte("x"), 4000)
	for _, name := range []string{"aaaa/layer.tar", "bbbb/layer.tar"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(layer)), Typeflag: tar.TypeReg})
		tw.Write(layer)
	}
	tw.Flush()
	boundary := buf.Len()
	tw.WriteHeader(&tar.Header{Name: "manifest.json", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("[]"))
	tw.Close()
	for _, tc := range []struct {
		cut  int
		want string
	}{
		{boundary, fmt.Sprintf("the archive is truncated at byte %d: it ends without tar's end-of-archive marker", boundary)},
		{1000, "the archive is truncated at byte 1000, in aaaa/layer.tar"},
	} {
		s := newStore(t)
		_, err := s.LoadStream(context.Background(), bytes.NewReader(buf.Bytes()[:tc.cut]), "cut.tar")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidInput) {
			t.Errorf("cut at %d: %v, want %q", tc.cut, err, tc.want)
		}
	}
}

// failingIndex is an index whose children cannot be read, counting the
// reads asked for.
type failingIndex struct {
	index
	reads *atomic.Int32
}

// index is v1.ImageIndex under a name that does not hide its ImageIndex
// method when embedded.
type index = v1.ImageIndex

func (f failingIndex) Image(v1.Hash) (v1.Image, error) {
	f.reads.Add(1)
	return nil, errors.New("the registry failed")
}

// TestIndexWriteStopsAtFirstFailure: once a child of an index fails, the
// rest are not read: a registry's index of thousands of broken children
// ended a pull only after fetching every one of them.
func TestIndexWriteStopsAtFirstFailure(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	idx, err := random.Index(16, 1, 500)
	if err != nil {
		t.Fatal(err)
	}
	f := failingIndex{index: idx, reads: new(atomic.Int32)}
	if _, err := s.WriteIndex(context.Background(), f, ref(t, "multi:1")); err == nil {
		t.Fatal("the write succeeded")
	}
	if n, most := f.reads.Load(), int32(2*s.parallelBlobs()); n > most {
		t.Errorf("%d children read after the first failed, want at most %d", n, most)
	}
}

// TestPruneOnAFullDisk: a prune with no untagged image to drop leaves
// index.json as it is, the same file, while it removes the blobs no image
// needs: rewriting it would take room for a whole new copy (atomicfile),
// which a full disk has not, and the prune run to free room would fail.
func TestPruneOnAFullDisk(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.WriteImage(ctx, randomImage(t, 100, 1), ref(t, "keep:1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteImage(ctx, randomImage(t, 4096, 2), ref(t, "gone:1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove("gone:1", false); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(s.path(indexFile))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Prune()
	if err != nil {
		t.Fatal(err)
	}
	if res.Reclaimed < 4096 {
		t.Errorf("prune reclaimed %d bytes, want the removed image's", res.Reclaimed)
	}
	after, err := os.Stat(s.path(indexFile))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("a prune that untagged nothing wrote index.json again")
	}
}

// TestPruneLeavesAnIndexUpdateUnderWay: the temp file of an index.json
// update under way (a tag or an rmi of another process, which takes only
// the index lock) is not removed by a concurrent prune as one left by a
// killed update: its rename would then fail. The prune is stopped in its
// mark (the manifest it reads is a FIFO) while the update begins.
func TestPruneLeavesAnIndexUpdateUnderWay(t *testing.T) {
	t.Parallel()
	s := newStore(t)
	img := randomImage(t, 100, 1)
	if _, err := s.WriteImage(context.Background(), img, ref(t, "app:1")); err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	blob, err := s.blobPath(digestOf(t, img))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(blob); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(blob, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := s.Prune(); done <- err }()
	fifo, err := os.OpenFile(blob, os.O_WRONLY, 0) // returns once the prune's mark opens it
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := s.lock(indexLock, syscall.LOCK_EX)
	if err != nil {
		t.Fatal(err)
	}
	tmp := s.path(".index.json.tmp-123")
	if !atomicfile.IsTemp(filepath.Base(tmp), indexFile) {
		t.Fatalf("%s is not named as atomicfile names its temp files", tmp)
	}
	if err := os.WriteFile(tmp, []byte("an update under way"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo.Write(raw)
	fifo.Close()
	select {
	case err := <-done:
		t.Fatalf("the prune ended while an index update held the lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Errorf("the prune removed the temp file of an update under way: %v", err)
	}
	os.Remove(tmp)
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestLoadDirTransport: a containers/image dir: layout (podman save
// --format docker-dir), whose manifest.json is one image's manifest, is
// refused as invalid input naming what it is and what to write instead,
// not as a malformed docker save.
func TestLoadDirTransport(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "dir")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}`
	for name, content := range map[string]string{"manifest.json": m, "version": "Directory Transport Version: 1.1\n", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a": "{}"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := newStore(t).Load(context.Background(), dir)
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), "a dir: layout (podman save --format docker-dir") {
		t.Errorf("load of a dir: layout: %v", err)
	}
}
