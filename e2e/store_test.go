package e2e

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// storeState is what a command must not change when it fails: the index
// and the visible blobs.
func storeState(t *testing.T, e *testenv.Env) string {
	t.Helper()
	idx, _ := os.ReadFile(filepath.Join(e.Store, "index.json"))
	blobs, _ := os.ReadDir(filepath.Join(e.Store, "blobs", "sha256"))
	var names []string
	for _, b := range blobs {
		names = append(names, b.Name())
	}
	return string(idx) + strings.Join(names, ",")
}

func TestStoreLoadArchiveKinds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img := randomImage(t, 300<<10, 2)
	base := randomImage(t, 2<<20, 1) // above the in-memory threshold
	l, _ := base.Layers()
	dup, err := mutate.AppendLayers(empty.Image, l[0], l[0]) // a repeated layer: a symlink in classic saves
	if err != nil {
		t.Fatal(err)
	}
	classic := classicEntries(t, map[string]v1.Image{"nginx:1": img, "user/dup:v1": dup})
	writeTar(t, filepath.Join(dir, "classic.tar"), false, classic)
	writeTar(t, filepath.Join(dir, "classic.tar.gz"), true, classic)
	testenv.ImagesTar(t, filepath.Join(dir, "ggcr.tar"), map[string]v1.Image{"nginx:1": img}, false)
	ociLayout(t, filepath.Join(dir, "layout"), img, "docker.io/library/nginx:1")
	tarOfDir(t, filepath.Join(dir, "layout"), filepath.Join(dir, "oci.tar"), false)
	tarOfDir(t, filepath.Join(dir, "layout"), filepath.Join(dir, "oci.tar.gz"), true)
	tarOfDirDot(t, filepath.Join(dir, "layout"), filepath.Join(dir, "oci-dot.tar"))

	for _, tc := range []struct {
		input string // archive in dir
		want  string // stdout of ctl load
	}{
		{"classic.tar", "Loaded image: nginx:1\nLoaded image: user/dup:v1\n"},
		{"classic.tar.gz", "Loaded image: nginx:1\nLoaded image: user/dup:v1\n"},
		{"ggcr.tar", "Loaded image: nginx:1\n"},
		{"layout", "Loaded image: nginx:1\n"},
		{"oci.tar", "Loaded image: nginx:1\n"},
		{"oci.tar.gz", "Loaded image: nginx:1\n"},
		{"oci-dot.tar", "Loaded image: nginx:1\n"}, // tar -C layout -cf oci-dot.tar .
	} {
		t.Run(tc.input, func(t *testing.T) {
			t.Parallel()
			e := testenv.NewEnv(t)
			r := e.Run(t, "load", "-i", filepath.Join(dir, tc.input))
			wantCode(t, r, 0)
			lines := strings.SplitAfter(r.Stdout, "\n")
			slices.Sort(lines)
			if got := strings.Join(lines, ""); got != tc.want {
				t.Fatalf("stdout %q, want %q", got, tc.want)
			}
			r = e.Run(t, "images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", "nginx")
			wantCode(t, r, 0)
			if want := "nginx:1 " + imageID(t, img) + "\n"; r.Stdout != want {
				t.Fatalf("images: %q, want %q", r.Stdout, want)
			}
			// Loading again changes nothing and still works.
			wantCode(t, e.Run(t, "load", "-q", "-i", filepath.Join(dir, tc.input)), 0)
		})
	}
}

func TestStoreTagImagesRmiPrune(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	img := randomImage(t, 1<<20, 2)
	other := randomImage(t, 1000, 1)
	archive := filepath.Join(e.Dir, "a.tar")
	testenv.ImagesTar(t, archive, map[string]v1.Image{"image-gallery:latest": img, "busybox:1": other}, false)
	wantCode(t, e.Run(t, "load", "-i", archive), 0)
	id := imageID(t, img)

	// docker's SOURCE forms: name, ID prefix, full ID.
	wantCode(t, e.Run(t, "tag", "image-gallery", "user/image-gallery:v1"), 0)
	wantCode(t, e.Run(t, "tag", id[7:19], "registry.local:5000/gallery/ui:v1", "registry.local:5000/gallery/ui:latest"), 0)
	wantCode(t, e.Run(t, "tag", id, "user/image-gallery:v2"), 0)

	r := e.Run(t, "images", "--filter", "reference=image-gallery", "--filter", "reference=*/image-gallery", "--format", "{{.Repository}}:{{.Tag}}")
	wantCode(t, r, 0)
	if want := "image-gallery:latest\nuser/image-gallery:v1\nuser/image-gallery:v2\n"; r.Stdout != want {
		t.Fatalf("filtered images: %q, want %q", r.Stdout, want)
	}
	r = e.Run(t, "images", "--filter", "reference=*/gallery/ui")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.Stdout, "REPOSITORY   ") || strings.Count(r.Stdout, "registry.local:5000/gallery/ui") != 2 {
		t.Fatalf("table: %q", r.Stdout)
	}
	if !strings.Contains(r.Stdout, id[7:19]) || !strings.Contains(r.Stdout, "MB") {
		t.Fatalf("table lacks the short ID or a human size: %q", r.Stdout)
	}
	r = e.Run(t, "images", "-q")
	wantCode(t, r, 0)
	if ids := strings.Fields(r.Stdout); len(ids) != 2 || !slices.Contains(ids, id[7:19]) {
		t.Fatalf("images -q: %q", r.Stdout)
	}
	// A classic docker save has no manifest: ctl writes one (OCI), so the
	// digest is ctl's, stable across loads.
	r = e.Run(t, "images", "--format", "{{.Digest}}", "image-gallery")
	wantCode(t, r, 0)
	dig := strings.TrimSpace(r.Stdout)
	r = e.Run(t, "images", "--digests", "user/image-gallery:v1")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "DIGEST") || !strings.HasPrefix(dig, "sha256:") || !strings.Contains(r.Stdout, dig) {
		t.Fatalf("--digests: %q", r.Stdout)
	}
	r = e.Run(t, "images", "--format", "json", "busybox")
	wantCode(t, r, 0)
	var row map[string]string
	if err := json.Unmarshal([]byte(r.Stdout), &row); err != nil || row["Repository"] != "busybox" || row["Tag"] != "1" {
		t.Fatalf("json: %q %v", r.Stdout, err)
	}
	r = e.Run(t, "image", "inspect", "--format", "{{.Id}} {{len .RepoTags}}", "image-gallery")
	wantCode(t, r, 0)
	if want := id + " 5\n"; r.Stdout != want {
		t.Fatalf("inspect: %q, want %q", r.Stdout, want)
	}

	// Errors: digest target, unknown source, bad filter.
	wantCode(t, e.Run(t, "tag", "image-gallery", "x@"+dig), 2)
	r = e.Run(t, "tag", "nope:1", "x:1")
	wantCode(t, r, 3)
	if !strings.Contains(r.Stderr, "Error: no such image: nope:1") {
		t.Fatalf("stderr %q", r.Stderr)
	}
	wantCode(t, e.Run(t, "images", "--filter", "color=red"), 2)
	// A template naming a field a row does not have is a bad --format,
	// like one that does not parse: exit 2, nothing on stdout.
	for _, format := range []string{"{{.Nope}}", "table {{.Nope}}"} {
		r = e.Run(t, "images", "--format", format)
		wantCode(t, r, 2)
		if r.Stdout != "" || !strings.Contains(r.Stderr, "invalid --format template") {
			t.Fatalf("images --format %q: stdout %q stderr %q", format, r.Stdout, r.Stderr)
		}
	}

	// rmi: by ID needs -f with several repositories; the last reference deletes.
	wantCode(t, e.Run(t, "rmi", id[7:19]), 1)
	r = e.Run(t, "rmi", "user/image-gallery:v1")
	wantCode(t, r, 0)
	if r.Stdout != "Untagged: user/image-gallery:v1\n" {
		t.Fatalf("rmi tag: %q", r.Stdout)
	}
	// --format: one object per removed reference or image.
	r = e.Run(t, "rmi", "--format", "json", "user/image-gallery:v2")
	wantCode(t, r, 0)
	if r.Stdout != `{"reference":"user/image-gallery:v2","untagged":true}`+"\n" {
		t.Fatalf("rmi --format json: %q", r.Stdout)
	}
	r = e.Run(t, "rmi", "-f", "--format", "{{if .Untagged}}U{{else}}D {{.Reference}}{{end}}", id[7:19])
	wantCode(t, r, 0)
	if r.Stdout != "U\nU\nU\nD "+id+"\n" {
		t.Fatalf("rmi -f --format: %q", r.Stdout)
	}
	r = e.Run(t, "rmi", "image-gallery")
	wantCode(t, r, 3)
	if !strings.Contains(r.Stderr, "Error: no such image: image-gallery") {
		t.Fatalf("stderr %q", r.Stderr)
	}
	wantCode(t, e.Run(t, "image", "prune"), 2) // not a terminal: --force required
	r = e.Run(t, "image", "prune", "--force")
	wantCode(t, r, 0)
	if !regexp.MustCompile(`^Total reclaimed space: 2(\.[0-9]+)?MB\n$`).MatchString(r.Stdout) {
		t.Fatalf("prune: %q", r.Stdout)
	}
	r = e.Run(t, "image", "prune", "--force", "--format", "json")
	wantCode(t, r, 0)
	if r.Stdout != `{"deleted":[],"spaceReclaimed":0}`+"\n" {
		t.Fatalf("prune --format json: %q", r.Stdout)
	}
	// busybox is intact.
	r = e.Run(t, "save", "-o", filepath.Join(e.Dir, "b.tar"), "busybox:1")
	wantCode(t, r, 0)
}

func TestStoreSaveLoadRoundTrip(t *testing.T) {
	t.Parallel()
	src := testenv.NewEnv(t)
	img := randomImage(t, 200<<10, 3)
	archive := filepath.Join(src.Dir, "in.tar")
	testenv.ImagesTar(t, archive, map[string]v1.Image{"localhost:5000/app:v1": img}, false)
	wantCode(t, src.Run(t, "load", "-i", archive), 0)
	wantCode(t, src.Run(t, "tag", "localhost:5000/app:v1", "localhost:5000/app:v2"), 0)
	list := func(e *testenv.Env) string {
		r := e.Run(t, "images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Digest}} {{.Size}}")
		wantCode(t, r, 0)
		return r.Stdout
	}
	want := list(src)
	for _, format := range []string{"docker", "oci"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out.tar")
			// A repository name alone saves all its tags, as docker save does.
			wantCode(t, src.Run(t, "save", "--format", format, "-o", out, "localhost:5000/app"), 0)
			if format == "docker" {
				// ggcr's docker tarball reader (what crane uses) reads it.
				tag, _ := name.NewTag("localhost:5000/app:v2")
				back, err := tarball.ImageFromPath(out, &tag)
				if err != nil {
					t.Fatal(err)
				}
				if id, _ := back.ConfigName(); id.String() != imageID(t, img) {
					t.Fatalf("tarball reader got %s", id)
				}
			}
			dst := testenv.NewEnv(t)
			r := dst.Run(t, "load", "-i", out)
			wantCode(t, r, 0)
			if r.Stdout != "Loaded image: localhost:5000/app:v1\nLoaded image: localhost:5000/app:v2\n" {
				t.Fatalf("load: %q", r.Stdout)
			}
			if got := list(dst); got != want {
				t.Fatalf("after round trip:\n%s\nwant:\n%s", got, want)
			}
			// The same archive from standard input.
			viaStdin := testenv.NewEnv(t)
			r = viaStdin.RunStdin(t, string(mustRead(t, out)), "load", "-q")
			wantCode(t, r, 0)
			// -q drops progress only: the results print, as docker load -q's.
			if r.Stdout != "Loaded image: localhost:5000/app:v1\nLoaded image: localhost:5000/app:v2\n" {
				t.Fatalf("load -q: %q", r.Stdout)
			}
			if got := list(viaStdin); got != want {
				t.Fatalf("after load from stdin:\n%s\nwant:\n%s", got, want)
			}
		})
	}

	// -o naming a device or a named pipe (/dev/null, /dev/stdout) writes
	// into it: the save must not rename a file over it.
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		read <- b
	}()
	wantCode(t, src.Run(t, "save", "-o", fifo, "localhost:5000/app:v1"), 0)
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("save -o PIPE replaced the pipe: %v %v", fi.Mode(), err)
	}
	viaPipe := testenv.NewEnv(t)
	r := viaPipe.RunStdin(t, string(<-read), "load")
	wantCode(t, r, 0)
	if r.Stdout != "Loaded image: localhost:5000/app:v1\n" {
		t.Fatalf("load of what went through the pipe: %q", r.Stdout)
	}

	// -o in a directory that does not exist: exit 2 naming the path asked
	// for, not the temp file written beside it.
	missing := filepath.Join(t.TempDir(), "missing", "file.tar")
	r = src.Run(t, "save", "-o", missing, "localhost:5000/app:v1")
	if want := "Error: writing " + missing + ": no such file or directory\n"; r.Code != 2 || r.Stderr != want {
		t.Errorf("save -o in a missing directory: exit %d stderr %q, want exit 2 and %q", r.Code, r.Stderr, want)
	}
}

func TestStoreBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img := randomImage(t, 1000, 1)
	good := classicEntries(t, map[string]v1.Image{"app:1": img})
	manifest := good[len(good)-1]
	writeTar(t, filepath.Join(dir, "traversal.tar"), false, []tarEntry{{hdr: tar.Header{Name: "../../evil"}, body: []byte("x")}, manifest})
	writeTar(t, filepath.Join(dir, "abs.tar"), false, []tarEntry{{hdr: tar.Header{Name: "/etc/evil"}, body: []byte("x")}, manifest})
	escape := append([]tarEntry{}, good...)
	for i, en := range escape {
		if strings.HasSuffix(en.hdr.Name, "layer.tar") {
			escape[i] = tarEntry{hdr: tar.Header{Name: en.hdr.Name, Typeflag: tar.TypeSymlink, Linkname: "../../../etc/passwd"}}
		}
	}
	writeTar(t, filepath.Join(dir, "symlink.tar"), false, escape)
	hard := append([]tarEntry{}, good...)
	for i, en := range hard {
		if strings.HasSuffix(en.hdr.Name, "layer.tar") {
			hard[i] = tarEntry{hdr: tar.Header{Name: en.hdr.Name, Typeflag: tar.TypeLink, Linkname: "../outside"}}
		}
	}
	writeTar(t, filepath.Join(dir, "hardlink.tar"), false, hard)
	// A layer whose bytes do not match the config's diff_id.
	tampered := append([]tarEntry{}, good...)
	for i, en := range tampered {
		if strings.HasSuffix(en.hdr.Name, "layer.tar") {
			tampered[i] = tarEntry{hdr: tar.Header{Name: en.hdr.Name}, body: []byte("not the layer")}
		}
	}
	writeTar(t, filepath.Join(dir, "tampered.tar"), false, tampered)
	writeTar(t, filepath.Join(dir, "empty.tar"), false, nil)
	if err := os.WriteFile(filepath.Join(dir, "garbage.tar"), []byte("this is not a tar archive at all, not even close................"), 0o644); err != nil {
		t.Fatal(err)
	}
	full := mustRead(t, filepath.Join(dir, "tampered.tar"))
	os.WriteFile(filepath.Join(dir, "truncated.tar"), full[:len(full)/2], 0o644)
	// An OCI layout whose blob is a symlink out of the layout.
	ociLayout(t, filepath.Join(dir, "layout"), img, "docker.io/library/app:1")
	cfg, _ := img.ConfigName()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("secret"), 0o644)
	blob := filepath.Join(dir, "layout", "blobs", "sha256", cfg.Hex)
	os.Remove(blob)
	if err := os.Symlink(secret, blob); err != nil {
		t.Fatal(err)
	}
	// A manifest declaring a negative size.
	negLayout(t, filepath.Join(dir, "negative"), img)
	// xz, which ctl does not decompress.
	os.WriteFile(filepath.Join(dir, "app.tar.xz"), append([]byte{0xfd, '7', 'z', 'X', 'Z', 0}, full[:100]...), 0o644)
	// A name whose digest is not the image's.
	ociLayout(t, filepath.Join(dir, "wrong-digest"), img, "docker.io/library/app:1@sha256:"+strings.Repeat("0", 64))

	e := testenv.NewEnv(t)
	wantCode(t, e.Run(t, "load", "-i", filepath.Join(dir, "empty.tar")), 2) // creates the store
	before := storeState(t, e)
	for _, tc := range []struct {
		input string
		msg   string // in stderr
	}{
		{"missing.tar", "no such file"},
		{"garbage.tar", "Error: "},
		{"traversal.tar", "escapes the archive"},
		{"abs.tar", "escapes the archive"},
		{"symlink.tar", "escapes the archive"},
		{"hardlink.tar", "escapes the archive"},
		{"tampered.tar", "the config says"},
		{"truncated.tar", "Error: "},
		{"layout", "Error: "},
		{"negative", "has a negative size (-1)"},
		{"app.tar.xz", "the archive is xz-compressed, which ctl does not read"},
		{"wrong-digest", `archive names an image "docker.io/library/app:1@sha256:000`},
	} {
		t.Run(tc.input, func(t *testing.T) {
			r := e.Run(t, "load", "-i", filepath.Join(dir, tc.input))
			wantCode(t, r, 2)
			if !strings.Contains(r.Stderr, tc.msg) || r.Stdout != "" {
				t.Fatalf("stderr %q, stdout %q", r.Stderr, r.Stdout)
			}
			if after := storeState(t, e); after != before {
				t.Fatalf("the store changed:\n%s\n%s", before, after)
			}
		})
	}
	// A store that cannot be created: a clear error, exit 1.
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	r := e.Run(t, "--store", filepath.Join(notDir, "store"), "image", "prune", "--force")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "Error: creating the image store") {
		t.Fatalf("stderr %q", r.Stderr)
	}
	// images and tag create nothing: the same directory is one they
	// cannot open.
	r = e.Run(t, "--store", filepath.Join(notDir, "store"), "tag", "a", "b")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "Error: opening the image store") {
		t.Fatalf("stderr %q", r.Stderr)
	}
	r = e.Run(t, "--store", filepath.Join(notDir, "store"), "images")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "Error: opening the image store") {
		t.Fatalf("stderr %q", r.Stderr)
	}
}

// negLayout writes an OCI layout of img whose manifest says its config has
// -1 bytes.
func negLayout(t *testing.T, dir string, img v1.Image) {
	t.Helper()
	ociLayout(t, dir, img, "docker.io/library/app:1")
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	m = m.DeepCopy()
	m.Config.Size = -1
	raw, _ := json.Marshal(m)
	h, _, _ := v1.SHA256(strings.NewReader(string(raw)))
	if err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", h.Hex), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "index.json")), &idx); err != nil {
		t.Fatal(err)
	}
	idx.Manifests[0].Digest, idx.Manifests[0].Size = h, int64(len(raw))
	b, _ := json.Marshal(idx)
	if err := os.WriteFile(filepath.Join(dir, "index.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStoreReadOnlyCommands: images, image inspect and save only read the
// store: they make no lock file in it (a store of another user's is left as
// it was), and create no store where none is.
func TestStoreReadOnlyCommands(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	img := randomImage(t, 1000, 1)
	archive := filepath.Join(e.Dir, "in.tar")
	testenv.ImagesTar(t, archive, map[string]v1.Image{"app:v1": img}, false)
	wantCode(t, e.Run(t, "load", "-i", archive), 0)
	for _, l := range []string{"index.lock", "gc.lock"} {
		if err := os.Remove(filepath.Join(e.Store, l)); err != nil {
			t.Fatal(err)
		}
	}
	before := storeState(t, e)
	ls := func(dir string) []string {
		ents, _ := os.ReadDir(dir)
		var names []string
		for _, en := range ents {
			names = append(names, en.Name())
		}
		return names
	}
	files := ls(e.Store)
	out := filepath.Join(t.TempDir(), "out.tar")
	for _, args := range [][]string{
		{"images"},
		{"images", "--digests", "--format", "json"},
		{"image", "inspect", "app:v1"},
		{"save", "-o", out, "app:v1"},
	} {
		wantCode(t, e.Run(t, args...), 0)
		if got := ls(e.Store); !slices.Equal(got, files) || storeState(t, e) != before {
			t.Fatalf("%v changed the store: %v, was %v", args, got, files)
		}
	}
	none := filepath.Join(t.TempDir(), "none")
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"images"}, 0},
		{[]string{"image", "inspect", "app:v1"}, 3},
		{[]string{"save", "-o", out, "app:v1"}, 3},
	} {
		r := e.Run(t, append([]string{"--store", none}, tc.args...)...)
		wantCode(t, r, tc.code)
		if _, err := os.Stat(none); !os.IsNotExist(err) {
			t.Fatalf("%v made a store: %v", tc.args, err)
		}
	}
}

func TestStoreConcurrentProcesses(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	base := randomImage(t, 1000, 1)
	archive := filepath.Join(e.Dir, "base.tar")
	testenv.ImagesTar(t, archive, map[string]v1.Image{"base:1": base}, false)
	wantCode(t, e.Run(t, "load", "-i", archive), 0)
	var archives []string
	for i := range 3 {
		p := filepath.Join(e.Dir, fmt.Sprintf("a%d.tar", i))
		// Shared layers: the loads race on the same blobs.
		img, err := mutate.AppendLayers(base, mustLayers(t, randomImage(t, 64<<10, 2))...)
		if err != nil {
			t.Fatal(err)
		}
		testenv.ImagesTar(t, p, map[string]v1.Image{fmt.Sprintf("app%d:v1", i): img}, false)
		archives = append(archives, p)
	}
	var wg sync.WaitGroup
	results := make([]testenv.Result, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i < 3 {
				results[i] = e.Run(t, "load", "-q", "-i", archives[i])
			} else {
				results[i] = e.Run(t, "tag", "base:1", fmt.Sprintf("tagged%d:v1", i))
			}
		}()
	}
	wg.Wait()
	for _, r := range results {
		wantCode(t, r, 0)
	}
	r := e.Run(t, "images", "--format", "{{.Repository}}:{{.Tag}}")
	wantCode(t, r, 0)
	got := strings.Fields(r.Stdout)
	slices.Sort(got)
	want := []string{"app0:v1", "app1:v1", "app2:v1", "base:1", "tagged3:v1", "tagged4:v1", "tagged5:v1"}
	if !slices.Equal(got, want) {
		t.Fatalf("images %v, want %v", got, want)
	}
}

func mustLayers(t *testing.T, img v1.Image) []v1.Layer {
	t.Helper()
	l, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestStoreLoadKilledMidway(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	img := randomImage(t, 24<<20, 3)
	archive := filepath.Join(e.Dir, "big.tar.gz")
	writeTar(t, archive, true, classicEntries(t, map[string]v1.Image{"big:1": img}))
	wantCode(t, e.Run(t, "image", "prune", "--force"), 0) // makes the store

	cmd := exec.Command(testenv.CtlBinary(t), "load", "-i", archive)
	cmd.Env = e.Environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // should the wait fail the test
	// Kill it once it is writing blobs: a temp file has content.
	testenv.WaitFor(t, time.Minute, "a temp file of over 1 MiB in the store", func() bool {
		tmp := testenv.StoreTempFiles(t, e.Store)
		if len(tmp) == 0 {
			return false
		}
		fi, err := os.Stat(filepath.Join(e.Store, "tmp", tmp[0]))
		return err == nil && fi.Size() > 1<<20
	})
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if ps := cmd.ProcessState; ps.Success() {
		t.Fatal("the load finished before it could be killed")
	}
	r := e.Run(t, "images", "-q")
	wantCode(t, r, 0)
	if r.Stdout != "" {
		t.Fatalf("a killed load left an image: %q", r.Stdout)
	}
	if len(testenv.StoreTempFiles(t, e.Store)) == 0 {
		t.Fatal("the killed load left no temp file: the test killed it too late")
	}
	// The next write reclaims the dead load's temp files (its lock is free).
	r = e.Run(t, "load", "-i", archive)
	wantCode(t, r, 0)
	if r.Stdout != "Loaded image: big:1\n" {
		t.Fatalf("reload: %q", r.Stdout)
	}
	if tmp := testenv.StoreTempFiles(t, e.Store); len(tmp) != 0 {
		t.Fatalf("the reload left the killed load's temp files: %v", tmp)
	}
	r = e.Run(t, "image", "prune", "-f")
	wantCode(t, r, 0)
	if ents := testenv.StoreTempFiles(t, e.Store); len(ents) != 0 {
		t.Fatalf("temp files left after prune: %v", ents)
	}
	wantCode(t, e.Run(t, "save", "-o", filepath.Join(e.Dir, "out.tar"), "big:1"), 0)
}

// TestStoreLoadPeakRSS: loading 5 x 48 MiB of layers streams them; the
// process never holds a layer in memory. The peak is read from
// /proc/PID/status (VmHWM): the rusage of a child started by Go includes the
// parent's memory at exec (Linux keeps the pre-exec high-water mark).
func TestStoreLoadPeakRSS(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	archive := filepath.Join(e.Dir, "big.tar")
	testenv.DockerSaveTar(t, archive, 5, 48<<20)
	cmd := exec.Command(testenv.CtlBinary(t), "load", "-i", archive)
	cmd.Env = e.Environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var peak int64
	status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	for {
		if b, err := os.ReadFile(status); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					var kb int64
					fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
					peak = max(peak, kb<<10)
				}
			}
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			t.Logf("peak RSS of ctl load of 240 MiB: %.1f MiB", float64(peak)/(1<<20))
			if peak == 0 || peak > 96<<20 {
				t.Fatalf("peak RSS %.1f MiB, want under 96 MiB", float64(peak)/(1<<20))
			}
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestStoreSaveDuplicates: a name given twice, a repository and one of its
// tags, an image by reference and by ID: each name once in the archive,
// as docker save writes it, and the archive loads.
func TestStoreSaveDuplicates(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	img := randomImage(t, 1000, 1)
	archive := filepath.Join(e.Dir, "in.tar")
	testenv.ImagesTar(t, archive, map[string]v1.Image{"app:v1": img}, false)
	wantCode(t, e.Run(t, "load", "-i", archive), 0)
	wantCode(t, e.Run(t, "tag", "app:v1", "app:v2"), 0)
	out := filepath.Join(t.TempDir(), "out.tar")
	wantCode(t, e.Run(t, "save", "-o", out, "app:v1", "app:v1", "app", imageID(t, img), "app:v2"), 0)
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	members := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		b := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, b); err != nil {
			t.Fatal(err)
		}
		if _, dup := members[hdr.Name]; dup {
			t.Errorf("member %s twice", hdr.Name)
		}
		members[hdr.Name] = b
	}
	var dm []struct{ RepoTags []string }
	if err := json.Unmarshal(members["manifest.json"], &dm); err != nil || len(dm) != 1 || !slices.Equal(dm[0].RepoTags, []string{"app:v1", "app:v2"}) {
		t.Errorf("manifest.json %s", members["manifest.json"])
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(members["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range idx.Manifests {
		names = append(names, d.Annotations["io.containerd.image.name"])
	}
	if !slices.Equal(names, []string{"docker.io/library/app:v1", "docker.io/library/app:v2"}) {
		t.Errorf("index.json names %q: %s", names, members["index.json"])
	}
	tag, _ := name.NewTag("app:v2")
	if _, err := tarball.ImageFromPath(out, &tag); err != nil {
		t.Errorf("docker's tarball reader: %v", err)
	}
	dst := testenv.NewEnv(t)
	r := dst.Run(t, "load", "-i", out)
	wantCode(t, r, 0)
	if r.Stdout != "Loaded image: app:v1\nLoaded image: app:v2\n" {
		t.Errorf("load: %q", r.Stdout)
	}
}
