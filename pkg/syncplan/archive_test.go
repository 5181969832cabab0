package syncplan

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
