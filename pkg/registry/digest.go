package registry

import (
	"context"

	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Digest resolves r to its manifest digest with one HEAD carrying every
// manifest media type (GET when the registry omits Docker-Content-Digest).
// With a platform, an index is resolved to that platform's manifest; a
// single-platform image resolves to itself.
func (c *Client) Digest(ctx context.Context, r reference.Reference, platform *v1.Platform) (v1.Hash, error) {
	s, ref, err := c.openRef(ctx, r, transport.PullScope)
	if err != nil {
		return v1.Hash{}, err
	}
	mh, err := s.head(ctx, ref.Identifier())
	if err != nil {
		return v1.Hash{}, err
	}
	if platform == nil || !mh.MediaType.IsIndex() {
		return mh.Digest, nil
	}
	m, err := s.manifest(ctx, ref.Context().Digest(mh.Digest.String()), platform)
	if err != nil {
		return v1.Hash{}, err
	}
	return m.Digest, nil
}
