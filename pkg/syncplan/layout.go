package syncplan

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/ctl-dev/ctl/pkg/atomicfile"
	"github.com/ctl-dev/ctl/pkg/flock"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/tempdir"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// An OCI layout holds the images of many repositories for an air gap: each
// is listed in index.json with the annotation
// org.opencontainers.image.ref.name set to REPOSITORY:TAG (or
// REPOSITORY@DIGEST for an untagged manifest), REPOSITORY being the
// destination repository path of the plan's entry (no registry host), so
// that the same plan writes it on one side (--to) and reads it on the other
// (--from).

// refName is the annotation naming a layout's manifests.
const refName = "org.opencontainers.image.ref.name"

// Layout is an OCI layout a sync writes to or reads from: a directory, or
// an OCI archive (the same layout in a tar, as skopeo's oci-archive:),
// which is extracted into a temporary directory when opened and, when
// written to, packed again by Close.
type Layout struct {
	// Path is the directory or archive as given (oci:PATH).
	Path string

	archive bool
	tmp     *tempdir.Dir // an archive's unpacked copy
	mu      sync.Mutex   // index.json is rewritten whole
	p       layout.Path
	dirty   bool // an archive's layout was written to
	// blobs are the digests of the layout's blobs, listed at the first
	// write and kept up to date by the writes (under mu), so that a sync
	// of many images lists the blobs directory once, not once per image.
	blobs map[string]bool
	// synced are the digests of the blobs this sync made durable (under
	// mu): each is fsync'd once, however many images share it.
	synced map[string]bool
}

// IsArchive reports whether oci:PATH names an OCI archive rather than a
// layout directory: an existing file, or a path not there yet ending in
// .tar, .tar.gz or .tgz.
func IsArchive(path string) bool {
	if fi, err := os.Stat(path); err == nil {
		return !fi.IsDir()
	}
	for _, ext := range []string{".tar", ".tar.gz", ".tgz"} {
		if strings.HasSuffix(path, ext) {
			return true
		}
	}
	return false
}

// OpenLayout opens the layout at spec (oci:PATH), creating an empty one
// when create is set and there is none. An archive is read whole into a
// temporary directory (under $TMPDIR); one not there yet is an empty
// layout, written only by Close.
func OpenLayout(spec string, create bool) (*Layout, error) {
	path := strings.TrimPrefix(spec, "oci:")
	if path == "" {
		return nil, fmt.Errorf("%w: oci: needs a directory or archive (oci:PATH)", ErrInvalidPlan)
	}
	l := &Layout{Path: path, archive: IsArchive(path)}
	dir := path
	if l.archive {
		// Claimed so that the copy a killed sync leaves goes at the next
		// sync through an archive (package tempdir).
		tmp, err := tempdir.Claim(os.TempDir(), "ctl-sync-oci-")
		if err != nil {
			return nil, err
		}
		l.tmp, dir = tmp, tmp.Path
		err = extractArchive(path, dir)
		if errors.Is(err, os.ErrNotExist) && create {
			err = nil
		}
		if err != nil {
			tmp.Release()
			return nil, fmt.Errorf("OCI archive %s: %w", path, err)
		}
		create = true // an archive's empty layout lives in tmp until Close
	}
	p, err := layout.FromPath(dir)
	if err != nil && create {
		p, err = createLayout(dir)
	}
	if err != nil {
		if l.archive {
			l.tmp.Release()
		}
		return nil, fmt.Errorf("%s: %w", l, err)
	}
	l.p = p
	return l, nil
}

// createLayout makes an empty layout in dir unless one is there, under
// the directory's lock: of syncs starting at once on one new layout, one
// makes it and none empties it after another wrote an image in.
func createLayout(dir string) (layout.Path, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := flock.Dir(dir, syscall.LOCK_EX)
	if err != nil {
		return "", err
	}
	defer unlock()
	if p, err := layout.FromPath(dir); err == nil {
		return p, nil // made by another sync meanwhile
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); !errors.Is(err, os.ErrNotExist) {
		return layout.FromPath(dir) // its error
	}
	return layout.Write(dir, empty.Index)
}

// String names the layout for messages.
func (l *Layout) String() string {
	if l.archive {
		return "OCI archive " + l.Path
	}
	return "OCI layout " + l.Path
}

// Close packs an archive written to back into its file (whole, through a
// rename: an interrupted Close leaves the previous archive) and removes
// its temporary directory. A directory has nothing to close; nor has a
// nil Layout.
func (l *Layout) Close() error {
	if l == nil || !l.archive {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.tmp.Release()
	if !l.dirty {
		return nil
	}
	if err := packArchive(string(l.p), l.Path); err != nil {
		return fmt.Errorf("saving the synced layout as an archive: %w", err) // err names the archive
	}
	l.dirty = false
	return nil
}

// key is the name of repo's id in the layout.
func key(repo, id string) string {
	if strings.Contains(id, ":") {
		return repo + "@" + id
	}
	return repo + ":" + id
}

// resolve lists repo's tags in the layout and the digests of ids.
func (l *Layout) resolve(repo string, ids []string) ([]string, map[string]v1.Hash, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, im, err := l.index()
	if err != nil {
		return nil, nil, err
	}
	byName := map[string]v1.Hash{}
	var tags []string
	for _, d := range im.Manifests {
		n := d.Annotations[refName]
		byName[n] = d.Digest
		if t, ok := strings.CutPrefix(n, repo+":"); ok {
			tags = append(tags, t)
		}
	}
	digests := map[string]v1.Hash{}
	for _, id := range ids {
		if h, ok := byName[key(repo, id)]; ok {
			digests[id] = h
		}
	}
	return tags, digests, nil
}

// repositories are the repository paths the layout names images of, in
// index.json's order.
func (l *Layout) repositories() ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, im, err := l.index()
	if err != nil {
		return nil, err
	}
	var repos []string
	seen := map[string]bool{}
	for _, d := range im.Manifests {
		n := d.Annotations[refName]
		if i := strings.IndexAny(n, ":@"); i > 0 && !seen[n[:i]] {
			seen[n[:i]] = true
			repos = append(repos, n[:i])
		}
	}
	return repos, nil
}

// held names the repositories the layout holds images of (those of the
// destinations it was written for with --to), for messages.
func (l *Layout) held() (string, error) {
	repos, err := l.repositories()
	if err != nil || len(repos) == 0 {
		return "nothing", err
	}
	return strings.Join(repos, ", "), nil
}

// write stores a under repo's id, replacing what had that name; blobs the
// layout has are not written again. It returns the blobs (configs and
// layers) it wrote and their bytes, as a copy to a registry counts those
// it sent: manifests aside, blobs the destination had skipped.
func (l *Layout) write(a registry.Artifact, repo, id string) (int, int64, error) {
	n := key(repo, id)
	l.mu.Lock()
	defer l.mu.Unlock()
	// Other syncs writing to the same directory wait: ggcr writes a
	// blob in place (a second writer of one blob would truncate it under
	// the first) and index.json is read, changed and written whole.
	unlock, err := flock.Dir(string(l.p), syscall.LOCK_EX)
	if err != nil {
		return 0, 0, fmt.Errorf("locking %s: %w", l, err)
	}
	defer unlock()
	// What the layout had is known before, and what was written read
	// back from the layout's files after (treeOf): no manifest is read
	// twice upstream.
	if l.blobs == nil {
		if l.blobs, err = l.blobNames(); err != nil {
			return 0, 0, err
		}
	}
	if err := l.dropDamaged(a); err != nil {
		return 0, 0, fmt.Errorf("writing %s to %s: %w", n, l, err)
	}
	var app mutate.Appendable
	switch x := a.(type) {
	case v1.ImageIndex:
		app, err = x, l.p.WriteIndex(&onceIndex{layoutIndex: x, walked: map[v1.Hash]bool{}})
	case v1.Image:
		app, err = x, l.p.WriteImage(x)
	default:
		err = fmt.Errorf("%s is neither an image nor an index", n)
	}
	l.dirty = true // blobs may be written even when the index is not
	var t tree
	if err == nil {
		t, err = l.treeOf(a)
	}
	if err == nil {
		err = l.makeDurable(t)
	}
	if err == nil {
		err = l.name(app, n)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("writing %s to %s: %w", n, l, err)
	}
	blobs, size := 0, int64(0)
	for _, d := range t.blobs {
		if !l.blobs[d.Digest.String()] {
			l.blobs[d.Digest.String()] = true
			blobs, size = blobs+1, size+d.Size
		}
	}
	return blobs, size, nil
}

// dropDamaged removes the manifests of a (its own and, of an index, its
// children's, at every depth) that the layout holds but whose content does
// not have their digest: ggcr writes a manifest in place and keeps one
// that is there whatever it holds, so the part of one that a sync killed
// while writing it left would stay, and this write would name it in
// index.json. (Layers and configs ggcr rewrites when their size is not
// the declared one.) l.mu and the directory's lock are held. Each
// manifest is looked at once: an index may list a child many times, and
// nested ones that do would multiply the walk.
func (l *Layout) dropDamaged(a registry.Artifact) error {
	return l.dropDamagedOnce(a, map[v1.Hash]bool{})
}

func (l *Layout) dropDamagedOnce(a registry.Artifact, seen map[v1.Hash]bool) error {
	h, err := a.Digest()
	if err != nil {
		return err
	}
	if seen[h] {
		return nil
	}
	seen[h] = true
	if err := l.dropIfDamaged(h); err != nil {
		return err
	}
	x, ok := a.(v1.ImageIndex)
	if !ok {
		return nil
	}
	im, err := x.IndexManifest()
	if err != nil {
		return err
	}
	for _, d := range im.Manifests {
		if seen[d.Digest] {
			continue
		}
		if !d.MediaType.IsIndex() {
			seen[d.Digest] = true
			if err := l.dropIfDamaged(d.Digest); err != nil {
				return err
			}
			continue
		}
		child, err := x.ImageIndex(d.Digest)
		if err != nil {
			return err
		}
		if err := l.dropDamagedOnce(child, seen); err != nil {
			return err
		}
	}
	return nil
}

// dropIfDamaged removes the blob h (a sha256 one) if the layout holds it
// with other content.
func (l *Layout) dropIfDamaged(h v1.Hash) error {
	if h.Algorithm != "sha256" {
		return nil
	}
	p := filepath.Join(string(l.p), "blobs", h.Algorithm, h.Hex)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	got, _, err := v1.SHA256(f)
	f.Close()
	if err != nil || got == h {
		return err
	}
	delete(l.blobs, h.String())
	return os.Remove(p)
}

// Seams for the tests: how makeDurable syncs files and directories.
var (
	syncFiles = atomicfile.SyncFiles
	syncDir   = atomicfile.SyncDir
)

// makeDurable makes the blobs of t durable before index.json names its
// artifact, as the store makes a blob durable before its index names it:
// ggcr writes each blob in place and syncs none, so a power cut could
// leave index.json naming an empty blob. Each blob not synced by this
// sync yet is fsync'd, all at once (atomicfile.SyncFiles, as the store's
// loads do: a sync of many images stays fast), then the directories
// naming them. A blob the layout had before is too: a sync killed after
// writing it, before naming it, left it unsynced. An archive's layout is
// a temporary copy: Close packs it into an archive made durable whole
// (atomicfile). l.mu and the directory's lock are held.
func (l *Layout) makeDurable(t tree) error {
	if l.archive {
		return nil
	}
	all := slices.Clone(t.manifests)
	for _, d := range t.blobs {
		all = append(all, d.Digest)
	}
	dirs := map[string]bool{}
	if l.synced == nil { // a new layout's blobs/ names its first blob's directory
		l.synced = map[string]bool{}
		dirs[filepath.Join(string(l.p), "blobs")] = true
	}
	var paths []string
	for _, b := range all {
		if !l.synced[b.String()] {
			dir := filepath.Join(string(l.p), "blobs", b.Algorithm)
			paths, dirs[dir] = append(paths, filepath.Join(dir, b.Hex)), true
		}
	}
	if err := syncFiles(paths); err != nil {
		return err
	}
	for dir := range dirs {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	for _, b := range all {
		l.synced[b.String()] = true
	}
	return nil
}

// tree is what an artifact written to the layout holds there, each blob
// once: its manifests (itself included, at every depth, and the entries of
// its indexes written as they are) and the configs and layers they name.
type tree struct {
	manifests []v1.Hash
	blobs     []v1.Descriptor
}

// treeOf reads a's tree from the layout's own files, as ggcr wrote them,
// walking each manifest once (an index may list a child many times, and
// nested indexes that do would multiply the walk).
func (l *Layout) treeOf(a registry.Artifact) (tree, error) {
	h, err := a.Digest()
	if err != nil {
		return tree{}, err
	}
	var t tree
	seen := map[v1.Hash]bool{} // manifests and blobs
	var walk func(h v1.Hash, mt types.MediaType) error
	walk = func(h v1.Hash, mt types.MediaType) error {
		if seen[h] {
			return nil
		}
		seen[h] = true
		t.manifests = append(t.manifests, h)
		if mt != "" && !mt.IsIndex() && !mt.IsImage() {
			return nil // an index's entry ggcr wrote as it is
		}
		raw, err := l.p.Bytes(h)
		if err != nil {
			return err
		}
		var m struct {
			Manifests []v1.Descriptor `json:"manifests"`
			Config    *v1.Descriptor  `json:"config"`
			Layers    []v1.Descriptor `json:"layers"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("manifest %s: %w", h, err)
		}
		for _, d := range m.Manifests {
			if err := walk(d.Digest, d.MediaType); err != nil {
				return err
			}
		}
		if m.Config != nil {
			m.Layers = append([]v1.Descriptor{*m.Config}, m.Layers...)
		}
		for _, d := range m.Layers {
			if !seen[d.Digest] {
				seen[d.Digest] = true
				t.blobs = append(t.blobs, d)
			}
		}
		return nil
	}
	return t, walk(h, "")
}

// name makes n name a, whose blobs are in, in index.json: what had that
// name loses it. index.json is replaced whole (atomicfile): a reader, or
// a sync killed midway, never finds part of it. l.mu and the directory's
// lock are held.
func (l *Layout) name(a mutate.Appendable, n string) error {
	ii, err := l.p.ImageIndex()
	if err != nil {
		return err
	}
	desc, err := partial.Descriptor(a)
	if err != nil {
		return err
	}
	desc.Annotations = map[string]string{refName: n}
	ii = mutate.AppendManifests(mutate.RemoveManifests(ii, match.Annotation(refName, n)), mutate.IndexAddendum{Add: a, Descriptor: *desc})
	im, err := ii.IndexManifest()
	if err != nil {
		return err
	}
	raw, err := json.MarshalIndent(im, "", "   ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(string(l.p), "index.json"), raw)
}

// blobNames are the digests of the blobs the layout holds.
func (l *Layout) blobNames() (map[string]bool, error) {
	out := map[string]bool{}
	dir := filepath.Join(string(l.p), "blobs")
	algs, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	} else if err != nil {
		return nil, err
	}
	for _, alg := range algs {
		files, err := os.ReadDir(filepath.Join(dir, alg.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			out[alg.Name()+":"+f.Name()] = true
		}
	}
	return out, nil
}

// artifact reads the manifest h of the layout.
func (l *Layout) artifact(h v1.Hash) (registry.Artifact, error) {
	ii, err := l.p.ImageIndex()
	if err != nil {
		return nil, err
	}
	return artifactOf(ii, h)
}

// artifactOf is the manifest h listed in ii, an image or an index.
func artifactOf(ii v1.ImageIndex, h v1.Hash) (registry.Artifact, error) {
	if img, err := ii.Image(h); err == nil {
		return img, nil
	}
	return ii.ImageIndex(h)
}

// onceIndex is an index as layout.Path.WriteIndex walks it: each child
// once, however many times and through however many indexes it is listed
// (an index listing a child 1,000 times, three deep, has 10^9 paths). The
// walk reads IndexManifest; the bytes written are RawManifest's, as they
// are.
type onceIndex struct {
	layoutIndex
	walked map[v1.Hash]bool // the children listed already, shared by the walk
}

// layoutIndex is the index onceIndex wraps, embedded under a name of its
// own (an embedded v1.ImageIndex would clash with the ImageIndex method).
type layoutIndex = v1.ImageIndex

// IndexManifest lists the children not listed before in the walk.
func (i *onceIndex) IndexManifest() (*v1.IndexManifest, error) {
	im, err := i.layoutIndex.IndexManifest()
	if err != nil {
		return nil, err
	}
	out := *im
	out.Manifests = nil
	for _, d := range im.Manifests {
		if !i.walked[d.Digest] {
			i.walked[d.Digest] = true
			out.Manifests = append(out.Manifests, d)
		}
	}
	return &out, nil
}

// ImageIndex is the child index h, walked as its parent is.
func (i *onceIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	child, err := i.layoutIndex.ImageIndex(h)
	if err != nil {
		return nil, err
	}
	return &onceIndex{layoutIndex: child, walked: i.walked}, nil
}

// referrers are what refers to root in repo's part of the layout, and to
// what refers to it in turn, and, for an index, to its children (as
// ctl referrers --platforms finds them): manifests named REPO@DIGEST whose
// subject is one of those, and cosign's REPO:sha256-<hex>.sig (.att,
// .sbom) tags, whose tag names the subject.
func (l *Layout) referrers(repo string, root v1.Hash) ([]registry.ReferrerPush, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ii, im, err := l.index()
	if err != nil {
		return nil, err
	}
	bySubject := map[v1.Hash][]v1.Hash{}
	byName := map[string]v1.Hash{}
	for _, d := range im.Manifests {
		n := d.Annotations[refName]
		byName[n] = d.Digest
		if !strings.HasPrefix(n, repo+"@") {
			continue
		}
		raw, err := l.p.Bytes(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", l, n, err)
		}
		var m struct {
			Subject *v1.Descriptor `json:"subject"`
		}
		if json.Unmarshal(raw, &m) == nil && m.Subject != nil {
			bySubject[m.Subject.Digest] = append(bySubject[m.Subject.Digest], d.Digest)
		}
	}
	subjects := []v1.Hash{root}
	if child, err := ii.ImageIndex(root); err == nil {
		if cm, err := child.IndexManifest(); err == nil {
			for _, d := range cm.Manifests {
				subjects = append(subjects, d.Digest)
			}
		}
	}
	var out []registry.ReferrerPush
	seen := map[v1.Hash]bool{}
	add := func(subject, h v1.Hash, tag string) error {
		if seen[h] {
			return nil
		}
		seen[h] = true
		a, err := artifactOf(ii, h)
		if err != nil {
			return fmt.Errorf("%s: the referrer %s of %s: %w", l, h, subject, err)
		}
		out = append(out, registry.ReferrerPush{Subject: subject, Tag: tag, Artifact: a})
		subjects = append(subjects, h)
		return nil
	}
	for i := 0; i < len(subjects); i++ {
		s := subjects[i]
		for _, h := range bySubject[s] {
			if err := add(s, h, ""); err != nil {
				return nil, err
			}
		}
		for _, tag := range registry.CosignTags(s) {
			if h, ok := byName[repo+":"+tag]; ok {
				if err := add(s, h, tag); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// index is the layout's index.json, as an index and as its manifest
// (l.mu held).
func (l *Layout) index() (v1.ImageIndex, *v1.IndexManifest, error) {
	ii, err := l.p.ImageIndex()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", l, err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", l, err)
	}
	return ii, im, nil
}
