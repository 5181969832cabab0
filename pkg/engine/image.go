package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/ctl-dev/ctl/pkg/bounded"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// What of an engine's archive is held in memory, bounded as the store's
// loader bounds them: the archive's manifest.json, the image's config.
const (
	maxArchiveManifest = 4 << 20
	maxImageConfig     = 16 << 20
	// maxLinks bounds the symlinks followed to reach either.
	maxLinks = 8
)

// Image is the engine's image name as go-containerregistry's tarball
// reader makes it of the engine's save stream of its ID (the image name
// has as it is asked for), opened again for each blob read (push
// --from-engine). That reader reads the archive's manifest.json
// and the image's config whole: they are read here first, each within its
// bound (an engine that sends more is ErrEngine, not memory filled), and
// every stream the reader opens then serves these two from memory, ahead
// of the engine's members, whose own copies of them are dropped: a later
// stream can neither swap them nor send them without end.
func (c *Client) Image(ctx context.Context, name string) (v1.Image, error) {
	img, err := c.Inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	// Every stream of the image by its ID, not by name: a tag that moves
	// while the push reads (a rebuild) cannot mix two images' members.
	open := func() (io.ReadCloser, error) {
		s, err := c.save(ctx, []string{img.ID.String()}, name)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	fail := func(err error) error {
		if errors.Is(err, ErrEngine) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err // the stream's own
		}
		return fmt.Errorf("%w: the archive of %s from %s: %v", ErrEngine, name, c.ep.Host, err)
	}
	raw, drop, err := readMember(open, "manifest.json", maxArchiveManifest)
	if err != nil {
		return nil, fail(err)
	}
	var m tarball.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fail(fmt.Errorf("manifest.json: %v", err))
	}
	if len(m) != 1 {
		return nil, fail(fmt.Errorf("manifest.json lists %d images, not one", len(m)))
	}
	cfg, cfgNames, err := readMember(open, m[0].Config, maxImageConfig)
	if err != nil {
		return nil, fail(err)
	}
	if _, err := v1.ParseConfigFile(bytes.NewReader(cfg)); err != nil {
		return nil, fail(fmt.Errorf("the image config %s: %v", m[0].Config, err))
	}
	for n := range cfgNames {
		drop[n] = true
	}
	ahead := []member{{"manifest.json", raw}, {m[0].Config, cfg}}
	return tarball.Image(func() (io.ReadCloser, error) { return replaceMembers(open, ahead, drop), nil }, nil)
}

// member is one regular file of an archive, held in memory.
type member struct {
	name string
	data []byte
}

// readMember reads the member name of the archive open streams, following
// symlinks (and hard links) as the tarball reader does, at most maxLinks
// of them, and at most max bytes. It returns the member and every name
// (cleaned) that led to it.
func readMember(open func() (io.ReadCloser, error), name string, max int64) ([]byte, map[string]bool, error) {
	names := map[string]bool{}
	for hops := 0; ; hops++ {
		want := path.Clean(name)
		if names[want] || hops > maxLinks {
			return nil, nil, fmt.Errorf("%s: a cycle or chain of more than %d links", name, maxLinks)
		}
		names[want] = true
		data, link, err := findMember(open, want, max)
		if err != nil {
			return nil, nil, err
		}
		if link == "" {
			return data, names, nil
		}
		name = path.Join(path.Dir(want), path.Clean(link))
	}
}

// findMember reads member want (a cleaned name) of one stream of open:
// its content, or the target of a link. Errors of the stream are its own
// (ErrEngine); the others say what is wrong with the archive.
func findMember(open func() (io.ReadCloser, error), want string, max int64) (data []byte, link string, err error) {
	rc, err := open()
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil, "", fmt.Errorf("%s is not in it", want)
		}
		if err != nil {
			return nil, "", err
		}
		if path.Clean(hdr.Name) != want {
			continue
		}
		if hdr.Typeflag == tar.TypeSymlink || hdr.Typeflag == tar.TypeLink {
			return nil, hdr.Linkname, nil
		}
		if hdr.Size > max {
			return nil, "", &bounded.Error{Path: want, Limit: max}
		}
		data, err := io.ReadAll(io.LimitReader(tr, max+1))
		switch {
		case err != nil:
			return nil, "", err
		case int64(len(data)) > max:
			return nil, "", &bounded.Error{Path: want, Limit: max}
		}
		return data, "", nil
	}
}

// replaceMembers is the archive of open with the members ahead first, and
// without its own members named in drop (cleaned names). The engine's
// stream is opened only once the reader reads past the members ahead: the
// tarball reader, reading manifest.json or the config, costs the engine
// nothing.
func replaceMembers(open func() (io.ReadCloser, error), ahead []member, drop map[string]bool) io.ReadCloser {
	pr, pw := io.Pipe()
	r := &replaced{PipeReader: pr, opened: make(chan io.ReadCloser, 1)}
	go func() {
		pw.CloseWithError(func() error {
			tw := tar.NewWriter(pw)
			for _, m := range ahead {
				if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg}); err != nil {
					return err
				}
				if _, err := tw.Write(m.data); err != nil {
					return err
				}
			}
			// Until the reader asks for more (a Read) or closes the
			// stream (it has what it wanted).
			if err := tw.Flush(); err != nil {
				return err
			}
			if _, err := pw.Write(nil); err != nil {
				return err
			}
			rc, err := open()
			if err != nil {
				return err
			}
			r.opened <- rc
			defer rc.Close()
			tr := tar.NewReader(rc)
			for {
				hdr, err := tr.Next()
				if err == io.EOF {
					return tw.Close()
				}
				if err != nil {
					return err
				}
				if drop[path.Clean(hdr.Name)] {
					continue
				}
				if err := tw.WriteHeader(hdr); err != nil {
					return err
				}
				if _, err := io.Copy(tw, tr); err != nil {
					return err
				}
			}
		}())
	}()
	return r
}

// replaced is replaceMembers' stream; closing it ends the engine's too,
// when it was opened.
type replaced struct {
	*io.PipeReader
	opened chan io.ReadCloser
}

func (r *replaced) Close() error {
	r.PipeReader.Close()
	select {
	case rc := <-r.opened:
		return rc.Close()
	default:
		return nil
	}
}
