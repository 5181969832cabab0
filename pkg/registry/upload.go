package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxAttempts bounds how often one whole blob upload is started again
// when it fails in a way the transport could not retry by itself (a
// session the registry lost, a body cut midway).
const maxAttempts = 3

// xfer is an authenticated conversation with one repository for moving
// content: the hand-written parts of the push path (HEAD, monolithic
// upload, mount, manifest PUT) and raw blob GETs, over go-containerregistry's
// bearer/basic transport on top of the client's retrying transport stack.
type xfer struct {
	repo name.Repository
	rt   http.RoundTripper
	base string // scheme://host of the registry
}

// newXfer pings repo's registry once and returns an xfer whose token
// covers scopes (push,pull on repo plus pull on mount sources when pushing).
// The client's transport already retries (backoff, Retry-After, replayed
// bodies), so requests here are sent once.
func (c *Client) newXfer(ctx context.Context, repo name.Repository, scopes []string) (*xfer, error) {
	auth, err := authn.Resolve(ctx, c.keychain, repo)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", repo.RegistryStr(), err)
	}
	base := transport.NewUserAgent(c.transport, c.userAgent)
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, base, scopes)
	if err != nil {
		return nil, c.wireError(repo.RegistryStr(), err)
	}
	return &xfer{repo: repo, rt: rt, base: repo.Scheme() + "://" + repo.RegistryStr()}, nil
}

// wireError classifies err and names the host when it never reached it.
func (c *Client) wireError(host string, err error) error {
	var te *transport.Error
	var ne net.Error
	if !errors.As(err, &te) && errors.As(err, &ne) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("registry %s unreachable: %w", host, err)
	}
	return classify(host, err)
}

func (s *xfer) url(format string, args ...any) string {
	return s.base + fmt.Sprintf(format, args...)
}

// do sends the request build makes and checks its status against ok.
func (s *xfer) do(ctx context.Context, build func() (*http.Request, error), ok ...int) (*http.Response, error) {
	return s.doWith(ctx, build, nil, ok...)
}

// doWith is do through client (nil: the bare transport, no redirects).
func (s *xfer) doWith(ctx context.Context, build func() (*http.Request, error), client *http.Client, ok ...int) (*http.Response, error) {
	req, err := build()
	if err != nil {
		return nil, err
	}
	var resp *http.Response
	if client != nil {
		resp, err = client.Do(req.WithContext(ctx))
	} else {
		resp, err = s.rt.RoundTrip(req.WithContext(ctx))
	}
	if err != nil {
		return nil, err
	}
	if err := transport.CheckError(resp, ok...); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// backoff is the pause before starting a failed blob upload again.
func backoff(attempt int) time.Duration {
	return time.Duration(1<<attempt) * 100 * time.Millisecond
}

// headBlob reports whether the repository holds the blob.
func (s *xfer) headBlob(ctx context.Context, h v1.Hash) (bool, error) {
	resp, err := s.do(ctx, func() (*http.Request, error) {
		return http.NewRequest(http.MethodHead, s.url("/v2/%s/blobs/%s", s.repo.RepositoryStr(), h), nil)
	}, http.StatusOK, http.StatusNotFound)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// headManifest returns the digest ref (a tag or digest) points at, or the
// zero hash when it does not exist.
func (s *xfer) headManifest(ctx context.Context, ref string) (v1.Hash, error) {
	resp, err := s.do(ctx, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodHead, s.url("/v2/%s/manifests/%s", s.repo.RepositoryStr(), ref), nil)
		if err == nil {
			req.Header.Set("Accept", manifestAccept)
		}
		return req, err
	}, http.StatusOK, http.StatusNotFound)
	if err != nil {
		return v1.Hash{}, err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return v1.Hash{}, nil
	}
	h, err := v1.NewHash(resp.Header.Get("Docker-Content-Digest"))
	if err != nil {
		// A registry that does not say: treat the manifest as absent, so
		// it is sent again rather than wrongly skipped.
		return v1.Hash{}, nil
	}
	return h, nil
}

// startUpload opens an upload session, or mounts h from the repository from
// (a path on the same registry) when from is not empty. It returns the
// upload location, or "" when the mount succeeded (201).
func (s *xfer) startUpload(ctx context.Context, h v1.Hash, from string) (string, error) {
	q := ""
	if from != "" {
		q = "?" + url.Values{"mount": {h.String()}, "from": {from}}.Encode()
	}
	resp, err := s.do(ctx, func() (*http.Request, error) {
		return http.NewRequest(http.MethodPost, s.url("/v2/%s/blobs/uploads/%s", s.repo.RepositoryStr(), q), nil)
	}, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		return "", nil
	}
	loc, err := s.location(resp)
	if err != nil {
		return "", err
	}
	return loc, nil
}

// location resolves a response's Location against the request URL: an
// absolute one is kept as it is, a relative one joined, and its query (the
// registry's _state) kept either way.
func (s *xfer) location(resp *http.Response) (string, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("registry %s: upload started without a Location", s.repo.RegistryStr())
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("registry %s: bad upload Location %q: %w", s.repo.RegistryStr(), loc, err)
	}
	return u.String(), nil
}

// putBlob completes the upload at loc with the whole blob in one PUT
// (a monolithic upload: one request instead of PATCH + PUT).
func (s *xfer) putBlob(ctx context.Context, loc string, h v1.Hash, size int64, open func() (io.ReadCloser, error)) error {
	u, err := url.Parse(loc)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("digest", h.String())
	u.RawQuery = q.Encode()
	req, err := http.NewRequest(http.MethodPut, u.String(), nil)
	if err != nil {
		return err
	}
	body, err := open()
	if err != nil {
		return err
	}
	req.Body = body
	req.ContentLength = size
	req.GetBody = open
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := s.rt.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return transport.CheckError(resp, http.StatusCreated)
}

// cancelUpload abandons the upload at loc (best effort, after Ctrl-C or a
// failure), so the registry does not keep a half-written session.
func (s *xfer) cancelUpload(loc string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, loc, nil)
	if err != nil {
		return
	}
	if resp, err := s.rt.RoundTrip(req); err == nil {
		resp.Body.Close()
	}
}

// putManifest stores raw under ref (a tag or digest) and checks that the
// registry computed the same digest.
func (s *xfer) putManifest(ctx context.Context, ref string, raw []byte, mt types.MediaType, want v1.Hash) error {
	resp, err := s.do(ctx, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPut, s.url("/v2/%s/manifests/%s", s.repo.RepositoryStr(), ref), strings.NewReader(string(raw)))
		if err == nil {
			req.Header.Set("Content-Type", string(mt))
		}
		return req, err
	}, http.StatusCreated, http.StatusOK, http.StatusAccepted)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != want.String() {
		return fmt.Errorf("%w: registry %s stored %s:%s as %s, expected %s",
			ErrDigestMismatch, s.repo.RegistryStr(), s.repo.RepositoryStr(), ref, got, want)
	}
	return nil
}

// getBlob opens the body of blob h. Redirects (to blob storage) are
// followed, never from https to http; credentials go only to the registry
// host, as ggcr's transport adds them per request by host. A failure to
// start is retried; the body itself is checked by whoever stores it.
func (s *xfer) getBlob(ctx context.Context, h v1.Hash) (io.ReadCloser, error) {
	client := &http.Client{Transport: s.rt, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("refusing redirect from https to %s", req.URL.Redacted())
		}
		return nil
	}}
	resp, err := s.doWith(ctx, func() (*http.Request, error) {
		return http.NewRequest(http.MethodGet, s.url("/v2/%s/blobs/%s", s.repo.RepositoryStr(), h), nil)
	}, client, http.StatusOK)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
