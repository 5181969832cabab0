package registry

import (
	"context"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ListTags returns every tag of repository r in the registry's order,
// following pagination. The first request carries no page size, so a
// registry that can answer in one response (distribution does) takes one
// round trip; later pages are fetched exactly as its Link headers say.
func (c *Client) ListTags(ctx context.Context, r reference.Reference) ([]string, error) {
	repo, err := c.Repo(r)
	if err != nil {
		return nil, err
	}
	s, err := c.repoSession(ctx, repo, transport.PullScope)
	if err != nil {
		return nil, err
	}
	return s.listTags(ctx)
}

// listTags lists the tags of the session's repository.
func (s *session) listTags(ctx context.Context) ([]string, error) {
	var tags []string
	err := s.paginate(ctx, s.url(s.repo+"/tags/list", ""), func(p *listPage) {
		tags = append(tags, p.Tags...)
	})
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s/%s: %w", s.host, s.repo, err)
	}
	return tags, nil
}
