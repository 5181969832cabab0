package e2e

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// Archive fixtures for the store tests, generated with ggcr; never
// checked-in blobs.

func randomImage(t testing.TB, size int64, layers int) v1.Image {
	t.Helper()
	img, err := random.Image(size, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func imageID(t testing.TB, img v1.Image) string {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// tarEntry is one member of a hand-made tar.
type tarEntry struct {
	hdr  tar.Header
	body []byte
	from func() (io.ReadCloser, error) // streamed body of hdr.Size bytes
}

func writeTar(t testing.TB, path string, gz bool, entries []tarEntry) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var w io.Writer = f
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(f)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, e := range entries {
		hdr := e.hdr
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if e.from == nil && hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&hdr); err != nil {
			t.Fatal(err)
		}
		if e.from != nil {
			rc, err := e.from()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(tw, rc); err != nil {
				t.Fatal(err)
			}
			rc.Close()
		} else if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// classicEntries lays out images as the classic docker save does:
// CONFIGHEX.json, DIR/layer.tar uncompressed, manifest.json; a layer that
// repeats one already written is a symlink to it, as docker writes it.
func classicEntries(t testing.TB, refs map[string]v1.Image) []tarEntry {
	t.Helper()
	var entries []tarEntry
	type desc struct {
		Config   string
		RepoTags []string
		Layers   []string
	}
	var manifest []desc
	written := map[v1.Hash]string{}
	n := 0
	for ref, img := range refs {
		cfg, err := img.RawConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		d := desc{Config: imageID(t, img)[7:] + ".json", RepoTags: []string{ref}}
		entries = append(entries, tarEntry{hdr: tar.Header{Name: d.Config}, body: cfg})
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range layers {
			diffID, err := l.DiffID()
			if err != nil {
				t.Fatal(err)
			}
			n++
			dir := fmt.Sprintf("layer%03d", n)
			entries = append(entries, tarEntry{hdr: tar.Header{Name: dir + "/", Typeflag: tar.TypeDir, Mode: 0o755}})
			if prev, ok := written[diffID]; ok {
				entries = append(entries, tarEntry{hdr: tar.Header{Name: dir + "/layer.tar", Typeflag: tar.TypeSymlink, Linkname: "../" + prev}})
			} else {
				size := uncompressedSize(t, l)
				entries = append(entries, tarEntry{hdr: tar.Header{Name: dir + "/layer.tar", Size: size}, from: l.Uncompressed})
				written[diffID] = dir + "/layer.tar"
			}
			d.Layers = append(d.Layers, dir+"/layer.tar")
		}
		manifest = append(manifest, d)
	}
	mb, err := json.Marshal(manifest)
	if err != nil {
		t.Fatal(err)
	}
	return append(entries, tarEntry{hdr: tar.Header{Name: "manifest.json"}, body: mb})
}

func uncompressedSize(t testing.TB, l v1.Layer) int64 {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ociLayout writes an OCI layout directory holding img under refName.
func ociLayout(t testing.TB, dir string, img v1.Image, refName string) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": refName})); err != nil {
		t.Fatal(err)
	}
}

// tarOfDir packs a directory into a tar (an OCI archive when dir is a layout).
func tarOfDir(t testing.TB, dir, out string, gz bool) {
	t.Helper()
	var entries []tarEntry
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		entries = append(entries, tarEntry{hdr: tar.Header{Name: filepath.ToSlash(rel)}, body: b})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	writeTar(t, out, gz, entries)
}

// tarOfDirDot packs a directory the way `tar -C DIR -cf OUT .` does: a "./"
// entry, directory entries, and every name starting with "./".
func tarOfDirDot(t testing.TB, dir, out string) {
	t.Helper()
	var entries []tarEntry
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := "./" + filepath.ToSlash(rel)
		if fi.IsDir() {
			if rel == "." {
				name = "./"
			}
			entries = append(entries, tarEntry{hdr: tar.Header{Name: strings.TrimSuffix(name, "/") + "/", Typeflag: tar.TypeDir, Mode: 0o755}})
			return nil
		}
		b, err := os.ReadFile(p)
		entries = append(entries, tarEntry{hdr: tar.Header{Name: name}, body: b})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	writeTar(t, out, false, entries)
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
