package store

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// TestLoadPartialIndexOverFull loads archives holding part of an index
// into a store that has all of it: the same index with some platforms'
// images (docker save of some platforms) keeps the stored entry whole; a filtered
// index (another digest) takes the reference, as docker moves a tag, and
// the full index stays, untagged, with all its images.
func TestLoadPartialIndexOverFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	both := []string{"linux/amd64", "linux/arm64/v8"}
	checkFull := func(t *testing.T, s *Store, e Entry) {
		t.Helper()
		info, err := s.Inspect(e, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range info.Manifests {
			if !m.Available {
				t.Fatalf("%s lost an image: %+v", e.Digest, info.Manifests)
			}
			img, err := s.Image(m.Descriptor.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(img); err != nil {
				t.Fatalf("image %s: %v", m.Descriptor.Digest, err)
			}
		}
	}

	t.Run("same index, some platforms", func(t *testing.T) {
		t.Parallel()
		s, e, srcs := twoPlatforms(t)
		// The index with one of its images, as docker save writes some
		// of an index's platforms (save --platform of one platform saves
		// that image alone): the whole index saved, the blobs of the
		// image manifest.json does not list (not this machine's) left out.
		var buf bytes.Buffer
		if err := s.Save(ctx, &buf, []Entry{e}, FormatDocker, platform.Selection{}); err != nil {
			t.Fatal(err)
		}
		other := srcs[1].Entry.Digest
		if platform.Default().Architecture == "arm64" {
			other = srcs[0].Entry.Digest
		}
		img, err := s.Image(other)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		drop := map[string]bool{"blobs/sha256/" + other.Hex: true, "blobs/sha256/" + m.Config.Digest.Hex: true}
		for _, l := range m.Layers {
			drop["blobs/sha256/"+l.Digest.Hex] = true
		}
		var part bytes.Buffer
		tr, tw := tar.NewReader(&buf), tar.NewWriter(&part)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if drop[hdr.Name] {
				continue
			}
			if err := tw.WriteHeader(hdr); err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(tw, tr); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := s.LoadStream(ctx, &part, "part.tar")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Digest != e.Digest || !slices.Equal(got[0].Platforms, both) {
			t.Fatalf("loaded %+v, want %s with %v", got, e.Digest, both)
		}
		now, err := s.Resolve("app:v1")
		if err != nil || now.Digest != e.Digest || !slices.Equal(now.Platforms, both) || now.Size != e.Size {
			t.Fatalf("app:v1 is %+v (%v), was %+v", now, err, e)
		}
		checkFull(t, s, now)
	})

	t.Run("filtered index", func(t *testing.T) {
		t.Parallel()
		s, e, srcs := twoPlatforms(t)
		full, err := s.Index(e.Digest)
		if err != nil {
			t.Fatal(err)
		}
		fm, _ := full.IndexManifest()
		amd, err := s.Image(srcs[0].Entry.Digest)
		if err != nil {
			t.Fatal(err)
		}
		filtered := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: amd, Descriptor: fm.Manifests[0]})
		dir := filepath.Join(t.TempDir(), "layout")
		p, err := layout.Write(dir, empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendIndex(filtered, layout.WithAnnotations(map[string]string{annotationContainerdName: "docker.io/library/app:v1"})); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		fd := digestOf(t, filtered)
		if len(got) != 1 || got[0].Digest != fd || !slices.Equal(got[0].Platforms, []string{"linux/amd64"}) {
			t.Fatalf("loaded %+v", got)
		}
		all, _ := s.List()
		var dangling []Entry
		for _, o := range all {
			if o.Ref == "" {
				dangling = append(dangling, o)
			}
		}
		if len(dangling) != 1 || dangling[0].Digest != e.Digest || !slices.Equal(dangling[0].Platforms, both) {
			t.Fatalf("the full index is not kept untagged: %+v", all)
		}
		checkFull(t, s, dangling[0])
		// Loading the full index again gives app:v1 back all of it.
		var buf bytes.Buffer
		if err := s.Save(ctx, &buf, []Entry{e}, FormatOCI, platform.Selection{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.LoadStream(ctx, &buf, "full.tar"); err != nil {
			t.Fatal(err)
		}
		if now, err := s.Resolve("app:v1"); err != nil || now.Digest != e.Digest || !slices.Equal(now.Platforms, both) {
			t.Fatalf("app:v1 is %+v (%v)", now, err)
		}
	})
}
