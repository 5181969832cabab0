package store

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// storeWithRefs is a store holding n references spread over 10 images.
func storeWithRefs(b *testing.B, n int) *Store {
	b.Helper()
	s := newStore(b)
	var imgs []Entry
	for i := range 10 {
		e, err := s.WriteImage(context.Background(), randomImage(b, 100, 1), ref(b, fmt.Sprintf("img%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		imgs = append(imgs, e)
	}
	// One index update for all the references: building the fixture is not
	// what is measured.
	err := s.updateIndex(func(im *v1.IndexManifest) error {
		for i := range n - 10 {
			e := imgs[i%10]
			point(im, e, 300, []string{fmt.Sprintf("registry.local:5000/team%d/app:%d", i%37, i)})
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// cpuTime is the process's user+system CPU time: on a loaded machine it
// says more about the code than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkList1000 is what ctl images costs: index.json only, no blob.
func BenchmarkList1000(b *testing.B) {
	s := storeWithRefs(b, 1000)
	b.ResetTimer()
	start := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op") }()
	for b.Loop() {
		all, err := s.List()
		if err != nil || len(all) != 1000 {
			b.Fatal(len(all), err)
		}
		if _, err := Filter(all, []string{"*/team3/app"}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTag1000 is what ctl tag costs with 1,000 references: resolve,
// then one locked read-modify-write of index.json (fsync'd).
func BenchmarkTag1000(b *testing.B) {
	s := storeWithRefs(b, 1000)
	b.ResetTimer()
	start := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-start)/float64(b.N)/1e6, "cpu-ms/op") }()
	i := 0
	for b.Loop() {
		e, err := s.Resolve("img3")
		if err != nil {
			b.Fatal(err)
		}
		i++
		if err := s.Tag(e, ref(b, fmt.Sprintf("new/tag:%d", i%50))); err != nil {
			b.Fatal(err)
		}
	}
}

// bigDockerTar writes a classic docker save tar of n uncompressed layers of
// size bytes each (random content) and returns its size.
func bigDockerTar(tb testing.TB, path string, n int, size int64) int64 {
	tb.Helper()
	dir := tb.TempDir()
	out, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	rng := rand.NewChaCha8([32]byte{1})
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
		if _, err := io.CopyN(ltw, rng, size); err != nil {
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

// BenchmarkLoad5x48MiB loads a 5 x 48 MiB docker save tar into a fresh
// store each time (one pass: hashed while copied to the store) and reports
// MB/s beside raw-MB/s, a plain read + sha256 of the same file.
func BenchmarkLoad5x48MiB(b *testing.B) {
	archive := filepath.Join(b.TempDir(), "big.tar")
	size := bigDockerTar(b, archive, 5, 48<<20)
	b.SetBytes(size)
	raw := func() time.Duration {
		start := time.Now()
		f, err := os.Open(archive)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.CopyBuffer(h, onlyReader{f}, make([]byte, 1<<20)); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	var rawTotal time.Duration
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		rawTotal += raw()
		dir := filepath.Join(b.TempDir(), "s")
		s, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.Load(context.Background(), archive); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(float64(size)*float64(b.N)/rawTotal.Seconds()/1e6, "raw-MB/s")
}
