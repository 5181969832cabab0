package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/ctl-dev/ctl/pkg/atomicfile"
	"github.com/ctl-dev/ctl/pkg/bounded"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// copyBufs recycles the buffers blobs are streamed through: a layer is never
// held in memory, only 1 MiB of it at a time.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// HasBlob reports whether the blob h is in the store.
func (s *Store) HasBlob(h v1.Hash) bool {
	p, err := s.blobPath(h)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

func (s *Store) blobPath(h v1.Hash) (string, error) {
	if h.Algorithm != "sha256" || len(h.Hex) != 64 {
		return "", fmt.Errorf("%w: unsupported digest %q", ErrInvalidInput, h.String())
	}
	if _, err := hex.DecodeString(h.Hex); err != nil {
		return "", fmt.Errorf("%w: malformed digest %q", ErrInvalidInput, h.String())
	}
	return s.path(blobsDir, h.Algorithm, h.Hex), nil
}

// openBlob opens the blob h for reading.
func (s *Store) openBlob(h v1.Hash) (*os.File, error) {
	p, err := s.blobPath(h)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w (the store is missing content; pull or load the image again)", h, ErrNotFound)
	}
	return f, err
}

// tempBlob is content written to a temp file of the store and hashed on the
// way, not yet visible under blobs/.
type tempBlob struct {
	path   string
	digest v1.Hash
	size   int64
}

// ingest copies r (at most limit bytes; more is an error) into a temp file of
// the store, hashing it in the same pass, and fsyncs it.
func (s *Store) ingest(r io.Reader, limit int64) (*tempBlob, error) {
	tf, err := s.stream(r, limit)
	if err != nil {
		return nil, err
	}
	return tf.finish()
}

// stage is ingest without the fsync, for the blobs of a batch: their
// temp files are fsync'd all at once before the batch commits them
// (batch.syncAll), not one after another as they arrive.
func (s *Store) stage(r io.Reader, limit int64) (*tempBlob, error) {
	tf, err := s.stream(r, limit)
	if err != nil {
		return nil, err
	}
	tf.sy.cancel()
	tf.sy.stop()
	if err := tf.f.Close(); err != nil {
		os.Remove(tf.path)
		return nil, err
	}
	return &tf.tempBlob, nil
}

// tempFile is a temp blob whose content is all written but not yet
// fsync'd (its syncer may be busy with a part of it): finish (or discard)
// it.
type tempFile struct {
	f  *os.File
	sy *syncer
	tempBlob
}

// stream copies r (at most limit bytes; more is an error) into a temp file
// of the store, hashing it in the same pass, while a syncer makes what has
// arrived durable as it goes, so that the fsync in finish has little left
// to wait for.
func (s *Store) stream(r io.Reader, limit int64) (*tempFile, error) {
	dir, err := s.tempDir()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "blob-*")
	if err != nil {
		return nil, &writeError{err}
	}
	t := &tempFile{f: f, sy: newSyncer(f), tempBlob: tempBlob{path: f.Name()}}
	ok := false
	defer func() {
		if !ok {
			t.discard()
		}
	}()
	h := sha256.New()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	src := r
	if limit >= 0 {
		src = io.LimitReader(r, limit+1)
	}
	n, err := io.CopyBuffer(io.MultiWriter(t.sy, h), onlyReader{src}, *bp)
	if err != nil {
		return nil, err
	}
	if limit >= 0 && n > limit {
		return nil, fmt.Errorf("%w: content larger than its declared size %d", ErrCorrupt, limit)
	}
	t.size = n
	t.digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
	ok = true
	return t, nil
}

// finish fsyncs and closes the temp file: its content is durable before
// commit can make it visible. A background sync still running overlaps
// this one; one still waiting to start is dropped, as this one covers it.
func (t *tempFile) finish() (*tempBlob, error) {
	t.sy.cancel()
	err := t.f.Sync()
	t.sy.stop()
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(t.path)
		return nil, &writeError{err}
	}
	return &t.tempBlob, nil
}

// discard closes and removes the temp file.
func (t *tempFile) discard() {
	t.sy.cancel()
	t.sy.stop()
	t.f.Close()
	os.Remove(t.path)
}

// syncChunk is how much is written to a temp blob between two requests to
// its syncer.
const syncChunk = 8 << 20

// syncer writes to f and, every syncChunk bytes, wakes a goroutine of its
// own that fsyncs f. The disk then writes while the rest of the blob
// streams in, instead of all of it waiting for the final fsync (on a
// 2-core VM that tail was a quarter of a 240 MiB pull); in the background
// so that the stream never stalls on the disk. Requests that arrive while
// a sync runs fold into the next one. Its syncs only move work earlier:
// durability still comes from the fsync in finish, so their errors are
// left to that one.
type syncer struct {
	f         *os.File
	written   int64 // bytes written
	requested int64 // bytes written when the last sync was requested
	kick      chan struct{}
	done      chan struct{}
}

func newSyncer(f *os.File) *syncer {
	sy := &syncer{f: f, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(sy.done)
		for range sy.kick {
			_ = sy.f.Sync()
		}
	}()
	return sy
}

func (sy *syncer) Write(p []byte) (int, error) {
	n, err := sy.f.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	sy.written += int64(n)
	if sy.written-sy.requested >= syncChunk {
		sy.requested = sy.written
		select {
		case sy.kick <- struct{}{}:
		default: // one is pending: it will cover these bytes too
		}
	}
	return n, err
}

// cancel drops a sync requested but not started.
func (sy *syncer) cancel() {
	select {
	case <-sy.kick:
	default:
	}
}

// stop ends the goroutine and waits for it, so that the file can be
// closed or removed.
func (sy *syncer) stop() {
	close(sy.kick)
	<-sy.done
}

// onlyReader hides WriterTo/ReaderFrom so that io.CopyBuffer uses our
// buffer and the MultiWriter sees every byte exactly once.
type onlyReader struct{ io.Reader }

// commit makes the temp blob visible as blobs/sha256/HEX after checking it
// is the content that was asked for (want; zero means "whatever was read")
// and, when size >= 0, of that size.
func (s *Store) commit(t *tempBlob, want v1.Hash, size int64) error {
	renamed := false
	defer func() {
		if !renamed { // the temp file is no longer needed
			os.Remove(t.path)
		}
	}()
	if want != (v1.Hash{}) && want != t.digest {
		return fmt.Errorf("%w: content of %s has digest %s", ErrCorrupt, want, t.digest)
	}
	if size >= 0 && size != t.size {
		return fmt.Errorf("%w: blob %s has %d bytes, %d declared", ErrCorrupt, t.digest, t.size, size)
	}
	dst, err := s.blobPath(t.digest)
	if err != nil {
		return err
	}
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := os.Rename(t.path, dst); err != nil {
		return fmt.Errorf("writing to the image store: %w", err)
	}
	renamed = true
	return nil
}

// putBlob streams r into the store as blob want, verifying its digest and
// (when size >= 0) its size before it becomes visible. A blob already present
// is not read at all.
func (s *Store) putBlob(want v1.Hash, size int64, open func() (io.ReadCloser, error)) error {
	if _, err := s.blobPath(want); err != nil {
		return err
	}
	if s.HasBlob(want) {
		return nil
	}
	rc, err := open()
	if err != nil {
		return err
	}
	defer rc.Close()
	t, err := s.ingest(rc, size)
	if err != nil {
		return err
	}
	return s.commit(t, want, size)
}

// putBytes stores a small blob held in memory and returns its digest.
func (s *Store) putBytes(b []byte) (v1.Hash, error) {
	h := sha256Of(b)
	return h, s.putBlob(h, int64(len(b)), func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
}

// syncBlobs fsyncs the blob directory so renames done before an index update
// are durable before the index names them.
func (s *Store) syncBlobs() error {
	return atomicfile.SyncDir(filepath.Join(s.dir, blobsDir, "sha256"))
}

// readBlob reads a small blob (a manifest or a config) whole, refusing more
// than max bytes.
func (s *Store) readBlob(h v1.Hash, max int64) ([]byte, error) {
	f, err := s.openBlob(h)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: blob %s is larger than the limit of %s", ErrInvalidInput, h, bounded.FormatSize(max))
	}
	return b, nil
}

// Limits on what is read whole into memory.
const (
	maxManifest = 4 << 20  // manifests and indexes
	maxConfig   = 16 << 20 // image configs
)

func sha256Of(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
