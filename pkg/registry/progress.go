package registry

import (
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// EventKind says what happened to a blob during a push, pull or copy.
type EventKind int

// The kinds of progress events, in the order a blob goes through them.
const (
	// BlobStarted: the blob's bytes start to move (Size is its size).
	BlobStarted EventKind = iota
	// BlobProgress: Done of Size bytes have moved.
	BlobProgress
	// BlobExists: the destination has the blob already; nothing moves.
	BlobExists
	// BlobMounted: the registry linked the blob from the repository From.
	BlobMounted
	// BlobDone: all of the blob's bytes moved and were accepted.
	BlobDone
)

// Event reports progress on one blob. Events for one blob arrive in order;
// the callback receiving them is never called concurrently.
type Event struct {
	Kind   EventKind
	Digest v1.Hash
	Size   int64
	Done   int64  // bytes moved so far (BlobProgress, BlobDone)
	From   string // source repository path (BlobMounted)
	Layer  bool   // a layer, as opposed to a config blob or a manifest
}

// ProgressFunc receives progress events; nil means nobody listens.
type ProgressFunc func(Event)

// serialized returns f guarded so that concurrent workers may call it.
func serialized(f ProgressFunc) ProgressFunc {
	if f == nil {
		return func(Event) {}
	}
	var mu sync.Mutex
	return func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		f(e)
	}
}

// countingReader reports the bytes read through it as BlobProgress events.
type countingReader struct {
	rc     io.ReadCloser
	done   int64
	report func(done int64)
	eof    func() // called once when the reader ends cleanly; may be nil
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if n > 0 {
		r.done += int64(n)
		r.report(r.done)
	}
	if err == io.EOF && r.eof != nil {
		r.eof()
		r.eof = nil
	}
	return n, err
}

func (r *countingReader) Close() error { return r.rc.Close() }
