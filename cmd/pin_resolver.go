package cmd

import (
	"context"

	"github.com/ctl-dev/ctl/pkg/golden"
	"github.com/ctl-dev/ctl/pkg/reference"
)

// digestResolver resolves tags to digests through the registry client, with
// the user's credentials, each distinct reference once per run.
func (f *Factory) digestResolver() (golden.Resolver, error) {
	c, err := f.Registry()
	if err != nil {
		return nil, err
	}
	return golden.ResolveOnce(golden.ResolverFunc(func(ctx context.Context, r reference.Reference) (string, error) {
		h, _, err := c.Digest(ctx, r, nil)
		if err != nil {
			return "", err
		}
		return h.String(), nil
	})), nil
}
