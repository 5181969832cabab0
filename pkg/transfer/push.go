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
	// Started is called once the local images are found, before anything
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
// digest as each tag's digest on the registry.
func Push(ctx context.Context, c *registry.Client, s *store.Store, ref reference.Reference, opts PushOptions) ([]registry.PushResult, error) {
	tags, err := pushTargets(ctx, s, ref, opts.AllTags, opts.Platforms)
	if err != nil {
		return nil, err
	}
	if !opts.Referrers {
		return push(ctx, c, s, ref, tags, opts)
	}
	tagged, err := defaultTag(ref)
	if err != nil {
		return nil, err
	}
	root, err := s.Lookup(tagged)
	if err != nil {
		return nil, err
	}
	refs, err := localReferrers(s, root)
	if err != nil {
		return nil, err
	}
	results, err := push(ctx, c, s, ref, tags, opts)
	if err != nil {
		return nil, err
	}
	rc, err := c.PushReferrers(ctx, ref, root.Digest, refs, registry.PushOptions{Progress: opts.Progress, Sources: mountSources(s, ref)})
	if err != nil {
		return nil, err
	}
	return append(results, rc.Results...), pushed(s, ref, rc.Results)
}

// push sends tags, found in the store, to ref's repository.
func push(ctx context.Context, c *registry.Client, s *store.Store, ref reference.Reference, tags []registry.PushTag, opts PushOptions) ([]registry.PushResult, error) {
	if opts.Started != nil {
		opts.Started()
	}
	results, err := c.Push(ctx, ref, tags, registry.PushOptions{Progress: opts.Progress, Sources: mountSources(s, ref)})
	if err != nil {
		return nil, err
	}
	return results, pushed(s, ref, results)
}
