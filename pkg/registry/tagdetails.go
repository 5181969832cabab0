package registry

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// TagDetail is what a registry's tags page shows about one tag.
type TagDetail struct {
	// Tag is the tag's name.
	Tag string `json:"tag"`
	// Digest and MediaType are those of the manifest the tag points at.
	Digest    string `json:"digest"`
	MediaType string `json:"mediaType"`
	// Platforms are "os/arch[/variant]": an image's from its config, an
	// index's from its image entries (platform.List: attestations and other
	// artifacts left out).
	Platforms []string `json:"platforms"`
	// Size is the compressed size of an image (config and layers), the sum
	// of its images' for an index: each image once, however many times and
	// through however many indexes the index lists it.
	Size int64 `json:"size"`
	// Created is an image's creation time from its config, the newest of
	// its children's for an index; zero when not recorded.
	Created time.Time `json:"created,omitzero"`
	// Blobs are the sizes of everything the manifest holds on to in the
	// registry, by digest: the manifest itself, configs, layers and, for an
	// index, its children and theirs.
	Blobs map[string]int64 `json:"-"`

	images map[string]int64 // the size of each image under an index, by digest
}

// TagDetails resolves each of tags in repository r with one HEAD (every
// manifest media type in Accept) and describes the manifests they point at
// with one GET per distinct manifest digest (an index's children included)
// and one config GET per distinct image, all in parallel with at most the
// client's jobs requests at once. Tags that share a manifest share the work.
// With platform, an index is described by its child for that platform
// only (no size and no platform when it has none). Tags that disappear
// meanwhile are left out; the rest keep the order of tags. All of it is
// read from the first of r's sources (mirrors, then the registry) that
// answers it all.
func (c *Client) TagDetails(ctx context.Context, r reference.Reference, tags []string, platform *v1.Platform) ([]TagDetail, error) {
	var details []TagDetail
	_, err := c.read(ctx, r, false, func(s *session) (err error) {
		details, err = c.tagDetails(ctx, s, tags, platform)
		return err
	})
	return details, err
}

// tagDetails describes tags of the session's repository.
func (c *Client) tagDetails(ctx context.Context, s *session, tags []string, platform *v1.Platform) ([]TagDetail, error) {
	d := &describer{s: s, sem: make(chan struct{}, max(c.jobs, 1)), platform: platform, memo: map[string]*described{}}
	out := make([]*TagDetail, len(tags))
	g, gctx := errgroup.WithContext(ctx)
	// Tags waiting for a manifest another tag is fetching hold no request
	// slot; a few times the jobs keep the HEADs flowing meanwhile, and a
	// listing of millions of tags from a hostile registry costs goroutines
	// by the hundred, not by the million.
	g.SetLimit(8 * cap(d.sem))
	for i, tag := range tags {
		g.Go(func() error {
			var mh manifestHead
			err := d.bounded(gctx, func() (err error) { mh, err = s.head(gctx, tag); return err })
			if s.absent(err) {
				return nil // deleted since the listing
			}
			if err != nil {
				return err
			}
			m, err := d.describe(gctx, mh.Digest.String())
			if err != nil {
				return err
			}
			td := m.TagDetail
			td.Tag = tag
			out[i] = &td
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	details := make([]TagDetail, 0, len(out))
	for _, td := range out {
		if td != nil {
			details = append(details, *td)
		}
	}
	return details, nil
}

// describer describes manifests once per digest, with at most cap(sem)
// requests in flight.
type describer struct {
	s        *session
	sem      chan struct{}
	platform *v1.Platform

	mu   sync.Mutex
	memo map[string]*described
}

// described is the one description of a digest, ready when done is closed.
type described struct {
	done chan struct{}
	TagDetail
	err error
}

// bounded runs the request f when a slot is free.
func (d *describer) bounded(ctx context.Context, f func() error) error {
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-d.sem }()
	return f()
}

// describe returns the description of the manifest digest, fetching it
// the first time and waiting for that fetch the other times. Waiting holds
// no request slot, so tags and index children sharing manifests cannot
// starve each other.
func (d *describer) describe(ctx context.Context, digest string) (*described, error) {
	d.mu.Lock()
	e, ok := d.memo[digest]
	if !ok {
		e = &described{done: make(chan struct{})}
		d.memo[digest] = e
		d.mu.Unlock()
		e.TagDetail, e.err = d.fetch(ctx, digest)
		close(e.done)
		return e, e.err
	}
	d.mu.Unlock()
	select {
	case <-e.done:
		return e, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetch describes the manifest digest: an image from its config, an index
// from its children.
func (d *describer) fetch(ctx context.Context, digest string) (TagDetail, error) {
	var (
		b  []byte
		mh manifestHead
	)
	if err := d.bounded(ctx, func() (err error) { b, mh, err = d.s.get(ctx, digest); return err }); err != nil {
		return TagDetail{}, err
	}
	td := TagDetail{Digest: mh.Digest.String(), MediaType: string(mh.MediaType), Blobs: map[string]int64{digest: int64(len(b))}}
	if mh.MediaType.IsIndex() {
		return d.index(ctx, td, b)
	}
	mf, err := v1.ParseManifest(bytes.NewReader(b))
	if err != nil {
		return TagDetail{}, fmt.Errorf("parsing manifest %s/%s@%s: %w", d.s.host, d.s.repo, digest, err)
	}
	if err := checkManifestSizes(fmt.Sprintf("manifest %s/%s@%s", d.s.host, d.s.repo, digest), mf); err != nil {
		return TagDetail{}, err // summed, the sizes would be wrong, or wrap around
	}
	td.Size = mf.Config.Size
	td.Blobs[mf.Config.Digest.String()] = mf.Config.Size
	for _, l := range mf.Layers {
		td.Size += l.Size
		td.Blobs[l.Digest.String()] = l.Size
	}
	td.images = map[string]int64{td.Digest: td.Size}
	if !mf.Config.MediaType.IsConfig() {
		return td, nil // an artifact: no image config to read
	}
	var cfg *v1.ConfigFile
	if err := d.bounded(ctx, func() (err error) { cfg, err = d.s.config(ctx, mf.Config); return err }); err != nil {
		return TagDetail{}, err
	}
	if p := cfg.Platform(); p != nil && p.OS != "" {
		td.Platforms = []string{p.String()}
	}
	td.Created = cfg.Created.UTC()
	return td, nil
}

// index describes an index from its children (only the one for the
// describer's platform, when it has one), described in parallel. Its size
// counts each image under it once: a child listed again, or an image two
// of its indexes list, is no more content.
func (d *describer) index(ctx context.Context, td TagDetail, b []byte) (TagDetail, error) {
	idx, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return TagDetail{}, fmt.Errorf("parsing index %s/%s@%s: %w", d.s.host, d.s.repo, td.Digest, err)
	}
	if err := checkIndexSizes(fmt.Sprintf("index %s/%s@%s", d.s.host, d.s.repo, td.Digest), idx); err != nil {
		return TagDetail{}, err
	}
	children := idx.Manifests
	if d.platform != nil {
		child, err := platform.Pick(idx, *d.platform)
		if err != nil {
			return td, nil // not a platform of this tag: nothing to count
		}
		children = []v1.Descriptor{child}
	}
	children = distinct(children)
	got := make([]*described, len(children))
	g, gctx := errgroup.WithContext(ctx)
	// As many at once as there are request slots: one goroutine per child
	// of an index of 60,000 held 450 MB waiting for a slot.
	g.SetLimit(cap(d.sem))
	for i, c := range children {
		if gctx.Err() != nil {
			break // a child failed: the others are not asked for
		}
		g.Go(func() (err error) {
			got[i], err = d.describe(gctx, c.Digest.String())
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return TagDetail{}, err
	}
	td.images = map[string]int64{}
	td.Platforms = nil
	for i, c := range got {
		for k, v := range c.Blobs {
			td.Blobs[k] = v
		}
		if !platform.IsImage(children[i]) {
			continue // an attestation or signature: held, but not an image's size or age
		}
		td.Platforms = platform.Add(td.Platforms, children[i], c.Platforms)
		if c.Created.After(td.Created) {
			td.Created = c.Created
		}
		for k, v := range c.images {
			td.images[k] = v
		}
	}
	for _, size := range td.images {
		td.Size += size
	}
	return td, nil
}

// distinct is ds without the descriptors of a digest listed before.
func distinct(ds []v1.Descriptor) []v1.Descriptor {
	seen := map[v1.Hash]bool{}
	var out []v1.Descriptor
	for _, d := range ds {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			out = append(out, d)
		}
	}
	return out
}
