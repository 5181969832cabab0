package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// bombSize is what each bomb below inflates to: 1 GiB of zeros from about
// 1 MiB, far past the bound (100 x + 256 MiB), which stops it after some
// 290 MiB.
const bombSize = 1 << 30

// TestLoadDecompressionBomb: what load decompresses — a compressed layer
// of a classic docker save (its diff_id is checked), a gzip'd archive —
// may inflate to 100 times its compressed size plus 256 MiB; past that
// the load fails as invalid input naming the layer or member and the
// limit, with nothing visible and no temp file left. A layout's layers
// are never decompressed: a bomb there is stored as its compressed bytes.
func TestLoadDecompressionBomb(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// go-containerregistry's name for a layer in a docker save
	layerName := func(img v1.Image, ext string) string {
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		return digestOf(t, ls[0]).Hex + ext
	}
	gzBomb, zstBomb := testenv.BombImage(t, bombSize, false), testenv.BombImage(t, bombSize, true)
	testenv.ImagesTar(t, filepath.Join(dir, "gzip-layer.tar"), map[string]v1.Image{"bomb:1": gzBomb}, false)
	testenv.ImagesTar(t, filepath.Join(dir, "zstd-layer.tar"), map[string]v1.Image{"bomb:1": zstBomb}, false)
	// A gzip'd layer under the bound, but not what the config says.
	small := testenv.BombImage(t, 1<<20, false)
	testenv.ImagesTar(t, filepath.Join(dir, "wrong-diff-id.tar"), map[string]v1.Image{"bomb:1": small}, false)

	cfg, _ := json.Marshal(v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}}}})
	testenv.GzipTar(t, filepath.Join(dir, "docker.tar.gz"),
		testenv.Member{Name: "l0/layer.tar", Zeros: bombSize},
		testenv.Member{Name: "config.json", Data: cfg},
		testenv.Member{Name: "manifest.json", Data: []byte(`[{"Config":"config.json","RepoTags":["bomb:1"],"Layers":["l0/layer.tar"]}]`)})
	blob := "blobs/sha256/" + strings.Repeat("b", 64)
	testenv.GzipTar(t, filepath.Join(dir, "oci.tar.gz"),
		testenv.Member{Name: "oci-layout", Data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		testenv.Member{Name: blob, Zeros: bombSize},
		testenv.Member{Name: "index.json", Data: []byte(`{"schemaVersion":2,"manifests":[]}`)})
	writeLayout(t, filepath.Join(dir, "layout"), gzBomb, "docker.io/library/bomb:1")

	for _, tc := range []struct {
		path string
		want string // "" for a load that succeeds
	}{
		{"gzip-layer.tar", "layer " + layerName(gzBomb, ".tar.gz") + " decompresses to more than 100 times its compressed size plus 256 MiB"},
		{"zstd-layer.tar", "layer " + layerName(zstBomb, ".tar.zst") + " decompresses to more than 100 times its compressed size plus 256 MiB"},
		{"wrong-diff-id.tar", "layer " + layerName(small, ".tar.gz") + " has diff_id sha256:"},
		{"docker.tar.gz", "the archive, at l0/layer.tar, decompresses to more than 100 times its compressed size plus 256 MiB"},
		{"oci.tar.gz", "the archive, at " + blob + ", decompresses to more than 100 times its compressed size plus 256 MiB"},
		{"layout", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			_, err := s.Load(context.Background(), filepath.Join(dir, tc.path))
			if tc.want == "" {
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
			if !errors.Is(err, ErrInvalidInput) || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want invalid input with %q", err, tc.want)
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
		})
	}
}
