package testenv

import (
	"archive/tar"
	"bytes"
	"os"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
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
