package cmd

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestStoreCommandFlags(t *testing.T) {
	t.Parallel()
	io, _, _ := TestIO("")
	f := &Factory{IO: io, Opts: &GlobalOptions{}}
	run := func(c interface {
		SetArgs([]string)
		Execute() error
	}, args ...string) error {
		c.SetArgs(args)
		return c.Execute()
	}
	var lo *loadOptions
	if err := run(newLoadCmd(f, func(o *loadOptions) error { lo = o; return nil }), "--input", "x.tar", "-q"); err != nil || lo.Input != "x.tar" || !lo.Quiet {
		t.Errorf("load: %+v %v", lo, err)
	}
	var so *saveOptions
	if err := run(newSaveCmd(f, func(o *saveOptions) error { so = o; return nil }), "-o", "o.tar", "--format", "oci", "a", "b"); err != nil || so.Output != "o.tar" || so.Format != "oci" || len(so.Refs) != 2 {
		t.Errorf("save: %+v %v", so, err)
	}
	var to *tagOptions
	if err := run(newTagCmd(f, func(o *tagOptions) error { to = o; return nil }), "src", "t1", "t2"); err != nil || to.Source != "src" || len(to.Targets) != 2 {
		t.Errorf("tag: %+v %v", to, err)
	}
	if err := run(newTagCmd(f, func(*tagOptions) error { return nil }), "src"); err == nil {
		t.Error("tag with one argument accepted")
	}
	var io2 *imagesOptions
	if err := run(newImagesCmd(f, func(o *imagesOptions) error { io2 = o; return nil }), "--filter", "reference=a", "-f", "reference=*/a", "-q", "--digests", "--no-trunc", "nginx"); err != nil ||
		len(io2.Filters) != 2 || !io2.Quiet || !io2.Digests || !io2.NoTrunc || io2.Repo != "nginx" {
		t.Errorf("images: %+v %v", io2, err)
	}
	var ro *rmiOptions
	if err := run(newRmiCmd(f, func(o *rmiOptions) error { ro = o; return nil }), "-f", "a", "b"); err != nil || !ro.Force || len(ro.Refs) != 2 {
		t.Errorf("rmi: %+v %v", ro, err)
	}
}

func TestHumanUnits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0B"}, {999, "999B"}, {1000, "1kB"}, {7_800_000, "7.8MB"}, {12_345_678, "12.3MB"}, {123_456_789, "123MB"}, {1_500_000_000, "1.5GB"}} {
		if got := humanSize(tc.n); got != tc.want {
			t.Errorf("humanSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "Less than a second"}, {time.Second, "1 second"}, {30 * time.Second, "30 seconds"},
		{time.Minute, "About a minute"}, {5 * time.Minute, "5 minutes"}, {time.Hour, "About an hour"},
		{5 * time.Hour, "5 hours"}, {50 * time.Hour, "2 days"}, {15 * 24 * time.Hour, "2 weeks"},
		{90 * 24 * time.Hour, "3 months"}, {3 * 365 * 24 * time.Hour, "3 years"},
	} {
		if got := humanDuration(tc.d); got != tc.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestRunImagesOutput(t *testing.T) {
	t.Parallel()
	s, err := store.Open(filepath.Join(t.TempDir(), "s"))
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(1000, 1)
	r, _ := reference.Parse("user/app:v1")
	e, err := s.WriteImage(context.Background(), img, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format string
		want   string
	}{
		{"{{.Repository}} {{.Tag}} {{.ID}}", "user/app v1 " + e.ID.Hex[:12] + "\n"},
		{"table {{.Repository}}\t{{.Tag}}", "REPOSITORY   TAG\nuser/app     v1\n"},
		// As typed in a shell: docker reads a literal \t as a tab.
		{`table {{.Repository}}\t{{.Tag}}`, "REPOSITORY   TAG\nuser/app     v1\n"},
		{`{{.Repository}}\t{{.Tag}}\n`, "user/app\tv1\n\n"},
		{"json", `"Repository":"user/app"`},
	} {
		io, out, _ := TestIO("")
		opts := &imagesOptions{IO: io, Store: func() (*store.Store, error) { return s, nil }, Format: tc.format, Now: time.Now}
		if err := runImages(t.Context(), opts); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("--format %q: %q, want %q", tc.format, out.String(), tc.want)
		}
	}
}

// TestLocalImageCompletion: the commands that take local images complete
// them live from the store, the way the shell asks (ctl __complete ...).
func TestLocalImageCompletion(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "s")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(100, 1)
	for _, ref := range []string{"user/app:v1", "user/app:v2", "localhost:5000/gallery/ui:1", "nginx"} {
		r, _ := reference.Parse(ref)
		if _, err := s.WriteImage(context.Background(), img, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"push", "user/"}, "user/app:v1\nuser/app:v2\n"},
		{[]string{"push", "user/app:v1", ""}, ""},
		{[]string{"rmi", "user/app:v1", "loc"}, "localhost:5000/gallery/ui:1\n"},
		{[]string{"tag", "ng"}, "nginx:latest\n"},
		{[]string{"save", "-o", "x.tar", "docker.io/library/"}, "docker.io/library/nginx:latest\n"},
		{[]string{"images", "user/app:v2"}, "user/app:v2\n"},
		{[]string{"image", "inspect", "nginx"}, "nginx:latest\n"},
		{[]string{"pull", "user/"}, "user/app:v1\nuser/app:v2\n"}, // no ":" yet: no registry asked
	} {
		out, _, code := run(t, append([]string{"__complete", "--store", dir}, tc.args...)...)
		got, _, _ := strings.Cut(out, ":4\n")
		if code != 0 || got != tc.want {
			t.Errorf("complete %q: %q (exit %d), want %q", tc.args, out, code, tc.want)
		}
	}
	// A store that does not exist completes to nothing and is not created.
	missing := filepath.Join(t.TempDir(), "none")
	if out, _, _ := run(t, "__complete", "--store", missing, "rmi", ""); out != ":4\n" {
		t.Errorf("missing store: %q", out)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("completion created a store")
	}
}

// TestLoadFormat: load prints docker's line, or one object per image with
// --format.
func TestLoadFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img, _ := random.Image(100, 1)
	tag, _ := name.NewTag("user/app:v1")
	archive := filepath.Join(dir, "app.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	id, _ := img.ConfigName()
	for format, want := range map[string]string{
		"text":                   "Loaded image: user/app:v1\n",
		"json":                   `{"reference":"user/app:v1","id":"` + id.String() + `","digest":"sha256:`,
		"{{.Reference}} {{.ID}}": "user/app:v1 " + id.String() + "\n",
	} {
		out, errOut, code := run(t, "--store", filepath.Join(dir, "s"), "load", "--format", format, "-i", archive)
		if code != 0 || !(out == want || format == "json" && strings.HasPrefix(out, want) && strings.HasSuffix(out, "\"}\n")) {
			t.Errorf("load --format %s: exit %d, stdout %q, want %q (%s)", format, code, out, want, errOut)
		}
	}
}

// TestInspectLocalImage: ctl inspect of a name without a registry that
// the store holds points to ctl image inspect, without asking Docker Hub.
func TestInspectLocalImage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img, _ := random.Image(100, 1)
	tag, _ := name.NewTag("image-gallery:latest")
	archive := filepath.Join(dir, "app.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "s")
	if _, errOut, code := run(t, "--store", store, "load", "-i", archive); code != 0 {
		t.Fatalf("load: %s", errOut)
	}
	out, errOut, code := run(t, "--store", store, "inspect", "image-gallery")
	if want := "Error: image-gallery is a local image, and ctl inspect reads registries\nrun: ctl image inspect image-gallery (or name the registry, e.g. ctl inspect docker.io/library/image-gallery, for its copy there)\n"; code != 2 || out != "" || errOut != want {
		t.Errorf("inspect of a local image: exit %d stdout %q stderr %q, want %q", code, out, errOut, want)
	}
	// A template naming a field the rows lack lists theirs, no Go types.
	_, errOut, code = run(t, "--store", store, "images", "--format", "{{.Nope}}")
	if code != 2 || !strings.Contains(errOut, "no field .Nope (the fields are .") || !strings.Contains(errOut, " .Repository ") || strings.Contains(errOut, "cmd.") {
		t.Errorf("images --format {{.Nope}}: exit %d stderr %q", code, errOut)
	}
}

// TestImagePruneAll: image prune -a, docker's shorthand, removes tagged
// images too (the store has no containers to keep them in use).
func TestImagePruneAll(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img, _ := random.Image(100, 1)
	tag, _ := name.NewTag("user/app:v1")
	archive := filepath.Join(dir, "app.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "s")
	run(t, "--store", store, "load", "-i", archive)
	if out, errOut, code := run(t, "--store", store, "image", "prune", "-f"); code != 0 || strings.Contains(out, "deleted:") {
		t.Fatalf("prune without -a: exit %d stdout %q stderr %q; want the tagged image kept", code, out, errOut)
	}
	id, _ := img.ConfigName()
	out, errOut, code := run(t, "--store", store, "image", "prune", "-a", "-f")
	if code != 0 || !strings.HasPrefix(out, "Deleted Images:\ndeleted: "+id.String()+"\n\nTotal reclaimed space: ") {
		t.Errorf("prune -a: exit %d stdout %q stderr %q", code, out, errOut)
	}
	if out, _, _ := run(t, "--store", store, "images", "-q"); out != "" {
		t.Errorf("images left after prune -a: %q", out)
	}
}

// TestLoadProgress: load -i on a terminal draws a bar of the archive's
// bytes on stderr and clears it at the end; -q and a pipe draw nothing.
func TestLoadProgress(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img, _ := random.Image(300_000, 2)
	tag, _ := name.NewTag("user/app:v1")
	archive := filepath.Join(dir, "app.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tty, quiet bool
		bar        bool
	}{{true, false, true}, {true, true, false}, {false, false, false}} {
		ios, out, errOut := TestIO("")
		ios.StderrTTY = tc.tty
		args := []string{"--store", filepath.Join(t.TempDir(), "s"), "load", "-i", archive}
		if tc.quiet {
			args = append(args, "-q")
		}
		if code := Main(context.Background(), ios, args); code != 0 || out.String() != "Loaded image: user/app:v1\n" {
			t.Fatalf("%+v: exit %d stdout %q stderr %q", tc, code, out, errOut)
		}
		drawn := strings.Contains(errOut.String(), "Loading app.tar") && strings.Contains(errOut.String(), "100%") && strings.HasSuffix(errOut.String(), "\r\x1b[2K")
		if drawn != tc.bar || !tc.bar && errOut.Len() != 0 {
			t.Errorf("%+v: stderr %q", tc, errOut)
		}
	}
}

// TestWriteFileAtomicErrors: failures name the file the user asked for,
// not the temp file beside it; one that cannot be created is exit 2.
func TestWriteFileAtomicErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing", "file.tar")
	err := writeFileAtomic(missing, func(w io.Writer) error { return nil })
	if code, _ := exitCode(err); code != exitUsage || !errors.Is(err, fs.ErrNotExist) ||
		err.Error() != "writing "+missing+": no such file or directory" {
		t.Errorf("missing directory: %v (exit %d)", err, code)
	}

	out := filepath.Join(t.TempDir(), "out.tar")
	err = writeFileAtomic(out, func(w io.Writer) error {
		return &fs.PathError{Op: "write", Path: w.(*os.File).Name(), Err: syscall.ENOSPC}
	})
	if code, _ := exitCode(err); code != exitFailure || err.Error() != "writing "+out+": no space left on device" {
		t.Errorf("full disk: %v (exit %d)", err, code)
	}
	// Save's own errors (about store files) pass unchanged.
	blob := &fs.PathError{Op: "open", Path: "/store/blobs/sha256/ab", Err: fs.ErrNotExist}
	if err := writeFileAtomic(out, func(io.Writer) error { return blob }); err != blob {
		t.Errorf("a store error became %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}
