package syncplan

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/ctl-dev/ctl/pkg/bounded"
	"github.com/ctl-dev/ctl/pkg/store"
)

// tarOf writes members (name, body) as a tar at a temporary path.
func tarOf(t *testing.T, members ...[2]string) string {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: m[0], Mode: 0o644, Size: int64(len(m[1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m[1]))
	}
	tw.Close()
	path := filepath.Join(t.TempDir(), "a.tar")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestExtractArchive: only an OCI layout's members are taken, never by a
// path leaving the directory; a blob must match its digest; an archive
// without index.json is refused; packing gives back what was extracted.
func TestExtractArchive(t *testing.T) {
	sum := sha256.Sum256([]byte("blob"))
	blob := "blobs/sha256/" + hex.EncodeToString(sum[:])
	dir := t.TempDir()
	path := tarOf(t, [2]string{"./index.json", `{"schemaVersion":2}`}, [2]string{blob, "blob"},
		[2]string{"../../escape", "x"}, [2]string{"blobs/sha256/../../../escape2", "x"}, [2]string{"manifest.json", "[]"})
	if err := extractArchive(path, dir); err != nil {
		t.Fatal(err)
	}
	var got []string
	filepath.WalkDir(filepath.Dir(dir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && p != path {
			got = append(got, p)
		}
		return nil
	})
	if len(got) != 2 || !strings.HasSuffix(got[0], blob) || !strings.HasSuffix(got[1], "index.json") {
		t.Errorf("extracted %v, want index.json and the blob only", got)
	}

	out := filepath.Join(t.TempDir(), "b.tar")
	if err := packArchive(dir, out); err != nil {
		t.Fatal(err)
	}
	again := t.TempDir()
	if err := extractArchive(out, again); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(again, filepath.FromSlash(blob))); err != nil || string(b) != "blob" {
		t.Errorf("packed archive lost the blob: %q, %v", b, err)
	}

	bad := tarOf(t, [2]string{"index.json", "{}"}, [2]string{blob, "tampered"})
	if err := extractArchive(bad, t.TempDir()); err == nil || !strings.Contains(err.Error(), "does not match its digest") {
		t.Errorf("tampered blob: %v", err)
	}
	if err := extractArchive(tarOf(t, [2]string{blob, "blob"}), t.TempDir()); err == nil || !strings.Contains(err.Error(), "no index.json") {
		t.Errorf("archive without index.json: %v", err)
	}
}

// TestExtractArchiveBounded: an archive that is not a regular file (a
// FIFO, which would block forever) is refused at once; a gzip'd archive is
// decompressed within the store's bound (a bomb stops after a few hundred
// MiB, not at its 1 GiB); index.json has a size cap.
func TestExtractArchiveBounded(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "a.tar")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	var be *bounded.Error
	if err := extractArchive(fifo, t.TempDir()); !errors.As(err, &be) {
		t.Errorf("FIFO: %v, want a bounded.Error", err)
	}

	bomb := filepath.Join(t.TempDir(), "bomb.tar.gz")
	blob := "blobs/sha256/" + strings.Repeat("0", 64)
	testenv.GzipTar(t, bomb, testenv.Member{Name: "index.json", Data: []byte("{}")}, testenv.Member{Name: blob, Zeros: 1 << 30})
	dir := t.TempDir()
	err := extractArchive(bomb, dir)
	if !errors.Is(err, store.ErrInvalidInput) || !strings.Contains(err.Error(), "decompression bomb") {
		t.Errorf("gzip bomb: %v", err)
	}
	if fi, serr := os.Stat(filepath.Join(dir, filepath.FromSlash(blob))); serr == nil && fi.Size() > 400<<20 {
		t.Errorf("the bomb wrote %d bytes before it was stopped", fi.Size())
	}

	big := tarOf(t, [2]string{"index.json", strings.Repeat(" ", maxLayoutFile+1)})
	if err := extractArchive(big, t.TempDir()); err == nil || !strings.Contains(err.Error(), "more than the 4 MiB it may be") {
		t.Errorf("oversized index.json: %v", err)
	}
}
