package registry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// blobURL is /v2/REPO/blobs/DIGEST.
func (s *session) blobURL(h v1.Hash) string {
	return s.url(s.repo+"/blobs/"+h.String(), "").String()
}

// headBlob reports whether the repository holds the blob.
func (s *session) headBlob(ctx context.Context, h v1.Hash) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, s.blobURL(h), nil)
	if err != nil {
		return false, err
	}
	resp, err := s.do(req, http.StatusOK, http.StatusNotFound)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// getBlob opens the body of blob h. Redirects (to blob storage) are
// followed, never from https to http; credentials go only to the registry
// host, as go-containerregistry's transport adds them per request by host.
// The body is checked by whoever reads it.
func (s *session) getBlob(ctx context.Context, h v1.Hash) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.blobURL(h), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.do(req, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// startUpload opens an upload session, or mounts h from the repository from
// (a path on the same registry) when from is not empty. It returns the
// upload location, or "" when the mount succeeded (201).
func (s *session) startUpload(ctx context.Context, h v1.Hash, from string) (string, error) {
	q := ""
	if from != "" {
		q = url.Values{"mount": {h.String()}, "from": {from}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url(s.repo+"/blobs/uploads/", q).String(), nil)
	if err != nil {
		return "", err
	}
	resp, err := s.do(req, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		return "", nil
	}
	return s.location(resp)
}

// location resolves a response's Location against the request URL: an
// absolute one is kept as it is, a relative one joined, and its query (the
// registry's _state) kept either way.
func (s *session) location(resp *http.Response) (string, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("registry %s: upload started without a Location", s.host)
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("registry %s: bad upload Location %q: %w", s.host, loc, err)
	}
	return u.String(), nil
}

// putBlob completes the upload at loc with the whole blob in one PUT
// (a monolithic upload: one request instead of PATCH + PUT). open gives
// the body, again when the transport replays the request.
func (s *session) putBlob(ctx context.Context, loc string, h v1.Hash, size int64, open func() (io.ReadCloser, error)) error {
	u, err := url.Parse(loc)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("digest", h.String())
	u.RawQuery = q.Encode()
	body, err := open()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), body)
	if err != nil {
		body.Close()
		return err
	}
	req.ContentLength = size
	req.GetBody = open
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := s.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// cancelUpload abandons the upload at loc (best effort, after Ctrl-C or a
// failure), so the registry does not keep a half-written session.
func (s *session) cancelUpload(loc string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc, nil)
	if err != nil {
		return
	}
	if resp, err := s.send(req); err == nil {
		resp.Body.Close()
	}
}
