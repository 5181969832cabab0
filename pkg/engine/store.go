package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/store"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// SaveToStore copies the named images from the engine into the store: the
// engine's save stream goes straight into the store's loader, with no
// temporary copy of the whole archive, and every blob is checked against
// its digest. Nothing is visible in the store unless every image loads. A
// stream that breaks off, or an archive the loader refuses, is the
// engine's failure (ErrEngine), not invalid input of the user's. progress,
// when not nil, is called with the bytes read so far.
func (c *Client) SaveToStore(ctx context.Context, s *store.Store, names []string, progress func(read int64)) ([]store.Entry, error) {
	rc, err := c.save(ctx, names)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var r io.Reader = rc
	if progress != nil {
		r = &countingReader{r: rc, f: progress}
	}
	what := "engine images " + strings.Join(names, ", ")
	entries, err := s.LoadStream(ctx, r, what)
	switch {
	case err == nil:
		return entries, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case rc.err != nil:
		return nil, rc.err
	case errors.Is(err, store.ErrInvalidInput):
		// %v: what the engine sent is not the user's input to fix.
		return nil, fmt.Errorf("%w: %s sent an archive ctl cannot load: %v", ErrEngine, c.ep.Host, err)
	}
	return nil, err
}

// LoadFromStore hands images of the store to the engine's load endpoint
// (an artifact among entries is refused, store.ErrInvalidInput),
// as a docker save archive streamed from the store (of a multi-platform
// image, the platforms of sel; zero: all), and returns the lines the
// engine answers ("Loaded image: REF").
func (c *Client) LoadFromStore(ctx context.Context, s *store.Store, entries []store.Entry, sel platform.Selection) ([]string, error) {
	for _, e := range entries {
		if e.ArtifactType == "" {
			continue
		}
		// An engine runs images: what it would answer about an
		// artifact's archive is a page of every format it tried.
		name := e.ID.String()
		if r, ok := e.Reference(); ok {
			name = r.Familiar()
		}
		return nil, fmt.Errorf("%w: %s is an artifact (%s), not an image: an engine loads images only", store.ErrInvalidInput, name, e.ArtifactType)
	}
	pr, pw := io.Pipe()
	saved := make(chan error, 1)
	go func() {
		err := s.Save(ctx, pw, entries, store.FormatDocker, sel)
		pw.CloseWithError(err)
		saved <- err
	}()
	lines, err := c.Load(ctx, stopOnClose{pr})
	// The engine may answer before reading everything (a refusal): stop
	// the writer. When the store failed first (a blob unreadable), its
	// error is the one to report, not the engine's view of a body that
	// ended early.
	pr.CloseWithError(errEngineStopped)
	if serr := <-saved; serr != nil && !errors.Is(serr, errEngineStopped) && ctx.Err() == nil {
		return nil, serr
	}
	if err != nil {
		return nil, err
	}
	return lines, nil
}

// errEngineStopped ends the store's writing once the engine has answered.
var errEngineStopped = errors.New("the engine stopped reading the archive")

// stopOnClose is the archive as the engine's load request reads it: the
// HTTP client closes a request body when the answer comes before the end
// (a refusal), and the store's writer must then see errEngineStopped, not
// io.ErrClosedPipe, so that the engine's answer is the error reported.
type stopOnClose struct{ *io.PipeReader }

func (s stopOnClose) Close() error { return s.PipeReader.CloseWithError(errEngineStopped) }

type countingReader struct {
	r io.Reader
	n int64
	f func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.f(c.n)
	return n, err
}

// Entries are the engine's images as the store lists its own, for
// store.Filter and ctl's image table, in the rows docker images shows:
// one entry per tag (Ref in the store's canonical form, Digest the
// engine's repo digest for that repository when it has one, else zero);
// one per repository the image has a repo digest of but no tag
// (NAME@DIGEST: "NAME <none>", as after a pull by digest); and one
// untagged entry for an image with neither that the reference grammar
// accepts.
func Entries(imgs []Image) []store.Entry {
	var out []store.Entry
	for _, img := range imgs {
		base := store.Entry{ID: img.ID, Created: img.Created, Size: img.Size}
		// Podman lists an image pulled by digest as NAME@DIGEST among its
		// tags: a repo digest, not a tag.
		var tags, digests []string
		for _, t := range img.RepoTags {
			if strings.Contains(t, "@") {
				digests = append(digests, t)
			} else {
				tags = append(tags, t)
			}
		}
		digests = append(digests, img.RepoDigests...)
		tagged := map[string]bool{}
		n := len(out)
		for _, t := range tags {
			r, err := reference.Parse(t)
			if err != nil {
				continue
			}
			e := base
			e.Ref = r.Name() + ":" + r.DefaultedTag()
			e.Digest = repoDigest(digests, r.Name())
			tagged[r.Name()] = true
			out = append(out, e)
		}
		for _, rd := range digests {
			r, err := reference.Parse(rd)
			if err != nil || r.Digest() == "" || tagged[r.Name()] {
				continue
			}
			tagged[r.Name()] = true // one row per repository, its first digest
			e := base
			e.Ref = r.String()
			e.Digest, _ = v1.NewHash(r.Digest())
			out = append(out, e)
		}
		if len(out) == n {
			out = append(out, base)
		}
	}
	return out
}

// repoDigest is the digest of the first NAME@DIGEST of repository name.
func repoDigest(repoDigests []string, name string) v1.Hash {
	for _, rd := range repoDigests {
		r, err := reference.Parse(rd)
		if err != nil || r.Name() != name {
			continue
		}
		if h, err := v1.NewHash(r.Digest()); err == nil {
			return h
		}
	}
	return v1.Hash{}
}
