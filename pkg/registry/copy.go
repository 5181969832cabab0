package registry

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// CopyOptions tune Copy.
type CopyOptions struct {
	// AllTags copies every tag of the source repository to the same tag in
	// the destination repository.
	AllTags bool
	// Platforms chooses what of an index is copied: zero or platform.All,
	// the whole index; one platform, that platform's image; several, a
	// filtered index listing only those platforms' images (a new digest;
	// every image it lists is copied before it).
	Platforms platform.Selection
	// Progress receives an event per blob.
	Progress ProgressFunc
	// Pushing, when set, is called once the source is read and the copy to
	// the destination starts: a caller announcing the push waits for it,
	// so that a missing source is reported alone. It is called once, even
	// when a mirror fails part way and the next source serves the copy.
	Pushing func()
}

// Copy copies src to dst registry to registry, streaming every blob from
// the source's GET into the destination's PUT (nothing is written
// locally), through the same engine as Push: blobs the destination has are
// skipped, and when both are on one registry blobs are mounted instead of
// sent. Manifests are copied byte for byte, so digests are preserved.
//
// The source is read from its first source (mirrors, then its registry)
// that serves the whole copy, never from dst's repository itself (a copy
// that refreshes a mirror reads the registry: WithoutMirrorAt); the
// destination is always dst's registry.
func (c *Client) Copy(ctx context.Context, src, dst reference.Reference, opts CopyOptions) ([]PushResult, error) {
	c = c.WithoutMirrorAt(src, dst)
	if pushing := opts.Pushing; pushing != nil {
		var once sync.Once // announced once, however many sources are tried
		opts.Pushing = func() { once.Do(pushing) }
	}
	var results []PushResult
	_, err := c.read(ctx, src, true, func(s *session) (err error) {
		results, err = c.copyFrom(ctx, s, src, dst, opts)
		return err
	})
	return results, err
}

// copyFrom copies src, read through s, to dst. The destination's failures
// are errLocal: another source of src would not mend them.
func (c *Client) copyFrom(ctx context.Context, s *session, src, dst reference.Reference, opts CopyOptions) ([]PushResult, error) {
	var tags []PushTag
	if opts.AllTags {
		names, err := s.allTags(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range names {
			r, err := src.WithTag(t)
			if err != nil {
				return nil, err
			}
			a, err := c.artifact(ctx, s, r, opts.Platforms)
			if err != nil {
				return nil, err
			}
			tags = append(tags, PushTag{Tag: t, Artifact: a})
		}
	} else {
		a, err := c.artifact(ctx, s, src, opts.Platforms)
		if err != nil {
			return nil, err
		}
		tag := dst.Tag()
		if tag == "" && dst.Digest() != "" {
			if err := sameDigest(a, src, dst, opts.Platforms); err != nil {
				return nil, errLocal{err}
			}
			tag = dst.Digest()
		} else if tag == "" {
			tag = dst.DefaultedTag()
		}
		tags = append(tags, PushTag{Tag: tag, Artifact: a})
	}
	popts := PushOptions{Progress: opts.Progress}
	if strings.EqualFold(src.Registry(), dst.Registry()) && src.Repository() != dst.Repository() {
		popts.MountFrom = src.Repository()
	}
	if opts.Pushing != nil {
		opts.Pushing()
	}
	res, err := c.Push(ctx, dst, tags, popts)
	if err != nil {
		return nil, errLocal{err}
	}
	return res, nil
}

// sameDigest refuses to copy a to dst, which names a digest, when a has
// another one (a subset --platform picks out of an index, an image of
// another source): the registry would refuse the manifest under that
// digest only after every blob had gone up.
func sameDigest(a Artifact, src, dst reference.Reference, sel platform.Selection) error {
	d, err := a.Digest()
	if err != nil {
		return err
	}
	if d.String() == dst.Digest() {
		return nil
	}
	what := src.Familiar() + " is " + d.String()
	if !sel.IsZero() && !sel.IsAll() {
		what = "--platform " + sel.String() + " picks " + d.String() + " out of " + src.Familiar()
	}
	return fmt.Errorf("%w: %s, which cannot be copied under %s: copy it to a tag", reference.ErrInvalid, what, dst.Digest())
}

// artifact reads ref's manifest through s and applies sel to it (see
// CopyOptions.Platforms).
func (c *Client) artifact(ctx context.Context, s *session, ref reference.Reference, sel platform.Selection) (Artifact, error) {
	nref, err := c.Ref(ref)
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error {
		return classify(nref.Context().RegistryStr(), about("reading", ref.String(), err))
	}
	a, err := s.artifact(ctx, nref.Identifier())
	if err != nil {
		return nil, wrap(err)
	}
	if a, err = SelectArtifact(a, sel); err != nil {
		return nil, wrap(err)
	}
	return a, nil
}

// SelectArtifact applies sel to a, as copy and push --platform do: an
// index is kept, filtered or resolved to one image; an image must be of a
// platform sel selects. A platform that is not there is a not-found error.
func SelectArtifact(a Artifact, sel platform.Selection) (Artifact, error) {
	idx, isIndex := a.(v1.ImageIndex)
	switch {
	case sel.IsZero() || sel.IsAll():
		return a, nil
	case !isIndex:
		return a, checkPlatform(a.(v1.Image), sel)
	case sel.Multi():
		return SelectIndex(idx, sel)
	}
	want, _ := sel.Single()
	return platformImage(a, want)
}
