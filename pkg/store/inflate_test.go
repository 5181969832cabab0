package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestLoadDecompressionBomb: what load decompresses — a compressed layer
// of a classic docker save (its diff_id is checked), a gzip'd archive —
// may inflate to 100 times its compressed size plus 256 MiB; past that
// the load fails as invalid input naming the layer or member and the
// limit, with nothing visible and no temp file left. A layout's layers
// are never decompressed: a bomb there is stored as its compressed bytes.
// Each bomb inflates to 1 GiB from about 1 MiB; the bound stops it after
// some 290 MiB.
func TestLoadDecompressionBomb(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, b := range testenv.Bombs(t, dir, 1<<30) {
		t.Run(b.File, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			_, err := s.Load(context.Background(), filepath.Join(dir, b.File))
			if b.Member == "" {
				if err != nil {
					t.Fatal(err)
				}
				e, err := s.Resolve("bomb:1")
				if err != nil {
					t.Fatal(err)
				}
				if e.Size > 4<<20 {
					t.Errorf("the layout's bomb takes %d bytes in the store, more than its compressed size", e.Size)
				}
				return
			}
			wantRefused(t, s, err, b.Refusal())
		})
	}
}

// TestLoadChecksCompressedDiffIDs: a classic docker save's gzip'd layer
// that does not decompress to the config's diff_id is refused, as docker
// load refuses it.
func TestLoadChecksCompressedDiffIDs(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "wrong-diff-id.tar")
	img := testenv.BombImage(t, 1<<20, false) // its diff_id is its digest
	testenv.ImagesTar(t, p, map[string]v1.Image{"bomb:1": img}, false)
	ls, _ := img.Layers()
	s := newStore(t)
	_, err := s.Load(context.Background(), p)
	wantRefused(t, s, err, "layer "+digestOf(t, ls[0]).Hex+".tar.gz has diff_id sha256:")
}

// wantRefused checks that a load failed as invalid input saying want,
// leaving nothing visible and no temp file.
func wantRefused(t *testing.T, s *Store, err error, want string) {
	t.Helper()
	if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want invalid input with %q", err, want)
	}
	if es, err := s.List(); err != nil || len(es) != 0 {
		t.Errorf("the store lists %v (%v) after a failed load", es, err)
	}
	if tmp := testenv.StoreTempFiles(t, s.Dir()); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
	if blobs, _ := os.ReadDir(filepath.Join(s.Dir(), blobsDir, "sha256")); len(blobs) != 0 {
		t.Errorf("%d blobs visible after a failed load", len(blobs))
	}
}
