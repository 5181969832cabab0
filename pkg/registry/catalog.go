package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// catalogPageSize is distribution's default cap on catalog pages
// (catalog.maxentries); asking for more is an error there, asking for less
// costs round trips (its default page is 100).
const catalogPageSize = 1000

// Catalog returns every repository of the registry at host, following
// pagination, asking for pages of pageSize entries (0: 1000, distribution's
// largest). A registry without the catalog API (404) is reported as
// ErrNotFound with a message saying so.
func (c *Client) Catalog(ctx context.Context, host string, pageSize int) ([]string, error) {
	if pageSize <= 0 {
		pageSize = catalogPageSize
	}
	var opts []name.Option
	if c.PlainHTTP(host) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, append(opts, name.StrictValidation)...)
	if err != nil {
		return nil, fmt.Errorf("invalid registry %q (%v): %w", host, err, reference.ErrInvalid)
	}
	s, err := c.newSession(ctx, reg, reg, "", []string{reg.Scope(transport.CatalogScope)}, true)
	if err != nil {
		return nil, err
	}
	repos, err := s.catalog(ctx, pageQuery(pageSize))
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusBadRequest {
		// A registry with a smaller cap refuses n: take its own page size.
		repos, err = s.catalog(ctx, "")
	}
	if errors.Is(err, ErrNotFound) {
		return nil, notFoundError{fmt.Errorf("%s does not offer the catalog API (GET /v2/_catalog: not found)", reg.RegistryStr())}
	}
	return repos, err
}

// catalog lists repositories starting with the query of the first page.
func (s *session) catalog(ctx context.Context, query string) ([]string, error) {
	var repos []string
	err := s.paginate(ctx, s.url("_catalog", query), func(p *listPage) {
		repos = append(repos, p.Repositories...)
	})
	if err != nil {
		return nil, fmt.Errorf("listing repositories of %s: %w", s.host, err)
	}
	return repos, nil
}
