package transfer

import (
	"context"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/semver"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/ctl-dev/ctl/pkg/tagplan"
)

// SemverOptions tune PushSemver.
type SemverOptions struct {
	// Plan adjusts the plan of moving tags (NoLatest).
	Plan tagplan.Options
	// DryRun plans without pushing or writing anything.
	DryRun bool
	// Push reports the push of the version tag (not made on a dry run).
	Push PushOptions
	// Pushed is called with the results of the version tag's push, before
	// the moving tags are written; an error from it stops there.
	Pushed func([]registry.PushResult) error
	// OnStep is called once per step of the plan, in order, after the step
	// is carried out (at once on a dry run). The version tag's own step
	// comes first: on a real run, its push has been reported to Pushed.
	OnStep func(tagplan.Step, *registry.VersionResult)
}

// PushSemver pushes the local image REPO:VERSION (repo and v) as Push
// does, then writes the moving tags MAJOR.MINOR, MAJOR and latest on the
// registry from the same manifest bytes (no GET needed), never moving one
// backwards (see package tagplan).
func PushSemver(ctx context.Context, c *registry.Client, s *store.Store, repo reference.Reference, v semver.Version, opts SemverOptions) error {
	exact, err := repo.WithTag(v.Tag())
	if err != nil {
		return err
	}
	release, err := s.Hold() // see pushLocal
	if err != nil {
		return err
	}
	defer release()
	targets, err := pushTargets(s, exact, false)
	if err != nil {
		return err
	}
	if !opts.DryRun && opts.Push.Started != nil {
		opts.Push.Started()
	}
	tags, err := openTargets(ctx, s, targets, platform.Selection{})
	if err != nil {
		return err
	}
	m, err := manifestOf(tags[0].Artifact)
	if err != nil {
		return err
	}
	if !opts.DryRun {
		results, err := push(ctx, c, s, exact, tags, registry.PushOptions{Progress: opts.Push.Progress, Sources: mountSources(s, exact)})
		if err != nil {
			return err
		}
		if opts.Pushed != nil {
			if err := opts.Pushed(results); err != nil {
				return err
			}
		}
	}
	_, err = c.TagVersion(ctx, exact, repo, v, registry.VersionOptions{
		Plan:     opts.Plan,
		DryRun:   opts.DryRun,
		Manifest: m,
		OnStep:   opts.OnStep,
	})
	return err
}

// manifestOf is the manifest of a local image about to be pushed.
func manifestOf(a registry.Artifact) (*registry.Manifest, error) {
	raw, err := a.RawManifest()
	if err != nil {
		return nil, err
	}
	mt, err := a.MediaType()
	if err != nil {
		return nil, err
	}
	d, err := a.Digest()
	if err != nil {
		return nil, err
	}
	return &registry.Manifest{Bytes: raw, MediaType: mt, Digest: d}, nil
}
