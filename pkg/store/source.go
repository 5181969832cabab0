package store

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/ctl-dev/ctl/pkg/bounded"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// source is an archive being loaded: a tar read once from start to end, or a
// directory. Member names are clean relative paths; nothing is ever
// extracted to the file system under a name taken from the archive.
type source interface {
	// read returns a small member whole (at most max bytes).
	read(name string, max int64) ([]byte, error)
	// store makes the member a blob of the store, verified to have digest
	// want (when not zero) and size (when >= 0), and returns its digest.
	store(name string, want v1.Hash, size int64) (v1.Hash, error)
	// has reports whether the archive has the member.
	has(name string) bool
	close()
}

// Limits on untrusted archives.
const (
	maxInMemory   = 1 << 20  // members up to this size are kept in memory while a tar is read
	maxMemoryAll  = 64 << 20 // and at most this much in all
	maxMembers    = 1 << 16  // members of one archive
	maxLinkHops   = 8        // links followed to reach a member
	maxMemberSize = 1 << 40  // a member claiming more is refused
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}

// cleanMember turns an archive name into a clean relative path, refusing
// absolute names and names that climb out of the archive.
func cleanMember(name string) (string, error) {
	n := strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(name, `\`, "/")), "/")
	if strings.HasPrefix(name, "/") || n == "" || hasDotDot(name) {
		return "", invalid("archive member %q escapes the archive", name)
	}
	return n, nil
}

func hasDotDot(name string) bool {
	for _, p := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if p == ".." {
			return true
		}
	}
	return false
}

// tarMember is one member of a tar read by tarSource.
type tarMember struct {
	data    []byte    // small member, in memory
	tmp     *tempBlob // large member, in a temp file of the store
	present v1.Hash   // blobs/sha256/HEX already in the store: skipped, not read
	size    int64
	link    string // symlink or hard link target, a clean member name
	stored  bool
}

// tarSource reads a tar stream in one pass: small members into memory,
// large ones into temp files of the store, hashed on the way. Blobs of an
// OCI layout that the store already has are skipped without being written.
type tarSource struct {
	s       *Store
	b       *batch
	members map[string]*tarMember
	// cut is the length of a tar stream that ended without tar's
	// end-of-archive marker (two zero blocks): a truncated file. -1 when
	// the marker was there.
	cut int64
}

// tarTail counts the bytes read through it and the run of zero bytes they
// end with, to tell a tar's end-of-archive marker from a truncation.
type tarTail struct {
	r     io.Reader
	n     int64
	zeros int64
}

func (t *tarTail) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	for _, c := range p[:n] {
		if c == 0 {
			t.zeros++
		} else {
			t.zeros = 0
		}
	}
	t.n += int64(n)
	return n, err
}

func (s *Store) readTar(r io.Reader, b *batch) (*tarSource, error) {
	src := &tarSource{s: s, b: b, members: map[string]*tarMember{}, cut: -1}
	tail := &tarTail{r: r}
	r = tail
	// truncated words an archive that ended in the middle of a member.
	truncated := func(err error, what string) error {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return invalid("the archive is truncated at byte %d, in %s", tail.n, what)
		}
		return nil
	}
	// last is the member read last: Next skips what it left unread.
	last := "a member's header"
	// bomb names the member being read when a gzip'd archive decompressed
	// past its bound (newInflater).
	bomb := func(err error, where string) error {
		if errors.As(err, new(*inflateError)) {
			return invalid("the archive, at %s, %v", where, err)
		}
		return nil
	}
	ok := false
	defer func() {
		if !ok {
			src.close()
		}
	}()
	tr := tar.NewReader(r)
	var mem int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			if tail.zeros < 2*512 {
				src.cut = tail.n
			}
			break
		}
		if terr := truncated(err, "a member's header"); terr != nil {
			return nil, terr
		}
		if berr := bomb(err, last); berr != nil {
			return nil, berr
		}
		if err != nil {
			return nil, invalid("reading the archive: %v", err)
		}
		if len(src.members) >= maxMembers {
			return nil, invalid("archive has more than %d members", maxMembers)
		}
		if hdr.Typeflag == tar.TypeDir {
			// Nothing is made of a directory entry; "./" (tar -C DIR -cf
			// X.tar .) is one.
			continue
		}
		name, err := cleanMember(hdr.Name)
		if err != nil {
			return nil, err
		}
		last = name
		m := &tarMember{size: hdr.Size}
		switch hdr.Typeflag {
		case tar.TypeSymlink, tar.TypeLink:
			target := hdr.Linkname
			if hdr.Typeflag == tar.TypeSymlink && !strings.HasPrefix(target, "/") {
				target = path.Join(path.Dir(name), target)
			}
			if strings.HasPrefix(hdr.Linkname, "/") || hasDotDot(strings.TrimPrefix(path.Clean("/"+target), "/")) || strings.HasPrefix(path.Clean(target), "..") {
				return nil, invalid("link %q -> %q escapes the archive", hdr.Name, hdr.Linkname)
			}
			m.link, err = cleanMember(path.Clean(target))
			if err != nil {
				return nil, invalid("link %q -> %q escapes the archive", hdr.Name, hdr.Linkname)
			}
		case tar.TypeReg: // archive/tar reports old-style regular files (TypeRegA) as TypeReg
			if hdr.Size < 0 || hdr.Size > maxMemberSize {
				return nil, invalid("archive member %q has an absurd size %d", hdr.Name, hdr.Size)
			}
			if h, isBlob := blobName(name); isBlob && s.HasBlob(h) {
				m.present = h
				break
			}
			if hdr.Size <= maxInMemory && mem+hdr.Size <= maxMemoryAll {
				m.data, err = io.ReadAll(tr)
				if terr := truncated(err, name); terr != nil {
					return nil, terr
				}
				if berr := bomb(err, name); berr != nil {
					return nil, berr
				}
				if err != nil {
					return nil, invalid("reading %s from the archive: %v", name, err)
				}
				mem += hdr.Size
				break
			}
			m.tmp, err = s.stage(tr, hdr.Size)
			if terr := truncated(err, name); terr != nil {
				return nil, terr
			}
			if berr := bomb(err, name); berr != nil {
				return nil, berr
			}
			if err != nil {
				if errors.Is(err, ErrInvalidInput) || isWriteError(err) {
					return nil, err
				}
				return nil, invalid("reading %s from the archive: %v", name, err)
			}
		default:
			return nil, invalid("archive member %q has unsupported type %q", hdr.Name, string(hdr.Typeflag))
		}
		if old := src.members[name]; old != nil && old.tmp != nil {
			os.Remove(old.tmp.path)
		}
		src.members[name] = m
	}
	ok = true
	return src, nil
}

// blobName recognises blobs/sha256/HEX.
func blobName(name string) (v1.Hash, bool) {
	hexPart, ok := strings.CutPrefix(name, "blobs/sha256/")
	if !ok || len(hexPart) != 64 || !isHex(hexPart) {
		return v1.Hash{}, false
	}
	return v1.Hash{Algorithm: "sha256", Hex: hexPart}, true
}

func (t *tarSource) member(name string) (*tarMember, error) {
	n := name
	for range maxLinkHops {
		m := t.members[n]
		if m == nil {
			return nil, invalid("the archive has no %s", name)
		}
		if m.link == "" {
			return m, nil
		}
		n = m.link
	}
	return nil, invalid("too many links to reach %s in the archive", name)
}

func (t *tarSource) has(name string) bool { _, err := t.member(name); return err == nil }

func (t *tarSource) read(name string, max int64) ([]byte, error) {
	m, err := t.member(name)
	if err != nil {
		return nil, err
	}
	if m.size > max {
		return nil, invalid("%s is larger than the limit of %s", name, bounded.FormatSize(max))
	}
	switch {
	case m.tmp != nil && !m.stored:
		return os.ReadFile(m.tmp.path)
	case m.tmp != nil:
		return t.b.read(m.tmp.digest, max)
	case m.present != v1.Hash{}:
		return t.s.readBlob(m.present, max)
	}
	return m.data, nil
}

func (t *tarSource) store(name string, want v1.Hash, size int64) (v1.Hash, error) {
	m, err := t.member(name)
	if err != nil {
		return v1.Hash{}, err
	}
	switch {
	case m.present != v1.Hash{}:
		// Skipped unread: the size that counts is the stored blob's.
		if want != (v1.Hash{}) && want != m.present {
			return v1.Hash{}, invalid("%s is not %s", name, want)
		}
		if err := t.b.checkSize(m.present, size); err != nil {
			return v1.Hash{}, err
		}
		return m.present, nil
	case size >= 0 && m.size != size:
		return v1.Hash{}, invalid("%s has %d bytes, %d declared", name, m.size, size)
	case m.tmp != nil:
		if want != (v1.Hash{}) && want != m.tmp.digest {
			return v1.Hash{}, invalid("content of %s has digest %s, %s declared", name, m.tmp.digest, want)
		}
		if !m.stored {
			t.b.add(m.tmp)
			m.stored = true
		}
		return m.tmp.digest, nil
	}
	h, err := t.b.putBytes(m.data)
	if err != nil {
		return v1.Hash{}, err
	}
	if want != (v1.Hash{}) && want != h {
		return v1.Hash{}, invalid("content of %s has digest %s, %s declared", name, h, want)
	}
	return h, nil
}

func (t *tarSource) close() {
	for _, m := range t.members {
		if m.tmp != nil && !m.stored {
			os.Remove(m.tmp.path)
		}
	}
}

// storeFallback is an OCI layout source whose blobs the archive lacks are
// taken from the store when it has them. An archive may hold only some of
// an index's images (docker save --platform writes the whole index and the
// images of the platforms asked for); the others' manifests, when a load
// or pull before stored them, are the store's, so the index's entry is
// recorded with every platform the store holds, not only the archive's.
type storeFallback struct {
	source
	b *batch
}

// stored is the blob of member name, when the archive lacks it and the
// store (or this load) has it.
func (f storeFallback) stored(name string) (v1.Hash, bool) {
	if f.source.has(name) {
		return v1.Hash{}, false
	}
	h, ok := blobName(name)
	return h, ok && (f.b.staged[h] != nil || f.b.s.HasBlob(h))
}

func (f storeFallback) has(name string) bool {
	_, ok := f.stored(name)
	return ok || f.source.has(name)
}

func (f storeFallback) read(name string, max int64) ([]byte, error) {
	if h, ok := f.stored(name); ok {
		return f.b.read(h, max)
	}
	return f.source.read(name, max)
}

func (f storeFallback) store(name string, want v1.Hash, size int64) (v1.Hash, error) {
	if h, ok := f.stored(name); ok {
		if want != (v1.Hash{}) && want != h {
			return v1.Hash{}, invalid("%s is not %s", name, want)
		}
		return h, f.b.checkSize(h, size)
	}
	return f.source.store(name, want, size)
}

// dirSource reads a directory (an OCI layout, or an extracted docker save)
// through os.Root: symlinks that lead outside the directory are refused by
// the kernel-checked lookup, and only regular files are read.
type dirSource struct {
	s    *Store
	b    *batch
	ctx  context.Context
	root *os.Root
}

func (s *Store) openDir(ctx context.Context, dir string, b *batch) (*dirSource, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, invalid("opening %s: %v", dir, err)
	}
	return &dirSource{s: s, b: b, ctx: ctx, root: root}, nil
}

func (d *dirSource) open(name string) (*os.File, int64, error) {
	f, size, err := bounded.OpenIn(d.root, name)
	var be *bounded.Error
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, 0, invalid("the layout has no %s", name)
	case errors.As(err, &be):
		return nil, 0, invalid("%s in %s is %s, not a regular file", name, d.root.Name(), be.Kind)
	case err != nil:
		return nil, 0, invalid("opening %s: %v", name, err)
	}
	return f, size, nil
}

// has tells whether name exists; one that is not a regular file is then
// refused by read or store, by name.
func (d *dirSource) has(name string) bool {
	_, err := d.root.Lstat(name)
	return err == nil
}

func (d *dirSource) read(name string, max int64) ([]byte, error) {
	f, size, err := d.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > max {
		return nil, invalid("%s is larger than the limit of %s", name, bounded.FormatSize(max))
	}
	return io.ReadAll(io.LimitReader(f, max))
}

func (d *dirSource) store(name string, want v1.Hash, size int64) (v1.Hash, error) {
	if want != (v1.Hash{}) && (d.s.HasBlob(want) || d.b.staged[want] != nil) {
		return want, d.b.checkSize(want, size)
	}
	f, fsize, err := d.open(name)
	if err != nil {
		return v1.Hash{}, err
	}
	defer f.Close()
	if size >= 0 && fsize != size {
		return v1.Hash{}, invalid("%s has %d bytes, %d declared", name, fsize, size)
	}
	t, err := d.s.stage(ctxReader{d.ctx, f}, fsize)
	if err != nil {
		return v1.Hash{}, err
	}
	if want != (v1.Hash{}) && want != t.digest {
		os.Remove(t.path)
		return v1.Hash{}, invalid("content of %s has digest %s, %s declared", name, t.digest, want)
	}
	d.b.add(t)
	return t.digest, nil
}

func (d *dirSource) close() { d.root.Close() }
