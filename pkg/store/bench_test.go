package store

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
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
		ps := make([]pending, n-10)
		for i := range ps {
			ps[i] = pending{e: imgs[i%10], msize: 300, refs: []string{fmt.Sprintf("registry.local:5000/team%d/app:%d", i%37, i)}}
		}
		point(im, ps...)
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

// BenchmarkLoad5x48MiB loads a 5 x 48 MiB docker save tar into a fresh
// store each time (one pass: hashed while copied to the store) and reports
// MB/s beside raw-MB/s, a plain read + sha256 of the same file.
func BenchmarkLoad5x48MiB(b *testing.B) {
	archive := filepath.Join(b.TempDir(), "big.tar")
	size := testenv.DockerSaveTar(b, archive, 5, 48<<20)
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
		b.StartTimer()
		loadFresh(b, archive)
	}
	b.ReportMetric(float64(size)*float64(b.N)/rawTotal.Seconds()/1e6, "raw-MB/s")
}

// BenchmarkLoad300Small loads one docker save archive of 300 small images
// into an empty store: the cost is the durability work, not the bytes.
// distinct: config and one 512-byte layer each (900 new blobs); shared-base:
// the same with a 64 KiB base layer common to all, one member of the
// archive that every image stores (901 new blobs). Goal: <= 0.5 s.
func BenchmarkLoad300Small(b *testing.B) {
	base, err := random.Layer(64<<10, types.DockerLayer)
	if err != nil {
		b.Fatal(err)
	}
	for _, shared := range []bool{false, true} {
		name := "distinct"
		if shared {
			name = "shared-base"
		}
		b.Run(name, func(b *testing.B) {
			archive := filepath.Join(b.TempDir(), "many.tar")
			refs := map[string]v1.Image{}
			for i := range 300 {
				img, err := random.Image(512, 1)
				if err != nil {
					b.Fatal(err)
				}
				if shared {
					if img, err = mutate.AppendLayers(img, base); err != nil {
						b.Fatal(err)
					}
				}
				refs[fmt.Sprintf("example.test/many/img%d:v1", i)] = img
			}
			testenv.ImagesTar(b, archive, refs, false)
			for b.Loop() {
				if es := loadFresh(b, archive); len(es) != 300 {
					b.Fatalf("%d entries", len(es))
				}
			}
		})
	}
}

// BenchmarkPushImageGzip is what the first push of an image loaded from a
// docker save archive spends before its first request: PushImage
// compressing the image's 4 uncompressed 32 MiB layers (text-like, ~3:1)
// into the store.
func BenchmarkPushImageGzip(b *testing.B) {
	const n, size = 4, 32 << 20
	archive := filepath.Join(b.TempDir(), "big.tar")
	testenv.TextDockerSaveTar(b, archive, n, size)
	b.SetBytes(n * size)
	for b.Loop() {
		b.StopTimer()
		s := newStore(b)
		es, err := s.Load(context.Background(), archive)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.PushImage(context.Background(), es[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImage is opening one image of a store of 300 references and
// reading its manifest: what push does for each tag it sends.
func BenchmarkImage(b *testing.B) {
	s := storeWithRefs(b, 300)
	es, err := s.List()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		img, err := s.Image(es[0].Digest)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := img.Manifest(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadManyTags loads one image under 20,000 tags: the index
// update is one pass over the index, not one per tag (an archive's
// RepoTags are the input's to choose; 200,000 of them took minutes).
func BenchmarkLoadManyTags(b *testing.B) {
	archive := filepath.Join(b.TempDir(), "tags.tar")
	img := randomImage(b, 512, 1)
	refs := map[string]v1.Image{}
	for i := range 20000 {
		refs[fmt.Sprintf("example.test/many:t%d", i)] = img
	}
	testenv.ImagesTar(b, archive, refs, false)
	for b.Loop() {
		loadFresh(b, archive)
	}
}

// loadFresh loads archive into a new store, timing the load alone (not
// the store's creation nor its removal).
func loadFresh(b *testing.B, archive string) []Entry {
	b.StopTimer()
	dir := filepath.Join(b.TempDir(), "s")
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	es, err := s.Load(context.Background(), archive)
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	os.RemoveAll(dir)
	b.StartTimer()
	return es
}
