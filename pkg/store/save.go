package store

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Archive formats Save writes.
const (
	// FormatDocker is what docker 25 and later write: an OCI layout plus
	// docker's manifest.json, readable by every docker load and by crane.
	FormatDocker = "docker"
	// FormatOCI is an OCI image layout in a tar (an "OCI archive").
	FormatOCI = "oci"
)

// Save writes the images of entries (as returned by Resolve or List; an
// entry without reference is saved untagged) to w as a tar archive of the
// given format. Blobs are streamed from the store, each written once.
// Manifest digests are kept: loading the archive gives the same images.
func (s *Store) Save(ctx context.Context, w io.Writer, entries []Entry, format string) error {
	if format != FormatDocker && format != FormatOCI {
		return invalid("unknown archive format %q (docker or oci)", format)
	}
	release, err := s.Hold()
	if err != nil {
		return err
	}
	defer release()
	var (
		blobs []v1.Hash
		seen  = map[v1.Hash]bool{}
		index = v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
		dm    tarball.Manifest
		dmPos = map[v1.Hash]int{}
	)
	add := func(h v1.Hash) {
		if !seen[h] {
			seen[h] = true
			blobs = append(blobs, h)
		}
	}
	for _, e := range entries {
		images, err := s.collect(e.Digest, e.MediaType, add)
		if err != nil {
			return err
		}
		d := v1.Descriptor{MediaType: e.MediaType, Digest: e.Digest}
		if fi, err := s.statBlob(e.Digest); err == nil {
			d.Size = fi
		}
		var repoTag string
		if r, ok := e.Reference(); ok {
			d.Annotations = map[string]string{annotationContainerdName: r.String()}
			if r.Tag() != "" {
				d.Annotations[AnnotationRef] = r.Tag()
				repoTag = r.Familiar()
			}
		}
		index.Manifests = append(index.Manifests, d)
		if len(images) != 1 {
			continue // docker's manifest.json describes single images only
		}
		m := images[0]
		i, ok := dmPos[m.Config.Digest]
		if !ok {
			desc := tarball.Descriptor{Config: "blobs/sha256/" + m.Config.Digest.Hex}
			for _, l := range m.Layers {
				desc.Layers = append(desc.Layers, "blobs/sha256/"+l.Digest.Hex)
			}
			dm = append(dm, desc)
			i = len(dm) - 1
			dmPos[m.Config.Digest] = i
		}
		if repoTag != "" {
			dm[i].RepoTags = append(dm[i].RepoTags, repoTag)
		}
	}
	tw := tar.NewWriter(w)
	now := time.Unix(0, 0)
	writeBytes := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	if err := writeBytes("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	for _, d := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, ModTime: now, Typeflag: tar.TypeDir}); err != nil {
			return err
		}
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	for _, h := range blobs {
		if err := ctx.Err(); err != nil {
			return err
		}
		f, err := s.openBlob(h)
		if err != nil {
			return err
		}
		fi, err := f.Stat()
		if err == nil {
			err = tw.WriteHeader(&tar.Header{Name: "blobs/sha256/" + h.Hex, Mode: 0o644, Size: fi.Size(), ModTime: now, Typeflag: tar.TypeReg})
		}
		if err == nil {
			_, err = io.CopyBuffer(tw, onlyReader{io.LimitReader(f, fi.Size())}, *bp)
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("writing blob %s: %w", h, err)
		}
	}
	ib, err := json.Marshal(index)
	if err != nil {
		return err
	}
	if err := writeBytes("index.json", ib); err != nil {
		return err
	}
	if format == FormatDocker {
		if dm == nil {
			dm = tarball.Manifest{}
		}
		mb, err := json.Marshal(dm)
		if err != nil {
			return err
		}
		if err := writeBytes("manifest.json", mb); err != nil {
			return err
		}
	}
	return tw.Close()
}

func (s *Store) statBlob(h v1.Hash) (int64, error) {
	f, err := s.openBlob(h)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// collect calls add for every blob the manifest or index h needs that the
// store has, children before parents, and returns the image manifests found.
func (s *Store) collect(h v1.Hash, mt types.MediaType, add func(v1.Hash)) ([]*v1.Manifest, error) {
	raw, err := s.readBlob(h, maxManifest)
	if err != nil {
		return nil, err
	}
	var out []*v1.Manifest
	if mt.IsIndex() {
		im, err := v1.ParseIndexManifest(bytesReader(raw))
		if err != nil {
			return nil, err
		}
		for _, c := range im.Manifests {
			if !s.HasBlob(c.Digest) {
				continue // a platform never pulled
			}
			ms, err := s.collect(c.Digest, c.MediaType, add)
			if err != nil {
				return nil, err
			}
			out = append(out, ms...)
		}
	} else {
		m, err := v1.ParseManifest(bytesReader(raw))
		if err != nil {
			return nil, err
		}
		add(m.Config.Digest)
		for _, l := range m.Layers {
			add(l.Digest)
		}
		out = append(out, m)
	}
	add(h)
	return out, nil
}
