package registry

import (
	"encoding/hex"
	"fmt"
	"hash"
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

// blobReader reads the body of the blob want describes: it reports the
// bytes read so far to report and the clean end to eof (both may be nil),
// and with h set fails the read that ends a body whose size or digest is
// not want's, and any read past want's size. A blob going into a sink that
// checks it as it writes (the store) is read without h: hashing it twice
// would only double the CPU a pull costs.
type blobReader struct {
	rc      io.ReadCloser
	want    v1.Descriptor
	h       hash.Hash
	n       int64
	checked bool // the digest was compared (at the declared size or EOF)
	report  func(done int64)
	stored  func()
}

// Stored is called by the store once the blob read through r is verified
// and committed (store.StoredNotifier): a pull reports a layer done only
// then, never for a body that fails its digest afterwards.
func (r *blobReader) Stored() {
	if r.stored != nil {
		r.stored()
	}
}

func (r *blobReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.n += int64(n)
	if r.h != nil {
		r.h.Write(p[:n])
		if r.n > r.want.Size {
			return 0, fmt.Errorf("%w: blob %s is longer than its %d bytes", ErrDigestMismatch, r.want.Digest, r.want.Size)
		}
		// Checked as soon as the declared size is in, not only at EOF, and
		// the bytes of a failing read are held back: an upload body is read
		// for its Content-Length and no further, so the destination must
		// never get the whole of a corrupt blob (it would answer
		// DIGEST_INVALID, which restarts an upload).
		if (err == io.EOF || r.n == r.want.Size) && !r.checked {
			r.checked = true
			got := "sha256:" + hex.EncodeToString(r.h.Sum(nil))
			if r.n != r.want.Size || got != r.want.Digest.String() {
				return 0, fmt.Errorf("%w: blob %s: got %d bytes of digest %s, want %d bytes", ErrDigestMismatch, r.want.Digest, r.n, got, r.want.Size)
			}
		}
	}
	if n > 0 && r.report != nil {
		r.report(r.n)
	}
	return n, err
}

func (r *blobReader) Close() error { return r.rc.Close() }
