package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/ctl-dev/ctl/pkg/bounded"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// annotationContainerdName is where docker and containerd put the full
// reference of an image in the index.json of an archive they write.
const annotationContainerdName = "io.containerd.image.name"

// Load reads an image archive and stores its images: a docker save tar
// (gzip'd or not; the classic format and docker 25's, which is also an OCI
// layout), an OCI archive (an OCI layout in a tar, gzip'd or not) or an OCI
// layout directory. It returns one entry per reference loaded, and one
// without reference per untagged image. Archives are untrusted: members
// are matched by name only, never extracted; links must stay inside the
// archive; every blob is checked against its digest and size. Nothing is
// visible in the store until everything is in.
func (s *Store) Load(ctx context.Context, path string) ([]Entry, error) {
	return s.LoadWithProgress(ctx, path, nil)
}

// LoadWithProgress is Load that reports, for an archive file, the bytes
// read so far and the file's size as it reads (a directory reports
// nothing). progress may be nil.
func (s *Store) LoadWithProgress(ctx context.Context, path string, progress func(read, size int64)) ([]Entry, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, invalid("reading %s: %v", path, unwrapPathErr(err))
	}
	if fi.IsDir() {
		unlock, err := s.lock(gcLock, syscall.LOCK_SH)
		if err != nil {
			return nil, err
		}
		defer unlock()
		b := newBatch(s)
		defer b.abort()
		d, err := s.openDir(ctx, path, b)
		if err != nil {
			return nil, err
		}
		defer d.close()
		return s.load(ctx, d, b, path)
	}
	f, size, err := bounded.Open(path)
	if err != nil {
		return nil, invalid("reading %s: %v", path, unwrapPathErr(err))
	}
	defer f.Close()
	var r io.Reader = f
	if progress != nil {
		r = &progressReader{r: f, size: size, report: progress}
	}
	return s.LoadStream(ctx, r, path)
}

// progressReader reports the bytes read through it.
type progressReader struct {
	r      io.Reader
	read   int64
	size   int64
	report func(read, size int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.read += int64(n)
	p.report(p.read, p.size)
	return n, err
}

// LoadStream is Load for an archive read from r (a tar, gzip'd or not),
// such as standard input; name is used in messages.
func (s *Store) LoadStream(ctx context.Context, r io.Reader, name string) ([]Entry, error) {
	unlock, err := s.lock(gcLock, syscall.LOCK_SH)
	if err != nil {
		return nil, err
	}
	defer unlock()
	dr, err := Decompress(r)
	if errors.Is(err, ErrInvalidInput) {
		return nil, fmt.Errorf("loading %s: %w", name, err)
	}
	if err != nil {
		return nil, invalid("reading %s: %v", name, err)
	}
	b := newBatch(s)
	defer b.abort()
	t, err := s.readTar(ctxReader{ctx, io.NopCloser(dr)}, b)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("loading %s: %w", name, err)
	}
	defer t.close()
	return s.load(ctx, t, b, name)
}

func (s *Store) load(ctx context.Context, src source, b *batch, name string) ([]Entry, error) {
	ps, err := s.importArchive(ctx, src, b)
	if errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrInvalidInput) {
		return nil, fmt.Errorf("loading %s: %w: %w", name, ErrInvalidInput, err) // the archive is the user's
	}
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", name, err)
	}
	if len(ps) == 0 {
		return nil, invalid("loading %s: the archive holds no image", name)
	}
	if err := b.commit(); err != nil {
		return nil, err
	}
	if err := s.commitEntries(ps, nil); err != nil {
		return nil, err
	}
	var out []Entry
	for _, p := range ps {
		if len(p.refs) == 0 {
			out = append(out, p.e)
		}
		for _, r := range p.refs {
			e := p.e
			e.Ref = r
			out = append(out, e)
		}
	}
	return out, nil
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Decompress undoes the compression r starts with the magic number of, as
// docker load does: gzip, bzip2 or zstd (xz is refused, naming it: no xz
// decoder is in ctl's module graph), within the bound of what load
// decompresses (100 times the compressed bytes plus 256 MiB; past it,
// reads fail with an ErrInvalidInput): for every reader of a possibly
// compressed archive.
func Decompress(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, err := br.Peek(6)
	if err != nil && err != io.EOF {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return newInflater(br, codecGzip)
	case bytes.HasPrefix(magic, []byte("BZh")):
		return newInflater(br, codecBzip2)
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return newInflater(br, codecZstd)
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return nil, invalid("the archive is xz-compressed, which ctl does not read: decompress it first (xz -dc FILE | ctl load)")
	}
	return br, nil
}

// importArchive stores every blob the archive's images need and returns the
// images with their references, ready for one index update.
func (s *Store) importArchive(ctx context.Context, src source, b *batch) ([]pending, error) {
	var dockerManifest tarball.Manifest
	if src.has("manifest.json") {
		b, err := src.read("manifest.json", maxManifest)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &dockerManifest); err != nil {
			var m struct {
				SchemaVersion int `json:"schemaVersion"`
			}
			if json.Unmarshal(b, &m) == nil && m.SchemaVersion == 2 && !src.has("index.json") {
				// containers/image's dir: transport (podman save
				// --format docker-dir, skopeo copy dir:).
				return nil, invalid("manifest.json is an image manifest, not docker save's list: a dir: layout (podman save --format docker-dir, skopeo copy dir:), which ctl does not read; save it as an archive instead (podman save --format oci-archive, or skopeo copy dir:PATH oci-archive:FILE)")
			}
			return nil, invalid("manifest.json is malformed: %v", err)
		}
	}
	if src.has(layoutFile) {
		// Only checked: an OCI layout's marker must be what it says.
		b, err := src.read(layoutFile, maxManifest)
		if err != nil {
			return nil, err
		}
		var l struct {
			Version string `json:"imageLayoutVersion"`
		}
		if err := json.Unmarshal(b, &l); err != nil || l.Version == "" {
			return nil, invalid("%s is not an OCI layout marker", layoutFile)
		}
	}
	if src.has("index.json") {
		return s.importOCI(storeFallback{src, b}, dockerManifest)
	}
	if src.has("manifest.json") {
		return s.importDocker(ctx, src, b, dockerManifest)
	}
	if t, ok := src.(*tarSource); ok && t.cut >= 0 {
		// docker save writes manifest.json last: a cut archive lacks it.
		return nil, invalid("the archive is truncated at byte %d: it ends without tar's end-of-archive marker, before any manifest.json or index.json", t.cut)
	}
	return nil, invalid("not a docker save archive or an OCI layout (no manifest.json or index.json)")
}

// importOCI loads an OCI layout. Names come from each index.json entry's
// io.containerd.image.name, else its org.opencontainers.image.ref.name when
// that is a full reference (not a bare tag), else the RepoTags of the
// docker manifest.json entry with the same config.
func (s *Store) importOCI(src source, dm tarball.Manifest) ([]pending, error) {
	b, err := src.read("index.json", maxManifest)
	if err != nil {
		return nil, err
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, invalid("index.json is malformed: %v", err)
	}
	byConfig := map[string][]string{}
	for _, d := range dm {
		byConfig[strings.TrimPrefix(d.Config, "blobs/sha256/")] = d.RepoTags
	}
	var ps []pending
	done := imported{}
	for _, d := range idx.Manifests {
		e, err := s.importManifest(src, d, done)
		if err != nil {
			return nil, err
		}
		if e == nil {
			continue // an artifact, not an image
		}
		// docker save (25 and later) writes an OCI layout with a
		// manifest.json beside it: its images are docker's, pushed as
		// docker push sends them.
		e.DockerSave = dm != nil
		var names []string
		if n := d.Annotations[annotationContainerdName]; n != "" {
			names = []string{n}
		} else if n := d.Annotations[AnnotationRef]; strings.ContainsAny(n, "/:@") && !isDigest(n) {
			names = []string{n}
		} else {
			names = byConfig[e.ID.Hex]
		}
		refs, err := refKeys(names, e.Digest, false)
		if err != nil {
			return nil, err
		}
		msize := d.Size
		if msize == 0 { // a layout that left the size out: ours always has it
			name, _ := blobMember(d.Digest)
			raw, err := src.read(name, maxManifest)
			if err != nil {
				return nil, err
			}
			msize = int64(len(raw))
		}
		ps = append(ps, pending{e: *e, msize: msize, refs: refs})
	}
	return ps, nil
}

// refKeys turns the names an archive gives the image of manifest digest
// into reference keys, as docker stores them: name@digest is a digest
// reference (no tag), name:tag@digest the tag. A name carrying a digest
// must carry this image's: one that names another is refused. built says
// the manifest is ctl's, made for a classic docker save archive, which has
// none (docker load refuses a name with a digest there).
func refKeys(names []string, digest v1.Hash, built bool) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		r, err := reference.Parse(n)
		if err != nil {
			return nil, fmt.Errorf("%w: archive names an image %q: %w", ErrInvalidInput, n, err)
		}
		switch {
		case r.Digest() != "" && built:
			return nil, invalid("archive names an image %q: a classic docker save archive has no manifest for its digest to name (give a tag)", n)
		case r.Digest() != "" && r.Digest() != digest.String():
			return nil, invalid("archive names an image %q, but its manifest's digest is %s", n, digest)
		}
		if k := refKey(r); !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out, nil
}

// isDigest reports whether s is a digest ("sha256:HEX"): an OCI layout's
// org.opencontainers.image.ref.name holding one names no image.
func isDigest(s string) bool {
	_, err := v1.NewHash(s)
	return err == nil
}

// checkDescriptorSize refuses a negative size: a source's store takes
// one as "not declared", and no descriptor may leave a blob's size out.
func checkDescriptorSize(d v1.Descriptor) error {
	if d.Size < 0 {
		return invalid("%s has a negative size (%d) in the archive", d.Digest, d.Size)
	}
	return nil
}

func blobMember(h v1.Hash) (string, error) {
	if h.Algorithm != "sha256" || len(h.Hex) != 64 || !isHex(h.Hex) {
		return "", invalid("unsupported digest %q", h.String())
	}
	return "blobs/sha256/" + h.Hex, nil
}

// imported is what importManifest made of a manifest, by its digest and
// the media type a descriptor gave it: a manifest named many times (an
// index.json listing one under thousands of names, an index listing one
// child again and again, nested, which would multiply) is read, verified
// and walked once per load.
type imported map[importKey]importedManifest

type importKey struct {
	digest    v1.Hash
	mediaType types.MediaType
}

type importedManifest struct {
	e    *Entry // nil: not an image
	size int64  // of the manifest's bytes
}

// importManifest stores the manifest or index d and all it needs (children
// of an index that the archive and the store lack are skipped: a layout may
// hold only some platforms) and returns its entry; nil for an unknown media
// type. Each descriptor's size is checked, however often it comes.
func (s *Store) importManifest(src source, d v1.Descriptor, done imported) (*Entry, error) {
	name, err := blobMember(d.Digest)
	if err != nil {
		return nil, err
	}
	if err := checkDescriptorSize(d); err != nil {
		return nil, err
	}
	if m, ok := done[importKey{d.Digest, d.MediaType}]; ok {
		if d.Size != 0 && d.Size != m.size {
			return nil, invalid("%s has %d bytes, %d declared", d.Digest, m.size, d.Size)
		}
		if m.e == nil {
			return nil, nil
		}
		e := *m.e
		return &e, nil
	}
	raw, err := src.read(name, maxManifest)
	if err != nil {
		return nil, err
	}
	mt := d.MediaType
	if mt == "" {
		var probe struct {
			MediaType types.MediaType `json:"mediaType"`
		}
		_ = json.Unmarshal(raw, &probe)
		mt = probe.MediaType
	}
	e := &Entry{Digest: d.Digest, ID: d.Digest, MediaType: mt}
	switch {
	case mt.IsIndex():
		im, err := v1.ParseIndexManifest(bytesReader(raw))
		if err != nil {
			return nil, invalid("index %s is malformed: %v", d.Digest, err)
		}
		for _, c := range im.Manifests {
			cn, err := blobMember(c.Digest)
			if err != nil {
				return nil, err
			}
			if err := checkDescriptorSize(c); err != nil {
				return nil, err // even of a child the archive lacks
			}
			if !src.has(cn) {
				continue // neither in the archive nor in the store
			}
			ce, err := s.importManifest(src, c, done)
			if err != nil {
				return nil, err
			}
			if ce != nil {
				e.addChild(c, *ce) // a child listed again adds nothing: addChild counts each image once
			}
		}
	case mt.IsImage():
		m, err := v1.ParseManifest(bytesReader(raw))
		if err != nil {
			return nil, invalid("manifest %s is malformed: %v", d.Digest, err)
		}
		cn, err := blobMember(m.Config.Digest)
		if err != nil {
			return nil, err
		}
		for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if err := checkDescriptorSize(l); err != nil {
				return nil, err
			}
		}
		cfg, err := src.read(cn, maxConfig)
		if err != nil {
			return nil, err
		}
		if _, err := src.store(cn, m.Config.Digest, m.Config.Size); err != nil {
			return nil, err
		}
		me := manifestEntry(d.Digest, mt, m)
		e = &me
		if cf, err := v1.ParseConfigFile(bytesReader(cfg)); err == nil {
			e.Created = cf.Created.Time
			e.Platforms = platformsOf(cf)
		}
		for _, l := range m.Layers {
			ln, err := blobMember(l.Digest)
			if err != nil {
				return nil, err
			}
			if _, err := src.store(ln, l.Digest, l.Size); err != nil {
				return nil, err
			}
		}
	default:
		done[importKey{d.Digest, d.MediaType}] = importedManifest{size: int64(len(raw))}
		return nil, nil
	}
	if _, err := src.store(name, d.Digest, int64(len(raw))); err != nil {
		return nil, err
	}
	if d.Size != 0 && d.Size != int64(len(raw)) {
		return nil, invalid("%s has %d bytes, %d declared", d.Digest, len(raw), d.Size)
	}
	c := *e
	done[importKey{d.Digest, d.MediaType}] = importedManifest{e: &c, size: int64(len(raw))}
	return e, nil
}

// importDocker loads the classic docker save format: manifest.json lists
// each image's config and layer tars. The manifest is built here, OCI with
// layers stored as they are in the archive, so each layer is checked
// against the config's diff_id, as docker load does: an uncompressed tar
// (kept uncompressed) by its digest, taken in the same pass that stores
// it; a compressed one by decompressing it, within newInflater's bound.
func (s *Store) importDocker(ctx context.Context, src source, b *batch, dm tarball.Manifest) ([]pending, error) {
	var ps []pending
	diffIDs := map[v1.Hash]v1.Hash{} // of the compressed layers, each decompressed once
	for _, d := range dm {
		cn, err := cleanMember(d.Config)
		if err != nil {
			return nil, err
		}
		cfgRaw, err := src.read(cn, maxConfig)
		if err != nil {
			return nil, err
		}
		cf, err := v1.ParseConfigFile(bytesReader(cfgRaw))
		if err != nil {
			return nil, invalid("image config %s is malformed: %v", d.Config, err)
		}
		if len(cf.RootFS.DiffIDs) != len(d.Layers) {
			return nil, invalid("image config %s lists %d layers, manifest.json %d", d.Config, len(cf.RootFS.DiffIDs), len(d.Layers))
		}
		cfgDigest, err := src.store(cn, v1.Hash{}, int64(len(cfgRaw)))
		if err != nil {
			return nil, err
		}
		m := v1.Manifest{
			SchemaVersion: 2,
			MediaType:     types.OCIManifestSchema1,
			Config:        v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cfgDigest, Size: int64(len(cfgRaw))},
		}
		e := Entry{ID: cfgDigest, MediaType: types.OCIManifestSchema1, Created: cf.Created.Time, Size: int64(len(cfgRaw)), Platforms: platformsOf(cf), DockerSave: true}
		for i, lp := range d.Layers {
			ln, err := cleanMember(lp)
			if err != nil {
				return nil, err
			}
			h, err := src.store(ln, v1.Hash{}, -1)
			if err != nil {
				return nil, err
			}
			mt, size, err := layerKind(b, h)
			if err != nil {
				return nil, err
			}
			diff := h
			if mt != types.OCIUncompressedLayer {
				var ok bool
				if diff, ok = diffIDs[h]; !ok {
					if diff, err = diffID(ctx, b, h, mt, lp); err != nil {
						return nil, err
					}
					diffIDs[h] = diff
				}
			}
			if diff != cf.RootFS.DiffIDs[i] {
				return nil, invalid("layer %s has diff_id %s, the config says %s", lp, diff, cf.RootFS.DiffIDs[i])
			}
			m.Layers = append(m.Layers, v1.Descriptor{MediaType: mt, Digest: h, Size: size})
			e.Size += size
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		if e.Digest, err = b.putBytes(raw); err != nil {
			return nil, err
		}
		refs, err := refKeys(d.RepoTags, e.Digest, true)
		if err != nil {
			return nil, err
		}
		ps = append(ps, pending{e: e, msize: int64(len(raw)), refs: refs})
	}
	return ps, nil
}

// layerKind reads the first bytes of a stored layer to tell its compression.
func layerKind(b *batch, h v1.Hash) (types.MediaType, int64, error) {
	f, err := b.open(h)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	switch {
	case n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		return types.OCILayer, fi.Size(), nil
	case n == 4 && magic == [4]byte{0x28, 0xb5, 0x2f, 0xfd}:
		return types.OCILayerZStd, fi.Size(), nil
	}
	return types.OCIUncompressedLayer, fi.Size(), nil
}
