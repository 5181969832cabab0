package bounded

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		want       string // content, or the error's text
		limit      int64
	}{
		{"regular", write("ok", "hello"), "hello", 5},
		{"too large", write("big", "hello!"), "is larger than the limit of 5 bytes", 5},
		{"FIFO", fifo, "is a FIFO, not a regular file", 1 << 20},
		{"link to a device", zero, "is a device, not a regular file", 1 << 20},
		{"directory", sub, "is a directory, not a regular file", 1 << 20},
		{"procfs file that says 0 bytes", "/proc/self/maps", "is larger than the limit of 16 bytes", 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			var b []byte
			var err error
			go func() { b, err = ReadFile(tc.path, tc.limit); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("ReadFile(%s) still blocked after 10s", tc.path)
			}
			if err == nil {
				if string(b) != tc.want {
					t.Fatalf("read %q, want %q", b, tc.want)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Base(tc.path)) {
				t.Fatalf("error %v (%T), want an *Error naming the file and saying %q", err, err, tc.want)
			}
		})
	}
}

func TestOpenInRefusesFIFO(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "index.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	done := make(chan error, 1)
	go func() { _, _, err := OpenIn(root, "index.json"); done <- err }()
	select {
	case err := <-done:
		var e *Error
		if !errors.As(err, &e) || e.Kind != "a FIFO" {
			t.Fatalf("OpenIn: %v, want a FIFO refused", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OpenIn blocked on a FIFO")
	}
}
