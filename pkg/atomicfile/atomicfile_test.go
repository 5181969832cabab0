package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteFile: the content is replaced, an existing file keeps its mode,
// a new one is 0644, and no temporary file is left.
func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new")); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "index.json")
	if err := WriteFile(fresh, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path, content string
		mode          fs.FileMode
	}{{p, "new", 0o600}, {fresh, "{}", 0o644}} {
		b, _ := os.ReadFile(c.path)
		fi, _ := os.Stat(c.path)
		if string(b) != c.content || fi.Mode().Perm() != c.mode {
			t.Errorf("%s: content %q mode %v, want %q %v", c.path, b, fi.Mode(), c.content, c.mode)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("temporary files left: %v", ents)
	}
}

// TestWriteFileSymlink: a symlinked file stays a link and the file it
// points to (in another directory) gets the new content and keeps its
// mode.
func TestWriteFileSymlink(t *testing.T) {
	t.Parallel()
	dir, shared := t.TempDir(), t.TempDir()
	target := filepath.Join(shared, "Dockerfile.base")
	if err := os.WriteFile(target, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "Dockerfile")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi, err)
	}
	b, _ := os.ReadFile(target)
	fi, _ := os.Stat(target)
	if string(b) != "new" || fi.Mode().Perm() != 0o640 {
		t.Errorf("target content %q mode %v", b, fi.Mode())
	}
	for _, d := range []string{dir, shared} {
		if ents, _ := os.ReadDir(d); len(ents) != 1 {
			t.Errorf("temporary files left in %s: %v", d, ents)
		}
	}
}

// TestWriteIntoDevice: a path that is not a regular file is written into,
// never renamed over: a named pipe stays a pipe and its reader gets the
// content.
func TestWriteIntoDevice(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- err.Error()
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- string(b)
	}()
	if err := WriteFile(fifo, []byte("archive")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "archive" {
		t.Errorf("the pipe's reader got %q", s)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		t.Errorf("the pipe was replaced: %v %v", fi, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	if err := WriteFile(os.DevNull, []byte("x")); err != nil {
		t.Errorf("writing %s: %v", os.DevNull, err)
	}
}

// TestWriteErrors: failures name the file asked for, not the temporary
// file beside it, and keep their cause; one that cannot be created is a
// *CreateError; an error of write's own about another file passes as it
// is; nothing is left behind, and a failed write leaves the old file.
func TestWriteErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing", "file.tar")
	err := Write(missing, func(io.Writer) error { return nil })
	var ce *CreateError
	if !errors.As(err, &ce) || !errors.Is(err, fs.ErrNotExist) || err.Error() != "writing "+missing+": no such file or directory" {
		t.Errorf("missing directory: %v", err)
	}

	dir := t.TempDir()
	out := filepath.Join(dir, "out.tar")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Write(out, func(w io.Writer) error {
		return &fs.PathError{Op: "write", Path: w.(*os.File).Name(), Err: syscall.ENOSPC}
	})
	if errors.As(err, &ce) || !errors.Is(err, syscall.ENOSPC) || err.Error() != "writing "+out+": no space left on device" {
		t.Errorf("full disk: %v", err)
	}
	other := &fs.PathError{Op: "open", Path: "/store/blobs/sha256/ab", Err: fs.ErrNotExist}
	if err := Write(out, func(io.Writer) error { return other }); err != other {
		t.Errorf("write's own error became %v", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "old" {
		t.Errorf("a failed write changed the file: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestIsTemp: the file Write writes into, which one killed midway leaves,
// is a temporary file of its target and of no other.
func TestIsTemp(t *testing.T) {
	t.Parallel()
	var tmp string
	err := Write(filepath.Join(t.TempDir(), "index.json"), func(w io.Writer) error {
		tmp = filepath.Base(w.(*os.File).Name())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !IsTemp(tmp, "index.json") || IsTemp(tmp, "oci-layout") || IsTemp("index.json", "index.json") {
		t.Errorf("IsTemp is wrong about %q", tmp)
	}
}

// TestWriteReclaimsDeadTemps: a Write removes the temporary files of its
// target that no live writer holds (one a SIGKILL left, unlocked), and
// keeps one a live writer holds locked and those of other targets; its
// own is locked while it writes.
func TestWriteReclaimsDeadTemps(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "app.tar")
	dead := filepath.Join(dir, ".app.tar.tmp-111")
	live := filepath.Join(dir, ".app.tar.tmp-222")
	other := filepath.Join(dir, ".other.tar.tmp-333")
	for _, p := range []string{dead, live, other} {
		if err := os.WriteFile(p, []byte("part"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	held, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := syscall.Flock(int(held.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	err = Write(out, func(w io.Writer) error {
		f, err := os.Open(w.(*os.File).Name())
		if err != nil {
			return err
		}
		defer f.Close()
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			t.Error("the temporary file being written is not locked")
		}
		_, err = w.Write([]byte("new"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the dead writer's temporary file is still there (%v)", err)
	}
	for _, p := range []string{live, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(p), err)
		}
	}
	if b, _ := os.ReadFile(out); string(b) != "new" {
		t.Errorf("wrote %q, want new", b)
	}
}
