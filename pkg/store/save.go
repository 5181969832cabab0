package store

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/ctl-dev/ctl/pkg/artifact"
	"github.com/ctl-dev/ctl/pkg/platform"
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
//
// sel (zero: all) picks the platforms of an index whose images are saved,
// as docker save --platform does: for one platform, that platform's image
// is saved in the index's place (under the index's names); for several,
// the index itself is saved as it is, listing platforms the archive lacks,
// so that its digest is kept. Each platform of sel must be found (else a
// *platform.NotFoundError); an image entry must match sel. In docker's manifest.json, an index is represented
// by one image, as docker 25+ writes it: this machine's platform's when
// saved, else the first saved. Artifacts (a signature, an SBOM, buildkit's
// attestations in an index) are saved in the OCI layout only: every entry
// of manifest.json is loaded as an image, and one whose config is no image
// config fails docker's and podman's load of the whole archive.
func (s *Store) Save(ctx context.Context, w io.Writer, entries []Entry, format string, sel platform.Selection) error {
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
	targets := make([]Entry, len(entries))
	for i, e := range entries {
		if targets[i], err = s.platformTarget(e, sel); err != nil {
			return fmt.Errorf("saving %s: %w", e.name(), err)
		}
	}
	for _, e := range uniqueEntries(targets) {
		images, err := s.collect(e.Digest, e.MediaType, sel, add, map[v1.Hash]bool{})
		if err != nil {
			return fmt.Errorf("saving %s: %w", e.name(), err)
		}
		d := v1.Descriptor{MediaType: e.MediaType, Digest: e.Digest}
		if fi, err := s.statBlob(e.Digest); err == nil {
			d.Size = fi
		}
		var repoTag string
		if r, ok := e.Reference(); ok {
			if r.Digest() != "" && r.Digest() != e.Digest.String() {
				// Pulled at a digest it does not have (a filtered index
				// pulled by the registry's digest): named by its own,
				// which a load checks it against.
				if r, err = r.WithDigest(e.Digest.String()); err != nil {
					return err
				}
			}
			d.Annotations = map[string]string{annotationContainerdName: r.String()}
			if r.Tag() != "" {
				d.Annotations[AnnotationRef] = r.Tag()
				repoTag = r.Familiar()
			}
		}
		index.Manifests = append(index.Manifests, d)
		if len(images) == 0 {
			continue // an artifact, or an index none of whose images is stored
		}
		m := dockerImage(images)
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
			// Verified as it goes out: a blob damaged on disk since it was
			// stored fails the save instead of going into the archive.
			sum := sha256.New()
			_, err = io.CopyBuffer(io.MultiWriter(tw, sum), onlyReader{io.LimitReader(f, fi.Size())}, *bp)
			if err == nil && hex.EncodeToString(sum.Sum(nil)) != h.Hex {
				err = fmt.Errorf("%w: the store's copy does not match its digest (remove the image with ctl rmi, then pull or load it again)", ErrCorrupt)
			}
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

// uniqueEntries is entries with each reference once, and an image named
// without a reference (by ID) left out when it is saved under a reference
// too, as docker save writes a repeated name once: save app:v1 app:v1, or
// app app:v1, or app:v1 and its ID.
func uniqueEntries(entries []Entry) []Entry {
	named := map[v1.Hash]bool{}
	for _, e := range entries {
		if e.Ref != "" {
			named[e.Digest] = true
		}
	}
	seen := map[string]bool{}
	var out []Entry
	for _, e := range entries {
		key := e.Ref
		if key == "" {
			if named[e.Digest] {
				continue
			}
			key = "@" + e.Digest.String()
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, e)
		}
	}
	return out
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

// savedImage is an image manifest collect found, with its platform as the
// index listing it says.
type savedImage struct {
	*v1.Manifest
	platform *v1.Platform
}

// dockerImage is the image docker's manifest.json lists for an entry:
// this machine's platform's (as pull picks it), else the first one.
func dockerImage(images []savedImage) *v1.Manifest {
	ps := make([]*v1.Platform, len(images))
	for i, im := range images {
		ps[i] = im.platform
	}
	return images[max(platform.Best(platform.Default(), ps...), 0)].Manifest
}

// collect calls add for every blob the manifest or index h needs that the
// store has, children before parents, and returns the image manifests found
// (artifacts are not images: their blobs are added, they are not returned).
// Of an index, only the children sel selects are saved (zero: all); an
// image must match sel when its config names a platform. A manifest in
// visited is not walked again: an index may list a child many times, and
// nested indexes that do would multiply the walk.
func (s *Store) collect(h v1.Hash, mt types.MediaType, sel platform.Selection, add func(v1.Hash), visited map[v1.Hash]bool) ([]savedImage, error) {
	if visited[h] {
		return nil, nil
	}
	visited[h] = true
	raw, err := s.readBlob(h, maxManifest)
	if err != nil {
		return nil, err
	}
	var out []savedImage
	if mt.IsIndex() {
		im, err := v1.ParseIndexManifest(bytesReader(raw))
		if err != nil {
			return nil, err
		}
		children := im.Manifests
		if !sel.IsZero() && !sel.IsAll() {
			if children, err = platform.Filter(s.storedChildren(im), sel); err != nil {
				return nil, err
			}
		}
		for _, c := range children {
			if !s.HasBlob(c.Digest) {
				continue // a platform never pulled
			}
			ms, err := s.collect(c.Digest, c.MediaType, platform.Selection{}, add, visited)
			if err != nil {
				return nil, err
			}
			for i := range ms {
				if ms[i].platform == nil {
					ms[i].platform = c.Platform
				}
			}
			out = append(out, ms...)
		}
	} else {
		m, err := v1.ParseManifest(bytesReader(raw))
		if err != nil {
			return nil, err
		}
		if !sel.IsZero() && !sel.IsAll() {
			if err := s.matchConfig(m, sel); err != nil {
				return nil, err
			}
		}
		add(m.Config.Digest)
		for _, l := range m.Layers {
			add(l.Digest)
		}
		if artifact.Type(m) == "" {
			out = append(out, savedImage{Manifest: m})
		}
	}
	add(h)
	return out, nil
}

// platformTarget is what Save writes for entry e: for one platform of an
// index, the image Pick chooses for it among those the store holds, named
// as e, as docker save --platform writes one platform (its manifest, not
// the index, so that every reader of the archive finds that image, on any
// machine); else e.
func (s *Store) platformTarget(e Entry, sel platform.Selection) (Entry, error) {
	want, ok := sel.Single()
	if !ok || !e.IsIndex() {
		return e, nil
	}
	raw, err := s.readBlob(e.Digest, maxManifest)
	if err != nil {
		return e, err
	}
	im, err := v1.ParseIndexManifest(bytesReader(raw))
	if err != nil {
		return e, err
	}
	d, err := platform.Pick(s.storedChildren(im), want)
	if err != nil {
		return e, err
	}
	e.Digest, e.MediaType = d.Digest, d.MediaType
	return e, nil
}

// storedChildren is im with only the entries whose manifest the store has.
func (s *Store) storedChildren(im *v1.IndexManifest) *v1.IndexManifest {
	stored := &v1.IndexManifest{}
	for _, c := range im.Manifests {
		if s.HasBlob(c.Digest) {
			stored.Manifests = append(stored.Manifests, c)
		}
	}
	return stored
}

// matchConfig checks that the image of manifest m is of every platform
// sel lists, as an index must have each (an image whose config names none
// passes).
func (s *Store) matchConfig(m *v1.Manifest, sel platform.Selection) error {
	raw, err := s.readBlob(m.Config.Digest, maxConfig)
	if err != nil {
		return err
	}
	cf, err := v1.ParseConfigFile(bytesReader(raw))
	if err != nil {
		return nil // not an image config: nothing to compare
	}
	if p := platform.Of(cf); p != nil {
		if missing := sel.Missing(p); len(missing) > 0 {
			return &platform.NotFoundError{Missing: missing, Have: []string{platform.String(p)}, Image: true}
		}
	}
	return nil
}
