package store

import (
	"bytes"
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestWriteIndexMultipath: an index tree that reaches one image through
// 10^9 paths (a child listed 1,000 times, three deep) or 2^29 (a diamond
// chain 30 deep) is written with each manifest read and walked once, and
// its size is the image's, counted once, as it is once saved and loaded.
func TestWriteIndexMultipath(t *testing.T) {
	t.Parallel()
	for name, push := range map[string]func(testing.TB, name.Reference) testenv.Multipath{
		"repeated": func(t testing.TB, r name.Reference) testenv.Multipath {
			return testenv.PushRepeatedIndex(t, r, 3, 1000)
		},
		"diamond": func(t testing.TB, r name.Reference) testenv.Multipath { return testenv.PushDiamondIndex(t, r, 30) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
			t.Cleanup(srv.Close)
			nref := mustName(t, strings.TrimPrefix(srv.URL, "http://")+"/nested/app:1")
			mp := push(t, nref)
			idx, err := remote.Index(nref)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			s := newStore(t)
			e, err := s.WriteIndex(ctx, idx, ref(t, "nested/app:1"))
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range append(mp.Indexes, e.Digest) {
				if !s.HasBlob(h) {
					t.Errorf("index %s not stored", h)
				}
			}
			img, err := s.WriteImage(ctx, mp.Image)
			if err != nil {
				t.Fatal(err)
			}
			if e.Size != img.Size {
				t.Errorf("size %d, want the image's %d", e.Size, img.Size)
			}
			if e.Digest != mp.Top {
				t.Errorf("entry %+v", e)
			}
			// Saved and loaded again, it is the same size.
			var buf bytes.Buffer
			if err := s.Save(ctx, &buf, []Entry{e}, FormatOCI, platform.Selection{}); err != nil {
				t.Fatal(err)
			}
			archive := filepath.Join(t.TempDir(), "tree.tar")
			if err := os.WriteFile(archive, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			loaded, err := newStore(t).Load(ctx, archive)
			if err != nil {
				t.Fatal(err)
			}
			if len(loaded) != 1 || loaded[0].Size != img.Size {
				t.Errorf("loaded %+v, want size %d", loaded, img.Size)
			}
		})
	}
}

func mustName(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestWriteIndexStopped: an index write stopped before its children were
// started stores nothing, rather than the index without them.
func TestWriteIndexStopped(t *testing.T) {
	t.Parallel()
	idx, err := random.Index(100, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newStore(t)
	r := ref(t, "app:stopped")
	if _, err := s.WriteIndex(ctx, idx, r); err == nil {
		t.Error("a stopped write succeeded")
	}
	if e, err := s.Lookup(r); err == nil {
		t.Errorf("stored %+v", e)
	}
}
