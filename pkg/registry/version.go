package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/semver"
	"github.com/ctl-dev/ctl/pkg/tagplan"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrOtherRepository is returned by TagVersion when the source is in
// another repository than the version's: a manifest can only be tagged
// where its blobs are (copy it first).
var ErrOtherRepository = errors.New("source and target must be in the same repository")

// VersionOptions adjust TagVersion.
type VersionOptions struct {
	// Plan adjusts the plan (NoLatest).
	Plan tagplan.Options
	// DryRun plans without writing anything.
	DryRun bool
	// Manifest, when set, is the manifest to tag (e.g. a local image's, for
	// planning a push that has not happened): it is not read from src, and
	// src only names the repository.
	Manifest *Manifest
	// OnStep is called once per step, in order, after the step is carried
	// out (at once when DryRun), with the manifest's digest and size in res;
	// it may be nil.
	OnStep func(s tagplan.Step, res *VersionResult)
}

// VersionResult is what TagVersion did.
type VersionResult struct {
	Digest    string          // the digest every written tag now points at
	Size      int64           // the manifest's size in bytes
	MediaType types.MediaType // the manifest's media type
	Steps     []tagplan.Step  // the plan, in order
}

// TagVersion tags the manifest src names as version v in repository repo
// on the registry: the exact version tag and the moving tags (MAJOR.MINOR,
// MAJOR, latest) as tagplan decides from the repository's existing tags, so
// no tag moves backwards. Only manifests move: the manifest is fetched once
// (verified against its digest) and PUT, byte for byte, under each tag that
// changes; tags already at the digest are not written again. Every request
// goes through one authenticated session (push and pull scope; pull only
// for a dry run).
func (c *Client) TagVersion(ctx context.Context, src, repo reference.Reference, v semver.Version, opts VersionOptions) (*VersionResult, error) {
	if src.Name() != repo.Name() {
		return nil, fmt.Errorf("tagging %s as %s: %w", src, repo.Name(), ErrOtherRepository)
	}
	actions := transport.PushScope
	if opts.DryRun {
		actions = transport.PullScope
	}
	// One session (one token exchange) for every request of the operation.
	sess, srcRef, err := c.openRef(ctx, src, actions)
	if err != nil {
		return nil, err
	}
	var raw []byte
	var mh manifestHead
	if m := opts.Manifest; m != nil {
		raw, mh = m.Bytes, manifestHead{Digest: m.Digest, MediaType: m.MediaType, Size: int64(len(m.Bytes))}
	} else if raw, mh, err = sess.get(ctx, srcRef.Identifier()); err != nil {
		return nil, err // it names src
	}
	res := &VersionResult{Digest: mh.Digest.String(), Size: mh.Size, MediaType: mh.MediaType}

	tags, err := sess.listTags(ctx, 0)
	if errors.Is(err, ErrNotFound) && opts.Manifest != nil {
		tags = nil // a repository the first push will create
	} else if err != nil {
		return nil, err
	}
	existing := make(map[string]string, len(tags))
	for _, t := range tags {
		existing[t] = ""
	}
	// Only the tags the plan may write need their digests (moved or
	// unchanged); every other tag counts by its name alone.
	for _, t := range []string{v.Tag(), v.MinorTag(), v.MajorTag(), "latest"} {
		if _, ok := existing[t]; !ok {
			continue
		}
		h, err := sess.head(ctx, t)
		if errors.Is(err, ErrNotFound) {
			delete(existing, t) // deleted since the listing
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("resolving %s:%s: %w", repo.Name(), t, err)
		}
		existing[t] = h.Digest.String()
	}
	res.Steps = tagplan.Plan(v, existing, res.Digest, opts.Plan)
	for _, s := range res.Steps {
		if !reference.ValidTag(s.Tag) {
			return nil, fmt.Errorf("%w: %q is not a valid tag", reference.ErrInvalid, s.Tag)
		}
	}
	for _, s := range res.Steps {
		if !opts.DryRun && (s.Action == tagplan.Created || s.Action == tagplan.Moved) {
			if err := sess.put(ctx, s.Tag, raw, mh.MediaType, mh.Digest); err != nil {
				return nil, fmt.Errorf("tagging %s:%s: %w", repo.Name(), s.Tag, err)
			}
		}
		if opts.OnStep != nil {
			opts.OnStep(s, res)
		}
	}
	return res, nil
}
