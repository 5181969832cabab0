package testenv

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// bombChunk is the run of zeros Zeros compresses once and repeats.
const bombChunk = 16 << 20

// Zeros returns n zero bytes compressed with gzip (zstd when zst is set)
// as concatenated streams of 16 MiB each, which every decoder reads as
// one: a decompression bomb about a thousand times smaller than what it
// gives (gzip's ratio on zeros), made by compressing at most 32 MiB.
func Zeros(tb testing.TB, n int64, zst bool) []byte {
	tb.Helper()
	compress := func(size int64) []byte {
		zeros := make([]byte, size)
		if zst {
			enc, err := zstd.NewWriter(nil)
			if err != nil {
				tb.Fatal(err)
			}
			defer enc.Close()
			return enc.EncodeAll(zeros, nil)
		}
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		zw.Write(zeros)
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
		return b.Bytes()
	}
	var out []byte
	if full := n / bombChunk; full > 0 {
		out = bytes.Repeat(compress(bombChunk), int(full))
	}
	if rest := n % bombChunk; rest > 0 || n == 0 {
		out = append(out, compress(rest)...)
	}
	return out
}

// BombImage is a one-layer image whose layer is Zeros(n, zst) with the
// media type of its compression. Nothing decompresses it to make the
// image: its config's diff_id is the layer's digest (go-containerregistry's
// static layer), a lie only a decompression finds.
func BombImage(tb testing.TB, n int64, zst bool) v1.Image {
	tb.Helper()
	mt := types.OCILayer
	if zst {
		mt = types.OCILayerZStd
	}
	img, err := mutate.AppendLayers(empty.Image, static.NewLayer(Zeros(tb, n, zst), mt))
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

// Member is a member of a tar GzipTar writes: Data, or when Zeros > 0
// that many zero bytes.
type Member struct {
	Name  string
	Data  []byte
	Zeros int64
}

// GzipTar writes to path a gzip'd tar of members, in order. A member of
// Zeros is written as Zeros' repeated streams, so that an archive
// inflating to gigabytes (a gzip bomb of a whole archive) costs a few MiB
// and milliseconds to make.
func GzipTar(tb testing.TB, path string, members ...Member) {
	tb.Helper()
	var out, seg bytes.Buffer // seg: tar bytes not gzip'd yet
	flush := func() {
		zw := gzip.NewWriter(&out)
		zw.Write(seg.Bytes())
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
		seg.Reset()
	}
	for _, m := range members {
		tw := tar.NewWriter(&seg)
		size := int64(len(m.Data))
		if m.Zeros > 0 {
			size = m.Zeros
		}
		if err := tw.WriteHeader(&tar.Header{Name: m.Name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg}); err != nil {
			tb.Fatal(err)
		}
		if m.Zeros == 0 {
			tw.Write(m.Data)
			if err := tw.Flush(); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		// The header is in seg; the content goes in precompressed, then
		// the padding to tar's 512-byte blocks.
		flush()
		out.Write(Zeros(tb, m.Zeros, false))
		seg.Write(make([]byte, (512-m.Zeros%512)%512))
	}
	if err := tar.NewWriter(&seg).Close(); err != nil { // the end-of-archive marker
		tb.Fatal(err)
	}
	flush()
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// A Bomb is an archive Bombs wrote, named bomb:1.
type Bomb struct {
	File string // its name in the directory
	// Member is where its decompression is to be refused: the compressed
	// layer (Layer set) or the member of the gzip'd archive; "" for a
	// layout, whose layers a load never decompresses.
	Member string
	Layer  bool
}

// Bombs writes to dir archives that inflate to n zero bytes from about
// n/1000 (one layer, or the whole archive, gzip'd or zstd'd): docker save
// tars (go-containerregistry's) with a gzip and a zstd layer, a gzip'd
// docker save, a gzip'd OCI archive, and an OCI layout directory.
func Bombs(tb testing.TB, dir string, n int64) []Bomb {
	tb.Helper()
	var out []Bomb
	for _, zst := range []bool{false, true} {
		img := BombImage(tb, n, zst)
		ls, err := img.Layers()
		if err != nil {
			tb.Fatal(err)
		}
		d, err := ls[0].Digest()
		if err != nil {
			tb.Fatal(err)
		}
		b := Bomb{File: "gzip-layer.tar", Member: d.Hex + ".tar.gz", Layer: true}
		if zst {
			b = Bomb{File: "zstd-layer.tar", Member: d.Hex + ".tar.zst", Layer: true}
		}
		ImagesTar(tb, filepath.Join(dir, b.File), map[string]v1.Image{"bomb:1": img}, false)
		out = append(out, b)
		if !zst {
			p, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
			if err != nil {
				tb.Fatal(err)
			}
			if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"io.containerd.image.name": "docker.io/library/bomb:1"})); err != nil {
				tb.Fatal(err)
			}
			out = append(out, Bomb{File: "layout"})
		}
	}
	cfg, _ := json.Marshal(v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers", DiffIDs: []v1.Hash{{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}}}})
	GzipTar(tb, filepath.Join(dir, "docker.tar.gz"),
		Member{Name: "l0/layer.tar", Zeros: n},
		Member{Name: "config.json", Data: cfg},
		Member{Name: "manifest.json", Data: []byte(`[{"Config":"config.json","RepoTags":["bomb:1"],"Layers":["l0/layer.tar"]}]`)})
	blob := "blobs/sha256/" + strings.Repeat("b", 64)
	GzipTar(tb, filepath.Join(dir, "oci.tar.gz"),
		Member{Name: "oci-layout", Data: []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		Member{Name: blob, Zeros: n},
		Member{Name: "index.json", Data: []byte(`{"schemaVersion":2,"manifests":[]}`)})
	return append(out, Bomb{File: "docker.tar.gz", Member: "l0/layer.tar"}, Bomb{File: "oci.tar.gz", Member: blob})
}

// Refusal is what a load of b says when it refuses it.
func (b Bomb) Refusal() string {
	const bound = "decompresses to more than 100 times its compressed size plus 256 MiB"
	if b.Layer {
		return "layer " + b.Member + " " + bound
	}
	return "the archive, at " + b.Member + ", " + bound
}
