package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/ctl-dev/ctl/pkg/platform"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// barrierLayer's body can only be opened once every layer of its image has
// been asked for: a write that streams layers one batch at a time fails.
type barrierLayer struct {
	v1.Layer
	b *barrier
}

type barrier struct {
	mu      sync.Mutex
	waiting int
	all     chan struct{}
}

func (l barrierLayer) Compressed() (io.ReadCloser, error) {
	l.b.mu.Lock()
	l.b.waiting--
	if l.b.waiting == 0 {
		close(l.b.all)
	}
	l.b.mu.Unlock()
	select {
	case <-l.b.all:
		return l.Layer.Compressed()
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("layers were not all streaming at once")
	}
}

func TestWriteImageStreamsAllLayersAtOnce(t *testing.T) {
	t.Parallel()
	const n = 6
	img := randomImage(t, 1024, n)
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	b := &barrier{waiting: n, all: make(chan struct{})}
	var wrapped []v1.Layer
	for _, l := range ls {
		wrapped = append(wrapped, barrierLayer{l, b})
	}
	s := newStore(t)
	if _, err := s.WriteImage(context.Background(), lyingImage{img, wrapped}, ref(t, "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ref(t, "x")); err != nil {
		t.Fatalf("written image not found: %v", err)
	}
}

// A layer that fails verification fails the write, and the manifest is
// never visible: only blobs that verified are kept, for a retry.
func TestWriteImageBadLayerKeepsManifestOut(t *testing.T) {
	t.Parallel()
	img := randomImage(t, 2048, 5)
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	wrapped := append([]v1.Layer(nil), ls...)
	wrapped[2] = lyingLayer{ls[2], bytes.Repeat([]byte{'x'}, 2048)}
	s := newStore(t)
	if _, err := s.WriteImage(context.Background(), lyingImage{img, wrapped}, ref(t, "x")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v, want ErrCorrupt", err)
	}
	if s.HasBlob(digestOf(t, img)) || s.HasBlob(digestOf(t, ls[2])) {
		t.Error("the manifest or the bad layer became visible")
	}
	if all, _ := s.List(); len(all) != 0 {
		t.Errorf("index lists %v", all)
	}
	if tmp := testenv.StoreTempFiles(t, s.Dir()); len(tmp) != 0 {
		t.Errorf("temp files left: %v", tmp)
	}
}

// countingLayer counts the bodies of its image open at once.
type countingLayer struct {
	v1.Layer
	c *openCounter
}

type openCounter struct {
	mu        sync.Mutex
	open, max int
	opened    int // bodies opened so far
	want      int // a body opens only once this many are open, or all were
	total     int
}

func (l countingLayer) Compressed() (io.ReadCloser, error) {
	l.c.mu.Lock()
	l.c.open++
	l.c.opened++
	l.c.max = max(l.c.max, l.c.open)
	l.c.mu.Unlock()
	// Wait for the others the limit lets in, so that a limit that lets
	// more in shows as a higher max, however slowly goroutines start.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		l.c.mu.Lock()
		ready := l.c.open >= l.c.want || l.c.opened == l.c.total
		l.c.mu.Unlock()
		if ready {
			break
		}
	}
	rc, err := l.Layer.Compressed()
	if err != nil {
		return nil, err
	}
	return countedBody{rc, l.c}, nil
}

type countedBody struct {
	io.ReadCloser
	c *openCounter
}

func (b countedBody) Close() error {
	b.c.mu.Lock()
	b.c.open--
	b.c.mu.Unlock()
	return b.ReadCloser.Close()
}

// WithParallelBlobs (ctl pull -j) bounds the layers streaming at once.
func TestWriteImageParallelBlobs(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 6} {
		img := randomImage(t, 1024, 6)
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		c := &openCounter{want: n, total: len(ls)}
		var wrapped []v1.Layer
		for _, l := range ls {
			wrapped = append(wrapped, countingLayer{l, c})
		}
		s := newStore(t).WithParallelBlobs(n)
		if _, err := s.WriteImage(context.Background(), lyingImage{img, wrapped}, ref(t, "x")); err != nil {
			t.Fatal(err)
		}
		if c.max != n {
			t.Errorf("WithParallelBlobs(%d): %d layers streamed at once", n, c.max)
		}
	}
}

// sharedLayer counts the opens of its body, each held a moment so that
// the images sharing it overlap.
type sharedLayer struct {
	v1.Layer
	mu    sync.Mutex
	opens int
}

func (l *sharedLayer) Compressed() (io.ReadCloser, error) {
	l.mu.Lock()
	l.opens++
	l.mu.Unlock()
	time.Sleep(50 * time.Millisecond)
	return l.Layer.Compressed()
}

// TestWriteIndexSharedLayerOnce: a layer two images of an index share is
// streamed once, the other image waiting for it; when it fails, both
// images fail with its error.
func TestWriteIndexSharedLayerOnce(t *testing.T) {
	t.Parallel()
	for _, bad := range []bool{false, true} {
		base := randomImage(t, 1024, 1)
		ls, err := base.Layers()
		if err != nil {
			t.Fatal(err)
		}
		var inner v1.Layer = ls[0]
		if bad {
			inner = lyingLayer{ls[0], bytes.Repeat([]byte{'x'}, 1024)}
		}
		shared := &sharedLayer{Layer: inner}
		idx := v1.ImageIndex(empty.Index)
		for _, p := range []string{"linux/amd64", "linux/arm64"} {
			img, err := mutate.AppendLayers(platformImage(t, p, false), shared)
			if err != nil {
				t.Fatal(err)
			}
			pl, _ := platform.Parse(p)
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
		}
		s := newStore(t)
		_, err = s.WriteIndex(context.Background(), idx, ref(t, "app:v1"))
		if bad != errors.Is(err, ErrCorrupt) || (!bad && err != nil) {
			t.Errorf("bad layer %v: %v", bad, err)
		}
		if shared.opens != 1 {
			t.Errorf("bad layer %v: the shared layer was opened %d times, want once", bad, shared.opens)
		}
	}
}
