package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/platform"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layoutMembers is an OCI layout of img, its manifest edited by edit,
// named refName: the files by name.
func layoutMembers(t testing.TB, img v1.Image, refName string, edit func(*v1.Manifest)) map[string][]byte {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	members := map[string][]byte{"oci-layout": []byte(`{"imageLayoutVersion":"1.0.0"}`)}
	cfg, _ := img.RawConfigFile()
	members["blobs/sha256/"+m.Config.Digest.Hex] = cfg
	layers, _ := img.Layers()
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		members["blobs/sha256/"+m.Layers[i].Digest.Hex] = b
	}
	edit(m)
	raw, _ := json.Marshal(m)
	d := sha256Of(raw)
	members["blobs/sha256/"+d.Hex] = raw
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{{
		MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(raw)),
		Annotations: map[string]string{AnnotationRef: refName},
	}}}
	members["index.json"], _ = json.Marshal(idx)
	return members
}

func writeDir(t testing.TB, members map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for n, b := range members {
		p := filepath.Join(dir, n)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLoadSizes: a manifest must declare the size its blobs have, those the
// store already has included, and no size may be negative; a load that
// fails on it stores nothing and loses nothing.
func TestLoadSizes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	img := randomImage(t, 3000, 2)
	m, _ := img.Manifest()
	layer0 := m.Layers[0]
	lie := func(m *v1.Manifest) { m.Layers[0].Size++ }
	// The layer the store has, as a member of the declared (lying) size:
	// a tar member of a blob the store has is skipped unread.
	liarTar := layoutMembers(t, img, "docker.io/library/app:2", lie)
	liarTar["blobs/sha256/"+layer0.Digest.Hex] = make([]byte, layer0.Size+1)
	negative := func(m *v1.Manifest) { m.Config.Size = -1 }
	negLayer := func(m *v1.Manifest) { m.Layers[1].Size = -5 }
	for _, tc := range []struct {
		name  string
		path  string
		first bool // the image is in the store before
		msg   string
	}{
		{"stored layer, dir", writeDir(t, layoutMembers(t, img, "docker.io/library/app:2", lie)), true, "declared"},
		{"stored layer, tar", writeMembers(t, liarTar), true, "declared"},
		{"negative config size", writeDir(t, layoutMembers(t, img, "docker.io/library/app:2", negative)), false, "negative size"},
		{"negative layer size, tar", writeMembers(t, layoutMembers(t, img, "docker.io/library/app:2", negLayer)), false, "negative size"},
		{"negative layer size, stored", writeMembers(t, layoutMembers(t, img, "docker.io/library/app:2", negLayer)), true, "negative size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			if tc.first {
				if _, err := s.WriteImage(ctx, img, ref(t, "app:1")); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := s.List()
			_, err := s.Load(ctx, tc.path)
			if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v, want invalid input saying %q", err, tc.msg)
			}
			after, _ := s.List()
			if len(after) != len(before) {
				t.Fatalf("index changed: %+v", after)
			}
			if tc.first {
				back, err := s.Image(before[0].Digest)
				if err != nil {
					t.Fatal(err)
				}
				if err := validate(back); err != nil {
					t.Fatalf("the stored image is damaged: %v", err)
				}
			}
		})
	}
}

// TestLoadRepeatedManifests: an archive may name one manifest again and
// again, and nest indexes that do (three levels of 1,000 make a billion
// paths): each manifest is imported once per load, so the load is linear
// in the archive, and every descriptor's size is still checked.
func TestLoadRepeatedManifests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	img := randomImage(t, 1000, 1)
	members := layoutMembers(t, img, "docker.io/library/app:1", func(*v1.Manifest) {})
	var idx v1.IndexManifest
	if err := json.Unmarshal(members["index.json"], &idx); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	plain, err := s.Load(ctx, writeDir(t, members))
	if err != nil {
		t.Fatal(err)
	}
	child := idx.Manifests[0]
	child.Annotations = nil
	child.Platform = &v1.Platform{OS: "linux", Architecture: "amd64"}
	for range 3 {
		raw, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: slices.Repeat([]v1.Descriptor{child}, 1000)})
		d := sha256Of(raw)
		members["blobs/sha256/"+d.Hex] = raw
		child = v1.Descriptor{MediaType: types.OCIImageIndex, Digest: d, Size: int64(len(raw))}
	}
	top := child
	top.Annotations = map[string]string{AnnotationRef: "docker.io/library/nested:1"}
	idx.Manifests = []v1.Descriptor{top, top, top}
	members["index.json"], _ = json.Marshal(idx)

	es, err := s.Load(ctx, writeDir(t, members))
	if err != nil {
		t.Fatal(err)
	}
	// One image, whatever the number of paths to it: its size once.
	if len(es) != 3 || es[0].Digest != top.Digest || es[0].Size != plain[0].Size {
		t.Fatalf("loaded %+v, want the size of %+v", es, plain[0])
	}
	// And saved once: the archive holds each blob once.
	var buf bytes.Buffer
	if err := s.Save(ctx, &buf, es[:1], FormatOCI, platform.Selection{}); err != nil {
		t.Fatal(err)
	}
	if got := len(tarMembers(t, buf.Bytes())); got != 4+3+3 { // oci-layout, index.json, blobs/, blobs/sha256/; the image's 3 blobs; 3 indexes
		t.Errorf("archive of %d members", got)
	}
	// A descriptor of a manifest seen before must still give its size.
	lying := top
	lying.Size++
	idx.Manifests = []v1.Descriptor{top, lying}
	members["index.json"], _ = json.Marshal(idx)
	if _, err := newStore(t).Load(ctx, writeDir(t, members)); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("load of a lying size: %v", err)
	}
}
