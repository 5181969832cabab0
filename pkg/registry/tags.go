package registry

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/reference"
)

// ListTags returns every tag of repository r in the registry's order,
// following pagination. With pageSize 0 the first request carries no page
// size, so a registry that can answer in one response (distribution does)
// takes one round trip; later pages are fetched exactly as its Link headers
// say.
func (c *Client) ListTags(ctx context.Context, r reference.Reference, pageSize int) ([]string, error) {
	var tags []string
	_, err := c.read(ctx, r, false, func(s *session) (err error) {
		tags, err = s.listTags(ctx, pageSize)
		return err
	})
	return tags, err
}

// listTags lists the tags of the session's repository.
func (s *session) listTags(ctx context.Context, pageSize int) ([]string, error) {
	var tags []string
	err := s.paginate(ctx, s.url(s.repo+"/tags/list", pageQuery(pageSize)), func(p *listPage) {
		tags = append(tags, p.Tags...)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, err // it names the repository already
	}
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s/%s: %w", s.host, s.repo, err)
	}
	if len(tags) == 0 && s.mirror {
		// A mirror holding none of the repository (every tag of it
		// deleted there: distribution then lists none) says nothing of
		// the registry's tags; the next source lists them.
		return nil, notFoundError{fmt.Errorf("%s/%s has no tags", s.host, s.repo)}
	}
	return tags, nil
}

// pageQuery is the query asking for pages of n entries ("" for n <= 0).
func pageQuery(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("n=%d", n)
}
