package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifestAccept is every manifest media type ctl understands; a HEAD with
// fewer makes distribution answer a multi-arch tag with a child's digest.
var manifestAccept = strings.Join([]string{
	string(types.OCIImageIndex), string(types.DockerManifestList),
	string(types.OCIManifestSchema1), string(types.DockerManifestSchema2),
}, ", ")

// maxAttempts bounds how often one request (or one whole blob upload) is
// tried when the registry or the network fails in a way worth retrying.
const maxAttempts = 4

// session is an authenticated conversation with one repository: the
// hand-written parts of the push path (HEAD, monolithic upload, mount,
// manifest PUT) run over go-containerregistry's bearer/basic transport.
type session struct {
	repo name.Repository
	rt   http.RoundTripper
	base string // scheme://host of the registry
}

// newSession pings repo's registry once and returns a session whose token
// covers scopes (push,pull on repo plus pull on mount sources when pushing).
func (c *Client) newSession(ctx context.Context, repo name.Repository, scopes []string) (*session, error) {
	auth, err := c.keychain.Resolve(repo)
	if err != nil {
		return nil, fmt.Errorf("reading credentials for %s: %w", repo.RegistryStr(), err)
	}
	base := transport.NewUserAgent(c.transport, c.userAgent)
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, base, scopes)
	if err != nil {
		return nil, c.wireError(repo.RegistryStr(), err)
	}
	return &session{repo: repo, rt: rt, base: repo.Scheme() + "://" + repo.RegistryStr()}, nil
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

func (s *session) url(format string, args ...any) string {
	return s.base + fmt.Sprintf(format, args...)
}

// do sends the request that build makes, retrying on connection errors and
// on 408, 429 (honouring Retry-After), 500, 502, 503 and 504. build is called
// for every attempt so a body is always fresh. The response is returned when
// its status is one of ok; otherwise its body becomes a *transport.Error.
func (s *session) do(ctx context.Context, build func() (*http.Request, error), ok ...int) (*http.Response, error) {
	return s.doWith(ctx, build, nil, ok...)
}

// doWith is do through client (nil: the bare transport, no redirects).
func (s *session) doWith(ctx context.Context, build func() (*http.Request, error), client *http.Client, ok ...int) (*http.Response, error) {
	var lastErr error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt, lastErr)); err != nil {
				return nil, err
			}
		}
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
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = err
			continue
		}
		if err := transport.CheckError(resp, ok...); err != nil {
			resp.Body.Close()
			lastErr = err
			if retryable(resp.StatusCode) {
				lastErr = &retryAfterError{err: err, after: retryAfter(resp)}
				continue
			}
			return nil, err
		}
		return resp, nil
	}
	return nil, lastErr
}

// retryAfterError carries the wait a 429/503 asked for.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

func retryable(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter reads Retry-After (seconds or an HTTP date), capped at 30 s.
func retryAfter(resp *http.Response) time.Duration {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	return min(max(d, 0), 30*time.Second)
}

func backoff(attempt int, err error) time.Duration {
	var ra *retryAfterError
	if errors.As(err, &ra) && ra.after > 0 {
		return ra.after
	}
	return time.Duration(1<<attempt) * 100 * time.Millisecond
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// headBlob reports whether the repository holds the blob.
func (s *session) headBlob(ctx context.Context, h v1.Hash) (bool, error) {
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
func (s *session) headManifest(ctx context.Context, ref string) (v1.Hash, error) {
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
func (s *session) startUpload(ctx context.Context, h v1.Hash, from string) (string, error) {
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
func (s *session) location(resp *http.Response) (string, error) {
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
func (s *session) putBlob(ctx context.Context, loc string, h v1.Hash, size int64, open func() (io.ReadCloser, error)) error {
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
func (s *session) cancelUpload(loc string) {
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
func (s *session) putManifest(ctx context.Context, ref string, raw []byte, mt types.MediaType, want v1.Hash) error {
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
func (s *session) getBlob(ctx context.Context, h v1.Hash) (io.ReadCloser, error) {
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
