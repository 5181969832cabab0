package store

import (
	"fmt"
	"io"
	"os"

	"github.com/ctl-dev/ctl/pkg/atomicfile"
	"github.com/ctl-dev/ctl/pkg/bounded"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// batch holds the verified blobs of one load in temp files until the whole
// archive has been checked; only then are they renamed into blobs/ (commit).
// A load that fails leaves the store exactly as it was.
type batch struct {
	s      *Store
	staged map[v1.Hash]*tempBlob
}

func newBatch(s *Store) *batch { return &batch{s: s, staged: map[v1.Hash]*tempBlob{}} }

// add takes ownership of a verified temp blob.
func (b *batch) add(t *tempBlob) {
	if _, dup := b.staged[t.digest]; dup || b.s.HasBlob(t.digest) {
		os.Remove(t.path)
		return
	}
	b.staged[t.digest] = t
}

// putBytes stages an in-memory blob and returns its digest. A blob
// already staged or in the store is not written again: a layer that many
// images of a docker save share is one member, stored for each of them.
func (b *batch) putBytes(data []byte) (v1.Hash, error) {
	h := sha256Of(data)
	if b.staged[h] != nil || b.s.HasBlob(h) {
		return h, nil
	}
	t, err := b.s.stage(bytesReader(data), int64(len(data)))
	if err != nil {
		return v1.Hash{}, err
	}
	b.add(t)
	return t.digest, nil
}

// checkSize refuses a blob, staged or already in the store, whose size is
// not the declared one (size < 0: not declared, nothing to check): an
// archive that skips a blob the store has must still declare its size.
func (b *batch) checkSize(h v1.Hash, size int64) error {
	if size < 0 {
		return nil
	}
	var have int64
	if t, ok := b.staged[h]; ok {
		have = t.size
	} else {
		n, err := b.s.statBlob(h)
		if err != nil {
			return err
		}
		have = n
	}
	if have != size {
		return invalid("%s has %d bytes, %d declared", h, have, size)
	}
	return nil
}

// open reads a blob, staged or already in the store.
func (b *batch) open(h v1.Hash) (*os.File, error) {
	if t, ok := b.staged[h]; ok {
		return os.Open(t.path)
	}
	return b.s.openBlob(h)
}

func (b *batch) read(h v1.Hash, max int64) ([]byte, error) {
	f, err := b.open(h)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, invalid("blob %s is larger than the limit of %s", h, bounded.FormatSize(max))
	}
	return data, nil
}

// syncAll makes every staged blob durable, all at once
// (atomicfile.SyncFiles).
func (b *batch) syncAll() error {
	paths := make([]string, 0, len(b.staged))
	for _, t := range b.staged {
		paths = append(paths, t.path)
	}
	if err := atomicfile.SyncFiles(paths); err != nil {
		return fmt.Errorf("writing to the image store: %w", err)
	}
	return nil
}

// commit makes every staged blob durable, then visible.
func (b *batch) commit() error {
	if err := b.syncAll(); err != nil {
		return err
	}
	for h, t := range b.staged {
		if err := b.s.commit(t, h, t.size); err != nil {
			return err
		}
		delete(b.staged, h)
	}
	return nil
}

// abort removes the staged temp files.
func (b *batch) abort() {
	for h, t := range b.staged {
		os.Remove(t.path)
		delete(b.staged, h)
	}
}
