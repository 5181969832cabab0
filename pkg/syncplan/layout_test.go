package syncplan

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestLayoutWriteIsDurable: a write to a layout directory fsyncs every
// blob it names (the index's manifest, its children's, their configs and
// layers), all in one batch, and then the blob directory, before
// index.json names the index; a second write of the same content syncs
// nothing again.
func TestLayoutWriteIsDurable(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLayout("oci:"+dir, true)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := random.Index(64, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := idx.Digest()
	blobDir := filepath.Join(dir, "blobs", "sha256")

	var mu sync.Mutex
	var batches [][]string
	synced := map[string]bool{}
	dirSynced := map[string]bool{}
	oldFiles, oldDir := syncFiles, syncDir
	t.Cleanup(func() { syncFiles, syncDir = oldFiles, oldDir })
	syncFiles = func(paths []string) error {
		mu.Lock()
		defer mu.Unlock()
		batches = append(batches, paths)
		for _, p := range paths {
			synced[p] = true
		}
		return oldFiles(paths)
	}
	syncDir = func(d string) error {
		mu.Lock()
		defer mu.Unlock()
		if d == blobDir {
			if len(synced) == 0 {
				t.Errorf("%s synced before its blobs", d)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
			if err != nil || strings.Contains(string(raw), h.Hex) {
				t.Errorf("index.json names %s before its blobs are durable (%v)", h, err)
			}
		}
		dirSynced[d] = true
		return oldDir(d)
	}

	if _, _, err := l.write(idx, "repo", "v1"); err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 {
		t.Errorf("synced in %d batches, want 1", len(batches))
	}
	ents, err := os.ReadDir(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	// The index, 2 images of a manifest, a config and 2 layers each.
	if len(ents) != 1+2*4 {
		t.Errorf("the layout has %d blobs, want 9", len(ents))
	}
	for _, e := range ents {
		if !synced[filepath.Join(blobDir, e.Name())] {
			t.Errorf("blob %s was not fsync'd", e.Name())
		}
	}
	if !dirSynced[blobDir] || !dirSynced[filepath.Join(dir, "blobs")] {
		t.Errorf("directories synced: %v, want %s and its parent", dirSynced, blobDir)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil || !strings.Contains(string(raw), h.Hex) {
		t.Fatalf("index.json does not name %s after the write (%v)", h, err)
	}

	batches, synced = nil, map[string]bool{}
	if _, _, err := l.write(idx, "repo", "v2"); err != nil {
		t.Fatal(err)
	}
	if len(synced) != 0 {
		t.Errorf("a second write of the same index synced %d blobs again", len(synced))
	}
}
