package testenv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// DockerSaveTar writes a classic docker save tar of n uncompressed layers of
// size bytes each (random content, the same for every call), tagged big:1, and returns
// its size. Large archives for load benchmarks and crash tests.
func DockerSaveTar(tb testing.TB, path string, n int, size int64) int64 {
	tb.Helper()
	return dockerSaveTar(tb, path, n, size, rand.NewChaCha8([32]byte{1}))
}

// TextDockerSaveTar is DockerSaveTar with text-like layers, which gzip
// takes about 3:1 at tens of MB/s, as it does real layers: what makes
// the compression of a push take its time (random bytes go through
// klauspost's gzip several times faster).
func TextDockerSaveTar(tb testing.TB, path string, n int, size int64) int64 {
	tb.Helper()
	return dockerSaveTar(tb, path, n, size, &textReader{rand.NewChaCha8([32]byte{2})})
}

// textReader yields words of a small list and, one time in four, four
// random bytes.
type textReader struct{ r *rand.ChaCha8 }

var textWords = []string{"alpha ", "beta ", "gamma\n", "delta ", "epsilon ", "zeta ", "eta\n", "theta ", "kappa ", "lambda "}

func (t *textReader) Read(p []byte) (int, error) {
	var b [8]byte
	n := 0
	for n < len(p) {
		t.r.Read(b[:])
		if b[1] < 64 {
			n += copy(p[n:], b[2:6])
		} else {
			n += copy(p[n:], textWords[int(b[0])%len(textWords)])
		}
	}
	return n, nil
}

func dockerSaveTar(tb testing.TB, path string, n int, size int64, content io.Reader) int64 {
	tb.Helper()
	dir := tb.TempDir()
	out, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	var diffIDs []v1.Hash
	var layers []string
	for i := range n {
		lp := filepath.Join(dir, "layer")
		lf, err := os.Create(lp)
		if err != nil {
			tb.Fatal(err)
		}
		h := sha256.New()
		ltw := tar.NewWriter(io.MultiWriter(lf, h))
		ltw.WriteHeader(&tar.Header{Name: "data", Size: size, Mode: 0o644, Typeflag: tar.TypeReg})
		if _, err := io.CopyN(ltw, content, size); err != nil {
			tb.Fatal(err)
		}
		ltw.Close()
		fi, _ := lf.Stat()
		lf.Seek(0, 0)
		name := fmt.Sprintf("l%d/layer.tar", i)
		tw.WriteHeader(&tar.Header{Name: name, Size: fi.Size(), Mode: 0o644, Typeflag: tar.TypeReg})
		if _, err := io.Copy(tw, lf); err != nil {
			tb.Fatal(err)
		}
		lf.Close()
		diffIDs = append(diffIDs, v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))})
		layers = append(layers, name)
	}
	cfg, _ := json.Marshal(v1.ConfigFile{Architecture: "amd64", OS: "linux", Created: v1.Time{Time: time.Unix(1700000000, 0)},
		RootFS: v1.RootFS{Type: "layers", DiffIDs: diffIDs}})
	sum := sha256.Sum256(cfg)
	cfgName := hex.EncodeToString(sum[:]) + ".json"
	man, _ := json.Marshal([]map[string]any{{"Config": cfgName, "RepoTags": []string{"big:1"}, "Layers": layers}})
	for _, f := range []struct {
		name string
		b    []byte
	}{{cfgName, cfg}, {"manifest.json", man}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Size: int64(len(f.b)), Mode: 0o644, Typeflag: tar.TypeReg})
		tw.Write(f.b)
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	fi, _ := out.Stat()
	return fi.Size()
}

// ImagesTar writes a docker save tar of refs (each a tag) with
// go-containerregistry's tarball writer, gzip'd whole when gz is set.
func ImagesTar(tb testing.TB, path string, refs map[string]v1.Image, gz bool) {
	tb.Helper()
	m := map[name.Reference]v1.Image{}
	for r, img := range refs {
		tag, err := name.NewTag(r)
		if err != nil {
			tb.Fatal(err)
		}
		m[tag] = img
	}
	var buf bytes.Buffer
	var w io.WriteCloser = nopCloser{&buf}
	if gz {
		w = gzip.NewWriter(&buf)
	}
	if err := tarball.MultiRefWrite(m, w); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
