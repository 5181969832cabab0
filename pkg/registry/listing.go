package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Pagination bounds. go-containerregistry's lister follows a self-referencing
// Link forever and decodes pages unbounded (reliability.md); ctl stops on a
// repeated Link, refuses Links to another origin, caps the number of pages
// and the size of each page.
const (
	maxPages     = 10000
	maxPageBytes = 64 << 20
)

// ErrTooManyPages: a listing did not end within maxPages pages.
var ErrTooManyPages = errors.New("too many pages")

// listPage is one page of /tags/list or /_catalog.
type listPage struct {
	Tags         []string `json:"tags"`
	Repositories []string `json:"repositories"`
}

// paginate GETs first and then every page its Link headers name, handing
// each page to visit.
func (s *session) paginate(ctx context.Context, first *url.URL, visit func(*listPage)) error {
	return s.pages(ctx, first, func(u *url.URL, _ *http.Response, b []byte) error {
		var p listPage
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("decoding %s: %w", u.Redacted(), err)
		}
		visit(&p)
		return nil
	})
}

// pages GETs first and then every page its Link headers name, each body
// bounded, handing each one (with its URL and response) to visit.
func (s *session) pages(ctx context.Context, first *url.URL, visit func(*url.URL, *http.Response, []byte) error) error {
	limit := maxPages
	if s.pageCap > 0 {
		limit = s.pageCap
	}
	seen := map[string]bool{}
	next := first
	for pages := 0; next != nil; pages++ {
		if pages == limit {
			return fmt.Errorf("listing %s: stopped after %d pages: %w", first.Redacted(), limit, ErrTooManyPages)
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
		b, err := readLimited(resp.Body, maxPageBytes, "page")
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", next.Redacted(), err)
		}
		if err := visit(next, resp, b); err != nil {
			return err
		}
		link, err := nextLink(resp, next)
		if err != nil {
			return err
		}
		if link != nil && seen[link.String()] {
			// A registry that links a page to itself (or an earlier page)
			// has nothing more to give.
			link = nil
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
