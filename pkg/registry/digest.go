package registry

import (
	"context"

	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Digest resolves r to its manifest digest with one HEAD carrying every
// manifest media type (GET when the registry omits Docker-Content-Digest),
// and says which source (mirror or registry) answered. With a platform, an
// index is resolved to that platform's manifest; a single-platform image
// resolves to itself.
func (c *Client) Digest(ctx context.Context, r reference.Reference, platform *v1.Platform) (v1.Hash, Source, error) {
	var d v1.Hash
	src, err := c.read(ctx, r, false, func(s *session) error {
		mh, err := s.head(ctx, wireID(r))
		if err != nil {
			return err
		}
		d = mh.Digest
		if platform == nil || !mh.MediaType.IsIndex() {
			return nil
		}
		m, err := s.manifest(ctx, mh.Digest.String(), platform)
		if err == nil {
			d = m.Digest
		}
		return err
	})
	return d, src, err
}
