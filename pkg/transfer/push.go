package transfer

import (
	"context"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
)

// PushOptions tune Push.
type PushOptions struct {
	// AllTags pushes every tag of ref's repository in the store.
	AllTags bool
	// Platforms chooses what of a multi-platform image is pushed, as
	// registry.CopyOptions.Platforms does for a copy: the zero value or
	// platform.All, the whole index; one platform, that platform's image;
	// several, a filtered index (a new digest).
	Platforms platform.Selection
	// Progress receives the registry's per-blob events.
	Progress registry.ProgressFunc
	// Started is called once the local images are found, before they are
	// opened (compressing a docker save image's layers) and anything
	// is sent.
	Started func()
	// Referrers also sends what refers to the image in the store
	// (signatures, SBOMs pulled with it), the way the registry lists
	// referrers; not with AllTags.
	Referrers bool
}

// Push sends the local image ref names (latest when it has neither tag
// nor digest), or with AllTags every tag of its repository, to ref's
// repository. Blobs other local images of the same registry hold are
// mounted from their repositories. The store then records the pushed
// digest as each tag's digest on the registry. The results are the tags';
// with Referrers, what was written of those is returned apart.
func Push(ctx context.Context, c *registry.Client, s *store.Store, ref reference.Reference, opts PushOptions) ([]registry.PushResult, *registry.ReferrersCopy, error) {
	release, err := s.Hold()
	if err != nil {
		return nil, nil, err
	}
	defer release()
	targets, err := pushTargets(s, ref, opts.AllTags)
	if err != nil {
		return nil, nil, err
	}
	return pushLocal(ctx, c, s, ref, targets, opts)
}

// pushLocal is Push of targets, images of s, the one way the store's
// images go up (push, push --from-engine once it loaded the engine's).
// Its caller holds s (Store.Hold) from before it found targets until
// pushLocal returns: layers are opened as they go up, and a concurrent
// rmi + image prune must not remove one in between.
func pushLocal(ctx context.Context, c *registry.Client, s *store.Store, ref reference.Reference, targets []pushTarget, opts PushOptions) ([]registry.PushResult, *registry.ReferrersCopy, error) {
	var err error
	var refs []registry.ReferrerPush
	if opts.Referrers {
		if refs, err = localReferrers(s, targets[0].e); err != nil {
			return nil, nil, err
		}
	}
	if opts.Started != nil {
		opts.Started()
	}
	tags, err := openTargets(ctx, s, targets, opts.Platforms)
	if err != nil {
		return nil, nil, err
	}
	popts := registry.PushOptions{Progress: opts.Progress, Sources: mountSources(s, ref)}
	results, err := push(ctx, c, s, ref, tags, popts)
	if err != nil || !opts.Referrers {
		return results, nil, err
	}
	rc, err := c.PushReferrers(ctx, ref, targets[0].e.Digest, refs, popts)
	if err != nil {
		return nil, nil, err
	}
	return results, rc, pushed(s, ref, rc.Results)
}

// push sends tags, opened from the store, to ref's repository, and
// records what went up.
func push(ctx context.Context, c *registry.Client, s *store.Store, ref reference.Reference, tags []registry.PushTag, popts registry.PushOptions) ([]registry.PushResult, error) {
	results, err := c.Push(ctx, ref, tags, popts)
	if err != nil {
		return nil, err
	}
	return results, pushed(s, ref, results)
}
