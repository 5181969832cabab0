package registry

import (
	"context"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
)

// ReadArtifact reads r's manifest from its first source (mirrors, then the
// registry) and calls fn with it, sel applied as Copy applies it, as a
// v1.Image or v1.ImageIndex whose children, configs and layers are read
// through the same session, each checked against its digest: for writing
// an image somewhere other than a registry (an OCI layout), or for the
// digest a copy with sel would give. fn's own failures are final: no other
// source is tried for them.
func (c *Client) ReadArtifact(ctx context.Context, r reference.Reference, sel platform.Selection, fn func(Artifact) error) error {
	_, err := c.read(ctx, r, true, func(s *session) error {
		a, err := c.artifact(ctx, s, r, sel)
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return errLocal{err}
		}
		return nil
	})
	return err
}
