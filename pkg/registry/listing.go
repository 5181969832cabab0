package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Pagination bounds. go-containerregistry's lister follows a self-referencing
// Link forever and decodes pages unbounded (reliability.md); ctl fails on a
// Link back to a page already read, refuses Links to another origin, and
// caps the number of pages, of entries and the bytes of all pages together
// (a cap per page alone lets 1000 pages of long tags hold gigabytes).
const (
	maxPages     = 1000
	maxEntries   = 1_000_000
	maxListBytes = 64 << 20
)

// ErrBrokenPagination: a listing whose pages do not end: a Link back to a
// page already read, or more pages or entries than any real registry
// sends.
var ErrBrokenPagination = errors.New("the registry's pagination is broken")

// listPage is one page of /tags/list or /_catalog.
type listPage struct {
	Tags         []string `json:"tags"`
	Repositories []string `json:"repositories"`
}

// paginate GETs first and then every page its Link headers name, handing
// each page to visit.
func (s *session) paginate(ctx context.Context, first *url.URL, visit func(*listPage)) error {
	entries := 0
	return s.pages(ctx, first, func(u *url.URL, _ *http.Response, b []byte) error {
		var p listPage
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("decoding %s: %w", u.Redacted(), err)
		}
		if entries += len(p.Tags) + len(p.Repositories); entries > maxEntries {
			return fmt.Errorf("listing %s: more than %d entries: %w", first.Redacted(), maxEntries, ErrBrokenPagination)
		}
		visit(&p)
		return nil
	})
}

// pages GETs first and then every page its Link headers name, their bodies
// bounded together by maxListBytes, handing each one (with its URL and
// response) to visit.
func (s *session) pages(ctx context.Context, first *url.URL, visit func(*url.URL, *http.Response, []byte) error) error {
	limit := maxPages
	if s.pageCap > 0 {
		limit = s.pageCap
	}
	seen := map[string]bool{}
	left := int64(maxListBytes)
	next := first
	for pages := 0; next != nil; pages++ {
		if pages == limit {
			return fmt.Errorf("listing %s: no last page after %d pages: %w", first.Redacted(), limit, ErrBrokenPagination)
		}
		seen[next.String()] = true
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next.String(), nil)
		if err != nil {
			return err
		}
		resp, err := s.do(req, http.StatusOK)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, left+1))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", next.Redacted(), err)
		}
		if left -= int64(len(b)); left < 0 {
			return fmt.Errorf("listing %s: larger than %d bytes at page %d", first.Redacted(), maxListBytes, pages+1)
		}
		if err := visit(next, resp, b); err != nil {
			return err
		}
		link, err := nextLink(resp, next)
		if err != nil {
			return err
		}
		if link != nil && seen[link.String()] {
			// Following it would list the same entries again, forever.
			return fmt.Errorf("listing %s: page %d links back to %s, already read: %w", first.Redacted(), pages+1, link.Redacted(), ErrBrokenPagination)
		}
		next = link
	}
	return nil
}

// nextLink parses the rel="next" Link of resp, resolved against the request
// URL, and refuses one that leaves the registry's origin.
func nextLink(resp *http.Response, reqURL *url.URL) (*url.URL, error) {
	for _, h := range resp.Header.Values("Link") {
		for _, part := range strings.Split(h, ",") {
			part = strings.TrimSpace(part)
			start, end := strings.IndexByte(part, '<'), strings.IndexByte(part, '>')
			if start != 0 || end < 0 {
				return nil, fmt.Errorf("malformed Link header %q", h)
			}
			params := part[end+1:]
			if strings.Contains(params, "rel=") && !strings.Contains(params, `rel="next"`) && !strings.Contains(params, "rel=next") {
				continue
			}
			u, err := url.Parse(part[1:end])
			if err != nil {
				return nil, fmt.Errorf("malformed Link header %q: %w", h, err)
			}
			if part[1:end] == "" {
				return nil, nil
			}
			u = reqURL.ResolveReference(u)
			if u.Scheme != reqURL.Scheme || !strings.EqualFold(u.Host, reqURL.Host) {
				return nil, fmt.Errorf("refusing pagination Link to another origin (%s://%s) from %s", u.Scheme, u.Host, reqURL.Host)
			}
			return u, nil
		}
	}
	return nil, nil
}
