package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// defaultParallelBlobs bounds how many layers of one image stream at once
// (a pull reads them from the network; overlapping hides latency and keeps
// the tail short), unless WithParallelBlobs says otherwise. Each holds a
// 1 MiB copy buffer while it streams.
const defaultParallelBlobs = 16

// WriteImage stores img and points refs at it (none: an untagged image).
// Layers are streamed from img.Compressed() to disk, each verified against
// its digest and size before it becomes visible; blobs already in the store
// are not read at all. The index changes only after every blob is in, so an
// interrupted write leaves no partial image.
func (s *Store) WriteImage(ctx context.Context, img v1.Image, refs ...reference.Reference) (Entry, error) {
	return s.write(ctx, refs, func(w *writer) (Entry, int64, error) { return w.image(img) }, nil)
}

// WritePulled is WriteImage for a pull: ref is the one reference, and
// digest what it resolved to on its registry, remembered as the entry's
// RepoDigest when img was picked out of an index.
func (s *Store) WritePulled(ctx context.Context, img v1.Image, ref reference.Reference, digest v1.Hash) (Entry, error) {
	return s.writePulled(ctx, ref, digest, func(w *writer) (Entry, int64, error) { return w.image(img) })
}

// WritePulledIndex is WriteIndex for a pull: ref is the one reference, and
// digest what it resolved to on its registry, remembered as the entry's
// RepoDigest when idx is not that (a filtered index).
func (s *Store) WritePulledIndex(ctx context.Context, idx v1.ImageIndex, ref reference.Reference, digest v1.Hash) (Entry, error) {
	return s.writePulled(ctx, ref, digest, func(w *writer) (Entry, int64, error) { return w.index(idx) })
}

func (s *Store) writePulled(ctx context.Context, ref reference.Reference, digest v1.Hash, fn func(*writer) (Entry, int64, error)) (Entry, error) {
	return s.write(ctx, []reference.Reference{ref}, func(w *writer) (Entry, int64, error) {
		e, msize, err := fn(w)
		if digest != e.Digest {
			e.RepoDigest = digest
		}
		e.Remote = true
		return e, msize, err
	}, nil)
}

// WriteIndex stores an image index with every image and index it lists, and
// points refs at it. Its images are written at once, their layers sharing
// the bound of WithParallelBlobs. See WriteImage.
func (s *Store) WriteIndex(ctx context.Context, idx v1.ImageIndex, refs ...reference.Reference) (Entry, error) {
	return s.write(ctx, refs, func(w *writer) (Entry, int64, error) { return w.index(idx) }, nil)
}

// write stores what fn writes and points refs at it. check, when not nil,
// is called on index.json under its lock before the references change:
// its error leaves the index as it was.
func (s *Store) write(ctx context.Context, refs []reference.Reference, fn func(*writer) (Entry, int64, error), check func(*v1.IndexManifest) error) (Entry, error) {
	keys := make([]string, len(refs))
	for i, r := range refs {
		keys[i] = refKey(r)
	}
	unlock, err := s.lock(gcLock, syscall.LOCK_SH)
	if err != nil {
		return Entry{}, err
	}
	defer unlock()
	e, msize, err := fn(&writer{s: s, ctx: ctx, sem: make(chan struct{}, s.parallelBlobs()), flights: &flights{}, manifests: &flights{}})
	if err != nil {
		return Entry{}, err
	}
	if err := s.commitEntries([]pending{{e, msize, keys}}, check); err != nil {
		return Entry{}, err
	}
	if len(keys) > 0 {
		e.Ref = keys[0]
	}
	return e, nil
}

// pending is an image whose blobs are all in, waiting for its references.
type pending struct {
	e     Entry
	msize int64
	refs  []string
}

// commitEntries makes the blobs durable, then points the references at
// their images in one index update, after check (when not nil) passes.
func (s *Store) commitEntries(ps []pending, check func(*v1.IndexManifest) error) error {
	if err := s.syncBlobs(); err != nil {
		return err
	}
	return s.updateIndex(func(im *v1.IndexManifest) error {
		if check != nil {
			if err := check(im); err != nil {
				return err
			}
		}
		point(im, ps...)
		return nil
	})
}

type writer struct {
	s       *Store
	ctx     context.Context
	sem     chan struct{} // a slot per layer streaming, shared by the images of an index
	flights *flights      // the layers streaming, shared by the images of an index
	// manifests are the children of the indexes written, each written
	// (and its entry landed in its flight) once: an index may list a
	// child many times, and nested indexes that do, or diamonds of
	// indexes listing one another, would multiply the walk past counting.
	manifests *flights
}

// flights are the layers a write is streaming: a layer two images of an
// index share (or one image lists twice) is fetched once, the others
// waiting for it, as docker downloads a shared layer once.
type flights struct {
	mu sync.Mutex
	m  map[v1.Hash]*flight
}

type flight struct {
	done chan struct{}
	err  error // set before done is closed
	e    Entry // of a manifest's flight (writer.manifests), set before done is closed
}

// claim makes the caller the one streaming h (mine: it calls land with
// the outcome), or returns the flight to wait for.
func (f *flights) claim(h v1.Hash) (fl *flight, mine bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fl, ok := f.m[h]; ok {
		return fl, false
	}
	if f.m == nil {
		f.m = map[v1.Hash]*flight{}
	}
	fl = &flight{done: make(chan struct{})}
	f.m[h] = fl
	return fl, true
}

// land ends the flight with err, the streaming image's outcome.
func (fl *flight) land(err error) error {
	fl.err = err
	close(fl.done)
	return err
}

// wait is the outcome of the flight, which another image of the write
// streams: its error, so the write fails with the one cause.
func (fl *flight) wait(ctx context.Context) error {
	select {
	case <-fl.done:
		return fl.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// image writes the layers, config and manifest of img and returns its
// entry (without reference) and manifest size.
//
// Every layer the store lacks streams at once (up to s.parallelBlobs()),
// each into its own temp file, once per write (flights); a layer's fsync runs after it gives up its
// streaming slot, so it overlaps the others' downloads, and the config is
// fetched and written beside them. The manifest is staged in a temp file
// and made visible only after every layer and the config are in.
func (w *writer) image(img v1.Image) (Entry, int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return Entry{}, 0, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return Entry{}, 0, err
	}
	layers, err := img.Layers()
	if err != nil {
		return Entry{}, 0, err
	}
	if len(layers) != len(m.Layers) {
		return Entry{}, 0, fmt.Errorf("%w: manifest lists %d layers, image has %d", ErrCorrupt, len(m.Layers), len(layers))
	}
	rawMan, err := img.RawManifest()
	if err != nil {
		return Entry{}, 0, err
	}
	dig, err := img.Digest()
	if err != nil {
		return Entry{}, 0, err
	}
	g, ctx := errgroup.WithContext(w.ctx)
	sem := w.sem
	for i, l := range layers {
		desc := m.Layers[i]
		if w.s.HasBlob(desc.Digest) {
			continue
		}
		fl, mine := w.flights.claim(desc.Digest)
		if !mine {
			g.Go(func() error { return fl.wait(ctx) })
			continue
		}
		sem <- struct{}{}
		if err := ctx.Err(); err != nil {
			<-sem
			g.Go(func() error { return fl.land(err) }) // never commit without every layer
			break
		}
		g.Go(func() error {
			if err := w.layer(ctx, l, desc, func() { <-sem }); err != nil {
				return fl.land(fmt.Errorf("writing layer %s: %w", desc.Digest, err))
			}
			return fl.land(nil)
		})
	}
	var rawCfg []byte
	g.Go(func() error {
		var err error
		if rawCfg, err = img.RawConfigFile(); err != nil {
			return err
		}
		if err := w.putSmall(m.Config.Digest, rawCfg); err != nil {
			return fmt.Errorf("writing config: %w", err)
		}
		return nil
	})
	staged, err := w.s.ingest(bytesReader(rawMan), int64(len(rawMan)))
	if err != nil {
		_ = g.Wait()
		return Entry{}, 0, fmt.Errorf("writing manifest: %w", err)
	}
	if err := g.Wait(); err != nil {
		os.Remove(staged.path)
		return Entry{}, 0, err
	}
	if err := w.s.commit(staged, dig, int64(len(rawMan))); err != nil {
		return Entry{}, 0, fmt.Errorf("writing manifest: %w", err)
	}
	e := manifestEntry(dig, mt, m)
	if cf, err := v1.ParseConfigFile(bytesReader(rawCfg)); err == nil {
		e.Created = cf.Created.Time
		e.Platforms = platformsOf(cf)
	}
	return e, int64(len(rawMan)), nil
}

// layer streams one layer the store lacks into a temp file, calls release
// once the download is done (before the fsync), and commits the blob after
// checking its digest and size.
func (w *writer) layer(ctx context.Context, l v1.Layer, desc v1.Descriptor, release func()) error {
	release = sync.OnceFunc(release)
	defer release()
	if _, err := w.s.blobPath(desc.Digest); err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return err
	}
	r := ctxReader{ctx, rc}
	tf, err := w.s.stream(r, desc.Size)
	r.Close()
	release()
	if err != nil {
		return err
	}
	t, err := tf.finish()
	if err != nil {
		return err
	}
	if err := w.s.commit(t, desc.Digest, desc.Size); err != nil {
		return err
	}
	if n, ok := rc.(StoredNotifier); ok {
		n.Stored()
	}
	return nil
}

// A StoredNotifier is a layer's reader (what its Compressed returns) that
// is told when the blob it gave is verified and committed: a pull's
// progress says a layer is complete only then, never for a body that
// fails its digest or size afterwards.
type StoredNotifier interface{ Stored() }

// putSmall stores an in-memory blob that must have digest want.
func (w *writer) putSmall(want v1.Hash, b []byte) error {
	got, err := w.s.putBytes(b)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%w: content of %s has digest %s", ErrCorrupt, want, got)
	}
	return nil
}

// index writes idx and everything it lists.
func (w *writer) index(idx v1.ImageIndex) (Entry, int64, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return Entry{}, 0, err
	}
	mt, err := idx.MediaType()
	if err != nil {
		return Entry{}, 0, err
	}
	dig, err := idx.Digest()
	if err != nil {
		return Entry{}, 0, err
	}
	e := Entry{Digest: dig, ID: dig, MediaType: mt}
	// The children are written at once (their layers share w.sem), each
	// its own error group: one failing cancels the others. A child listed
	// again is no more content: it is written, and counted, once.
	var kids []v1.Descriptor
	listed := map[v1.Hash]bool{}
	for _, c := range im.Manifests {
		if !c.MediaType.IsIndex() && !c.MediaType.IsImage() && c.MediaType != "" {
			continue // an artifact we do not know: not stored
		}
		if !listed[c.Digest] {
			listed[c.Digest] = true
			kids = append(kids, c)
		}
	}
	children := make([]Entry, len(kids))
	g, ctx := errgroup.WithContext(w.ctx)
	g.SetLimit(w.s.parallelBlobs())
	cw := &writer{s: w.s, ctx: ctx, sem: w.sem, flights: w.flights, manifests: w.manifests}
	for i, c := range kids {
		if ctx.Err() != nil {
			// A child failed (or the write was stopped): the rest are not
			// fetched. The children read through idx do not share ctx, so
			// each would still be, one after the other, through an index
			// of thousands.
			break
		}
		g.Go(func() error {
			fl, mine := w.manifests.claim(c.Digest)
			if !mine {
				if err := fl.wait(ctx); err != nil {
					return err
				}
				children[i] = fl.e
				return nil
			}
			var err error
			if c.MediaType.IsIndex() {
				var child v1.ImageIndex
				if child, err = idx.ImageIndex(c.Digest); err == nil {
					fl.e, _, err = cw.index(child)
				}
			} else {
				var child v1.Image
				if child, err = idx.Image(c.Digest); err == nil {
					fl.e, _, err = cw.image(child)
				}
			}
			children[i] = fl.e
			return fl.land(err)
		})
	}
	if err := g.Wait(); err != nil {
		return Entry{}, 0, err
	}
	if err := w.ctx.Err(); err != nil {
		return Entry{}, 0, err // stopped before every child was started
	}
	for i, c := range kids {
		e.addChild(c, children[i])
	}
	raw, err := idx.RawManifest()
	if err != nil {
		return Entry{}, 0, err
	}
	if err := w.putSmall(dig, raw); err != nil {
		return Entry{}, 0, fmt.Errorf("writing index: %w", err)
	}
	return e, int64(len(raw)), nil
}

// ctxReader stops a copy when ctx is cancelled (Ctrl-C).
type ctxReader struct {
	ctx context.Context
	rc  io.ReadCloser
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.rc.Read(p)
}

func (r ctxReader) Close() error { return r.rc.Close() }
