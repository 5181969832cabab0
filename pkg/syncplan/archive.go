package syncplan

import (
	"archive/tar"
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ctl-dev/ctl/pkg/atomicfile"
	"github.com/ctl-dev/ctl/pkg/bounded"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/klauspost/compress/gzip"
)

// An OCI archive is an OCI layout in a tar (gzip'd or not), as ctl save
// --format oci and skopeo's oci-archive: write it: the members oci-layout,
// index.json and blobs/sha256/HEX. Read, it is untrusted: only those
// members are taken (by name, never extracted by their own paths; links and
// anything else are ignored), each blob checked against its digest.

// layoutMember is the cleaned name of a tar member that belongs to an OCI
// layout, and whether it does.
func layoutMember(name string) (string, bool) {
	n := strings.TrimPrefix(path.Clean("/"+name), "/")
	if n == "oci-layout" || n == "index.json" {
		return n, true
	}
	parts := strings.Split(n, "/")
	if len(parts) != 3 || parts[0] != "blobs" || parts[1] != "sha256" || len(parts[2]) != 64 {
		return "", false
	}
	if _, err := hex.DecodeString(parts[2]); err != nil || strings.ToLower(parts[2]) != parts[2] {
		return "", false
	}
	return n, true
}

// maxLayoutFile bounds the members read whole: oci-layout and index.json
// (the store's bound on an index).
const maxLayoutFile = 4 << 20

// extractArchive writes the layout members of the archive at file (a
// regular file) into dir. A later member of the same name replaces an
// earlier one, as tar has it. A gzip'd archive is decompressed within the
// store's bound on what load decompresses.
func extractArchive(file, dir string) error {
	f, _, err := bounded.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := store.Decompress(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(r)
	hasIndex := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not a tar: %w", err)
		}
		name, ok := layoutMember(h.Name)
		if !ok || h.Typeflag != tar.TypeReg {
			continue
		}
		if !strings.HasPrefix(name, "blobs/") && h.Size > maxLayoutFile {
			return fmt.Errorf("%s is %s, more than the %s it may be", name, bounded.FormatSize(h.Size), bounded.FormatSize(maxLayoutFile))
		}
		if err := extractMember(tr, filepath.Join(dir, filepath.FromSlash(name)), name); err != nil {
			return err
		}
		hasIndex = hasIndex || name == "index.json"
	}
	if !hasIndex {
		return errors.New("no index.json: not an OCI archive")
	}
	return nil
}

// extractMember writes r to target, checking a blob's digest.
func extractMember(r io.Reader, target, name string) error {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	out, err := os.Create(target)
	if err != nil {
		return err
	}
	hash := sha256.New()
	_, err = io.Copy(io.MultiWriter(out, hash), r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	if want, ok := strings.CutPrefix(name, "blobs/sha256/"); ok && hex.EncodeToString(hash.Sum(nil)) != want {
		return fmt.Errorf("blob %s does not match its digest", name)
	}
	return nil
}

// packArchive writes the layout in dir as an archive at file (gzip'd when
// its name ends in .gz or .tgz), replacing file whole (atomicfile).
func packArchive(dir, file string) error {
	gz := strings.HasSuffix(file, ".gz") || strings.HasSuffix(file, ".tgz")
	return atomicfile.Write(file, func(w io.Writer) error { return writeArchive(w, dir, gz) })
}

// writeArchive writes the layout in dir to f as a tar: oci-layout, the
// blobs, then index.json, as ctl save writes them.
func writeArchive(f io.Writer, dir string, gz bool) error {
	bw := bufio.NewWriterSize(f, 1<<20)
	var w io.Writer = bw
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(bw)
		w = zw
	}
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0)
	add := func(name string) error {
		src, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return err
		}
		defer src.Close()
		fi, err := src.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: fi.Size(), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = io.Copy(tw, src)
		return err
	}
	layoutFile := []byte(`{"imageLayoutVersion":"1.0.0"}`)
	if err := tw.WriteHeader(&tar.Header{Name: "oci-layout", Mode: 0o644, Size: int64(len(layoutFile)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(layoutFile); err != nil {
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, ModTime: epoch, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	blobs, err := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, b := range blobs {
		if err := add("blobs/sha256/" + b.Name()); err != nil {
			return err
		}
	}
	if err := add("index.json"); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}
