package store

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/ctl-dev/ctl/pkg/atomicfile"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrConflict: removing by ID an image that other references still need,
// or an index edit whose target kept changing under it.
var ErrConflict = errors.New("conflict")

// Removed reports what Remove did, in docker's terms.
type Removed struct {
	Untagged []string  // canonical references removed
	Deleted  []v1.Hash // what went from the store, as deletedOf reports it
}

// Remove untags source (docker's rmi): a reference loses only that
// reference; an image ID or digest loses all its references, which needs
// force when they span several repositories (docker's rule). An image
// whose last reference goes is deleted: its manifest leaves the index and
// its blobs become unreferenced, reclaimed by Prune. An index deleted takes
// along the untagged images it listed that no other index lists; its
// children with references of their own stay. An image whose last
// reference goes while a tagged index lists it stays too, as that
// index's child: it is untagged, not deleted.
func (s *Store) Remove(source string, force bool) (Removed, error) {
	var res Removed
	if s.absent {
		_, err := resolve(nil, source) // not found (or not a valid name)
		return res, err
	}
	err := s.updateIndex(func(im *v1.IndexManifest) error {
		all := make([]Entry, len(im.Manifests))
		for i, d := range im.Manifests {
			all[i] = entryOf(d)
		}
		e, err := resolve(all, source)
		if err != nil {
			return err
		}
		drop := map[string]bool{} // reference keys, or "@digest" for untagged entries
		if e.Ref != "" {
			drop[e.Ref] = true
			if r, perr := reference.Parse(source); perr == nil && r.Digest() != "" && r.Tag() == "" {
				// name@digest: every reference of that repository to it,
				// or pulled at it.
				for _, o := range all {
					if o.answers(r.Digest()) && refName(o.Ref) == r.Name() {
						drop[o.Ref] = true
					}
				}
			}
		} else {
			repos := map[string]bool{}
			for _, o := range all {
				if o.Digest == e.Digest || (o.ID == e.ID && !e.IsIndex()) {
					if o.Ref == "" {
						drop["@"+o.Digest.String()] = true
						continue
					}
					drop[o.Ref] = true
					repos[refName(o.Ref)] = true
				}
			}
			if len(repos) > 1 && !force {
				return fmt.Errorf("%w: unable to delete %s (must be forced) - %s is referenced in multiple repositories", ErrConflict, e.ID.Hex[:12], e.Kind())
			}
		}
		gone := map[v1.Hash]bool{}
		var dropped []v1.Descriptor
		keep := im.Manifests[:0]
		for _, d := range im.Manifests {
			ref := d.Annotations[AnnotationRef]
			key := ref
			if ref == "" {
				key = "@" + d.Digest.String()
			}
			if drop[key] {
				if ref != "" {
					res.Untagged = append(res.Untagged, ref)
				}
				gone[d.Digest] = true
				dropped = append(dropped, d)
				continue
			}
			keep = append(keep, d)
		}
		im.Manifests = keep
		// An image a remaining tagged index lists stays, as that index's
		// child (as Prune keeps it): it loses its references, not its
		// entry, which goes when the index does.
		children := s.children(im.Manifests)
		have := map[v1.Hash]bool{}
		for _, d := range im.Manifests {
			have[d.Digest] = true
		}
		listed := 0
		for _, d := range dropped {
			if children[d.Digest] {
				listed++
				if !have[d.Digest] {
					have[d.Digest] = true
					im.Manifests = append(im.Manifests, untagged(d))
				}
			}
		}
		if len(res.Untagged) == 0 && listed == len(dropped) {
			// An untagged child by its ID: nothing to untag, and it
			// cannot go while its index stays (docker refuses to delete
			// an image another needs).
			return fmt.Errorf("%w: unable to delete %s (an index in the store lists it): remove that index first", ErrConflict, e.ID.Hex[:12])
		}
		for _, d := range im.Manifests {
			delete(gone, d.Digest)
		}
		// An index that goes takes along the untagged images it listed
		// that no remaining index lists: they were its children, not
		// images of their own.
		var goneIdx []v1.Descriptor
		for _, o := range all {
			if gone[o.Digest] && o.IsIndex() {
				goneIdx = append(goneIdx, o.descriptor(0))
			}
		}
		took := map[v1.Hash]bool{}
		if len(goneIdx) > 0 {
			orphans := s.listed(goneIdx)
			stillListed := s.listed(im.Manifests)
			keep := im.Manifests[:0]
			for _, d := range im.Manifests {
				if d.Annotations[AnnotationRef] == "" && orphans[d.Digest] && !stillListed[d.Digest] {
					took[d.Digest] = true
					continue
				}
				keep = append(keep, d)
			}
			im.Manifests = keep
		}
		// What was named first, then the children its index took along.
		res.Deleted = deletedOf(all, gone, im.Manifests)
		for _, h := range deletedOf(all, took, im.Manifests) {
			if !slices.Contains(res.Deleted, h) {
				res.Deleted = append(res.Deleted, h)
			}
		}
		return nil
	})
	return res, err
}

// deletedOf is what docker's "Deleted:" lines report when the manifests
// gone (of all, the index before) leave the store with the entries left:
// the ID of each image or artifact that went, once (one image ID can stand
// for several manifests: the same config loaded from a docker save tar and
// from an OCI archive). An ID an entry left still has did not go: then the
// manifest that went is reported, by its digest.
func deletedOf(all []Entry, gone map[v1.Hash]bool, left []v1.Descriptor) []v1.Hash {
	stays := map[v1.Hash]bool{}
	for _, d := range left {
		stays[entryOf(d).ID] = true
	}
	var out []v1.Hash
	reported := map[v1.Hash]bool{}
	for _, o := range all {
		if !gone[o.Digest] {
			continue
		}
		h := o.ID
		if stays[h] {
			h = o.Digest
		}
		if !reported[h] {
			reported[h] = true
			out = append(out, h)
		}
	}
	return out
}

// Pruned reports what Prune removed.
type Pruned struct {
	Deleted   []v1.Hash // what went, as deletedOf reports it
	Reclaimed int64     // bytes of blobs and temp files removed
}

// Prune removes the untagged ("dangling") images, as docker image prune
// does (an untagged image that a tagged index lists is its child, not
// dangling, and stays), then every blob no image of the index needs and every temp file left
// by an interrupted write. It waits for writes in progress to finish and
// blocks new ones while it runs, so it never removes a blob a write is about
// to reference.
func (s *Store) Prune() (Pruned, error) { return s.PruneWith(PruneOptions{}) }

// PruneOptions adjust PruneWith.
type PruneOptions struct {
	// All removes every image, tagged or not, as docker image prune --all
	// does with images no container uses (the store has no containers).
	All bool
}

// PruneWith is Prune with options.
func (s *Store) PruneWith(o PruneOptions) (Pruned, error) {
	var res Pruned
	// Readers (Hold) first, then writers: a push holds the store and then
	// writes in it (the gzip'd form of a docker save layer, under
	// gc.lock), so taking gc.lock first would deadlock with it.
	unhold, err := s.lockDir(syscall.LOCK_EX)
	if err != nil {
		return res, err
	}
	defer unhold()
	unlock, err := s.lock(gcLock, syscall.LOCK_EX)
	if err != nil {
		return res, err
	}
	defer unlock()
	var im *v1.IndexManifest
	err = s.updateIndex(func(m *v1.IndexManifest) error {
		children := s.children(m.Manifests) // not dangling: a live index lists them
		all := make([]Entry, 0, len(m.Manifests))
		gone := map[v1.Hash]bool{}
		keep := m.Manifests[:0]
		for _, d := range m.Manifests {
			all = append(all, entryOf(d))
			if d.Annotations[AnnotationRef] == "" && !children[d.Digest] || o.All {
				gone[d.Digest] = true
				continue
			}
			keep = append(keep, d)
		}
		m.Manifests = keep
		res.Deleted = deletedOf(all, gone, keep)
		im = m
		return nil
	})
	if err != nil {
		return res, err
	}
	live := map[v1.Hash]bool{}
	for _, d := range im.Manifests {
		if err := s.mark(d.Digest, d.MediaType, live); err != nil {
			return res, err
		}
	}
	s.markGzipped(live)
	reclaimed := &res.Reclaimed
	removeIf := func(dir string, dead func(name string) bool) error {
		return filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if de.IsDir() || !dead(de.Name()) {
				return nil
			}
			if info, err := de.Info(); err == nil {
				*reclaimed += info.Size()
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			return nil
		})
	}
	n, err := s.reclaimTemp()
	if err != nil {
		return res, err
	}
	res.Reclaimed += n
	// Temp files of index.json updates killed midway, under the index
	// lock: a tag or an rmi takes no other, and the temp file of one
	// under way must stay until it is renamed.
	unlockIndex, err := s.lock(indexLock, syscall.LOCK_EX)
	if err != nil {
		return res, err
	}
	err = removeIf(s.dir, func(n string) bool { return atomicfile.IsTemp(n, indexFile) })
	unlockIndex()
	if err != nil {
		return res, err
	}
	// Records of the gzip'd form of layers no image needs any more.
	if err := removeIf(s.path(gzipDir, "sha256"), func(n string) bool { return !live[v1.Hash{Algorithm: "sha256", Hex: n}] }); err != nil {
		return res, err
	}
	err = removeIf(s.path(blobsDir, "sha256"), func(n string) bool {
		return !live[v1.Hash{Algorithm: "sha256", Hex: n}]
	})
	return res, err
}

// children is the set of manifests that the tagged (live) indexes among ds
// list: not dangling, whether tagged or not.
func (s *Store) children(ds []v1.Descriptor) map[v1.Hash]bool {
	var tagged []v1.Descriptor
	for _, d := range ds {
		if d.Annotations[AnnotationRef] != "" {
			tagged = append(tagged, d)
		}
	}
	return s.listed(tagged)
}

// Held is the set of the untagged entries of all (as List returns them)
// that a tagged index of all lists, at any depth: that index's children,
// which Prune keeps (children), so not dangling; the untagged entries
// Prune removes are the others. Without an untagged entry it reads no
// blob.
func (s *Store) Held(all []Entry) map[v1.Hash]bool {
	untagged := map[v1.Hash]bool{}
	ds := make([]v1.Descriptor, len(all))
	for i, e := range all {
		if e.Ref == "" {
			untagged[e.Digest] = true
		}
		ds[i] = e.descriptor(0)
	}
	if len(untagged) == 0 {
		return nil
	}
	held := s.children(ds)
	maps.DeleteFunc(held, func(h v1.Hash, _ bool) bool { return !untagged[h] })
	return held
}

// listed is the set of manifests that the indexes among ds list, at every
// depth. Indexes whose blob cannot be read list nothing.
func (s *Store) listed(ds []v1.Descriptor) map[v1.Hash]bool {
	out := map[v1.Hash]bool{}
	var walk func(h v1.Hash)
	walk = func(h v1.Hash) {
		b, err := s.readBlob(h, maxManifest)
		if err != nil {
			return
		}
		im, err := v1.ParseIndexManifest(bytesReader(b))
		if err != nil {
			return
		}
		for _, c := range im.Manifests {
			if !out[c.Digest] {
				out[c.Digest] = true
				if c.MediaType.IsIndex() {
					walk(c.Digest)
				}
			}
		}
	}
	for _, d := range ds {
		if d.MediaType.IsIndex() {
			walk(d.Digest)
		}
	}
	return out
}

// mark records the blobs the manifest or index h needs. Children of an index
// that are not in the store (platforms never pulled) are skipped.
func (s *Store) mark(h v1.Hash, mt types.MediaType, live map[v1.Hash]bool) error {
	return s.Walk(h, mt, func(h v1.Hash, _ types.MediaType) bool { return !live[h] }, func(h v1.Hash, _ bool) { live[h] = true })
}

// Walk reads the manifest or index h (of media type mt) and, of an index,
// each child the store holds, depth first: enter says whether to read a
// manifest (false: seen already, or not wanted); found is called for each
// manifest read (manifest true), then for the config and layers of each
// image (manifest false). A manifest the store lacks (a platform never
// pulled) is skipped; one that cannot be parsed stops the walk.
func (s *Store) Walk(h v1.Hash, mt types.MediaType, enter func(v1.Hash, types.MediaType) bool, found func(h v1.Hash, manifest bool)) error {
	if !enter(h, mt) {
		return nil
	}
	b, err := s.readBlob(h, maxManifest)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	found(h, true)
	if mt.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytesReader(b))
		if err != nil {
			return fmt.Errorf("reading index %s: %w", h, err)
		}
		for _, c := range idx.Manifests {
			if err := s.Walk(c.Digest, c.MediaType, enter, found); err != nil {
				return err
			}
		}
		return nil
	}
	m, err := v1.ParseManifest(bytesReader(b))
	if err != nil {
		return fmt.Errorf("reading manifest %s: %w", h, err)
	}
	found(m.Config.Digest, false)
	for _, l := range m.Layers {
		found(l.Digest, false)
	}
	return nil
}
