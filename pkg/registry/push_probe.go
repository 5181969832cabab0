package registry

import (
	"context"
	"net/http"
	"net/url"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// probeBlob asks the session's repository to mount blob h from itself. It
// returns exists when the registry answered 201 with the blob's location
// (the repository has it), else the upload session the registry opened
// (202 with a Location). ok is false when the answer was neither: the
// caller falls back to HEAD, and the host is not probed again.
func (s *session) probeBlob(ctx context.Context, h v1.Hash) (exists bool, loc string, ok bool, err error) {
	q := url.Values{"mount": {h.String()}, "from": {s.repo}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url(s.repo+"/blobs/uploads/", q).String(), nil)
	if err != nil {
		return false, "", false, err
	}
	resp, err := s.send(req)
	if err != nil {
		return false, "", false, classify(s.host, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusCreated && resp.Header.Get("Docker-Content-Digest") == h.String():
		return true, "", true, nil
	case resp.StatusCode == http.StatusAccepted && resp.Header.Get("Location") != "":
		loc, err := s.location(resp)
		return false, loc, err == nil, nil
	}
	return false, "", false, nil
}
