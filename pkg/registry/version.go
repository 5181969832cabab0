package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/semver"
	"github.com/ctl-dev/ctl/pkg/tagplan"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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
// and PUT, byte for byte, under each tag that changes; tags already at the
// digest are not written again.
func (c *Client) TagVersion(ctx context.Context, src, repo reference.Reference, v semver.Version, opts VersionOptions) (*VersionResult, error) {
	if src.Name() != repo.Name() {
		return nil, fmt.Errorf("tagging %s as %s: %w (copy it there first: ctl copy)", src, repo.Name(), ErrOtherRepository)
	}
	srcRef, err := c.Ref(src)
	if err != nil {
		return nil, err
	}
	wireRepo := srcRef.Context()
	host := wireRepo.RegistryStr()
	ro := c.remoteOptions(ctx)
	puller, err := remote.NewPuller(ro...)
	if err != nil {
		return nil, err
	}
	desc, err := puller.Get(ctx, srcRef)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", src, classify(host, err))
	}
	res := &VersionResult{Digest: desc.Digest.String(), Size: desc.Size, MediaType: desc.MediaType}

	tags, err := puller.List(ctx, wireRepo)
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s: %w", repo.Name(), classify(host, err))
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
		d, err := puller.Head(ctx, wireRepo.Tag(t))
		if err != nil {
			return nil, fmt.Errorf("resolving %s:%s: %w", repo.Name(), t, classify(host, err))
		}
		existing[t] = d.Digest.String()
	}
	res.Steps = tagplan.Plan(v, existing, res.Digest, opts.Plan)
	for _, s := range res.Steps {
		if !reference.ValidTag(s.Tag) {
			return nil, fmt.Errorf("%w: %q is not a valid tag", reference.ErrInvalid, s.Tag)
		}
	}

	var pusher *remote.Pusher
	raw := rawManifest{b: desc.Manifest, mt: desc.MediaType}
	for _, s := range res.Steps {
		if !opts.DryRun && (s.Action == tagplan.Created || s.Action == tagplan.Moved) {
			if pusher == nil {
				if pusher, err = remote.NewPusher(ro...); err != nil {
					return nil, err
				}
			}
			if err := pusher.Put(ctx, wireRepo.Tag(s.Tag), raw); err != nil {
				return nil, fmt.Errorf("tagging %s:%s: %w", repo.Name(), s.Tag, classify(host, err))
			}
		}
		if opts.OnStep != nil {
			opts.OnStep(s, res)
		}
	}
	return res, nil
}

// rawManifest is a manifest to PUT exactly as fetched.
type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.b, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }
