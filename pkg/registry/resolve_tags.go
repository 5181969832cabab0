package registry

import (
	"context"

	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// ResolveTags resolves ids (tags or digests) of repository r to their
// manifest digests with one HEAD each (HEADs do not count against Docker
// Hub's pull limit), all through one session, at most the client's jobs at
// once. When list is set the repository's tags are listed first, in the
// same session, and pick chooses which of them to resolve (ids are
// resolved as well). An id the registry does not have is absent from the
// map; a repository that does not exist has none. Reads go to r's first
// source that answers (mirrors, then the registry): use WithoutMirrors for
// the destination of a write.
func (c *Client) ResolveTags(ctx context.Context, r reference.Reference, ids []string, list bool, pick func(listed []string) []string) (listed []string, digests map[string]v1.Hash, err error) {
	_, err = c.read(ctx, r, false, func(s *session) error {
		listed, digests = nil, map[string]v1.Hash{}
		todo := ids
		if list {
			tags, err := s.listTags(ctx, 0)
			if err != nil {
				return err
			}
			listed = tags
			todo = append(pick(tags), ids...)
		}
		found := make([]v1.Hash, len(todo))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(max(c.jobs, 1))
		for i, id := range todo {
			g.Go(func() (err error) {
				found[i], err = s.digestOf(gctx, id)
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		for i, id := range todo {
			if found[i] != (v1.Hash{}) {
				digests[id] = found[i]
			}
		}
		return nil
	})
	return listed, digests, err
}
