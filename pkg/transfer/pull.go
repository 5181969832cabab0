package transfer

import (
	"context"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
)

// PullOptions tune Pull.
type PullOptions struct {
	// AllTags pulls every tag of ref's repository.
	AllTags bool
	// Platforms chooses what of a multi-platform index is stored (see
	// registry.PullOptions): zero, this machine's platform's image; one,
	// that platform's; platform.All, the whole index; several, a filtered
	// index.
	Platforms platform.Selection
	// Jobs is how many layers are written to the store at once (0: the
	// store's default).
	Jobs int
	// Progress receives the registry's per-blob events.
	Progress registry.ProgressFunc
	// Started is called as each reference starts to be pulled.
	Started func(reference.Reference)
	// Referrers also stores what refers to the image (signatures, SBOMs),
	// found before anything is pulled; not with AllTags.
	Referrers bool
}

// Pull stores the image ref names (latest when it has neither tag nor
// digest), or with AllTags every tag of its repository, in the store,
// fetching only the blobs the store lacks and checking each against its
// digest and size before it is kept. The results are the references';
// with Referrers, what was stored of those is returned apart, as Push
// returns the referrers it wrote.
func Pull(ctx context.Context, c *registry.Client, s *store.Store, ref reference.Reference, opts PullOptions) (results, referrers []registry.PullResult, err error) {
	dst := sink{s.WithParallelBlobs(opts.Jobs)}
	popts := registry.PullOptions{Platforms: opts.Platforms, Progress: opts.Progress, Started: opts.Started}
	if opts.AllTags {
		results, err = c.PullAllTags(ctx, ref, dst, popts)
		return results, nil, err
	}
	if ref, err = defaultTag(ref); err != nil {
		return nil, nil, err
	}
	var tree *registry.ReferrerTree
	ropts := registry.ReferrersOptions{Platforms: true}
	if opts.Referrers {
		// The whole tree first: a broken one fails before anything is
		// stored.
		if tree, err = c.Referrers(ctx, ref, ropts); err != nil {
			return nil, nil, err
		}
	}
	res, err := c.Pull(ctx, ref, dst, popts)
	if err != nil {
		return nil, nil, err
	}
	results = []registry.PullResult{*res}
	if tree != nil {
		if tree, err = c.ReferrersAt(ctx, ref, tree, res.Digest, ropts); err != nil {
			return nil, nil, err
		}
		if referrers, err = pullReferrers(ctx, c, dst, ref, tree, registry.PullOptions{Progress: opts.Progress, Started: opts.Started}); err != nil {
			return nil, nil, err
		}
	}
	return results, referrers, nil
}
