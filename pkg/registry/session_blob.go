package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
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
// The body is checked by whoever reads it. A connection cut or stalled
// mid-body is resumed with a Range request from the byte reached, as
// docker does: a flaky network costs the bytes in flight, not the blob.
func (s *session) getBlob(ctx context.Context, h v1.Hash) (io.ReadCloser, error) {
	ctx, budget := ctltransport.WithBudget(ctx)
	body, err := s.getBlobFrom(ctx, h, 0)
	if err != nil {
		return nil, s.fault(err)
	}
	return &resumingBody{s: s, ctx: ctx, budget: budget, h: h, body: body}, nil
}

// getBlobFrom GETs blob h from byte off on: a 206 must start there, and
// the start of a 200 (a registry or storage that ignores Range) is skipped.
func (s *session) getBlobFrom(ctx context.Context, h v1.Hash, off int64) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.blobURL(h), nil)
	if err != nil {
		return nil, err
	}
	ok := []int{http.StatusOK}
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
		ok = append(ok, http.StatusPartialContent)
	}
	resp, err := s.do(req, ok...)
	if err != nil {
		// ctl GETs only blobs a manifest lists: one the registry lacks
		// is its failure, not an image that does not exist.
		return nil, missingBlob(err)
	}
	if resp.StatusCode == http.StatusPartialContent {
		if cr := resp.Header.Get("Content-Range"); contentRangeStart(cr) != off {
			resp.Body.Close()
			return nil, fmt.Errorf("resuming blob %s at byte %d: the registry answered Content-Range %q", h, off, cr)
		}
		return resp.Body, nil
	}
	if off > 0 {
		if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("resuming blob %s at byte %d: %w", h, off, err)
		}
	}
	return resp.Body, nil
}

// contentRangeStart is the first byte position of a Content-Range value
// ("bytes START-END/SIZE"), or -1 when it has none.
func contentRangeStart(cr string) int64 {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	first, _, ok2 := strings.Cut(rest, "-")
	n, err := strconv.ParseInt(first, 10, 64)
	if !ok || !ok2 || err != nil {
		return -1
	}
	return n
}

// resumingBody reads a blob, opening it again from the byte reached when
// the connection fails mid-body (a reset, an early close, a stall past the
// idle timeout), within the blob's one retry budget: the GETs that resume
// it and their own retries share it.
type resumingBody struct {
	s      *session
	ctx    context.Context
	budget *ctltransport.Budget
	h      v1.Hash
	body   io.ReadCloser
	off    int64 // bytes read
}

func (b *resumingBody) Read(p []byte) (int, error) {
	for {
		n, err := b.body.Read(p)
		b.off += int64(n)
		if err == nil || err == io.EOF {
			return n, err
		}
		if b.ctx.Err() != nil || !ctltransport.Retryable(err) {
			return n, b.s.fault(err)
		}
		if err := b.resume(err); err != nil {
			return n, b.s.fault(err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (b *resumingBody) resume(cause error) error {
	b.body.Close()
	if err := b.budget.Retry(b.ctx, b.s.host, cause); err != nil {
		return err
	}
	body, err := b.s.getBlobFrom(b.ctx, b.h, b.off)
	if err != nil {
		return fmt.Errorf("blob %s cut at byte %d (%v), then: %w", b.h, b.off, cause, err)
	}
	b.body = body
	return nil
}

func (b *resumingBody) Close() error { return b.body.Close() }

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
	// The transport sends every attempt a fresh body from GetBody and
	// closes this one unread: opened lazily, it costs nothing (a copy
	// would otherwise GET each source blob twice).
	// A body that failed for good as it was read is never sent again: one
	// found corrupt (its digest checked as it is read), as the source
	// would send the same bytes, or one whose source gave up after its own
	// retries, which a new PUT would only multiply (and the destination,
	// which answered nothing, would be blamed as unreachable). The
	// transport's retry gets that failure from GetBody and the caller sees
	// it.
	var mu sync.Mutex
	var failed error
	guarded := func() (io.ReadCloser, error) {
		mu.Lock()
		defer mu.Unlock()
		if failed != nil {
			return nil, failed
		}
		rc, err := open()
		if err != nil {
			return nil, err
		}
		return &finalWatch{ReadCloser: rc, seen: func(err error) {
			mu.Lock()
			failed = err
			mu.Unlock()
		}}, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), &lazyBody{open: guarded})
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.GetBody = guarded
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := s.do(req, http.StatusCreated)
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		if failed != nil {
			return failed
		}
		return err
	}
	resp.Body.Close()
	return nil
}

// finalWatch tells seen of a failure of its body that another read would
// not mend: a digest mismatch, or a source that gave up after its retries.
type finalWatch struct {
	io.ReadCloser
	seen func(error)
}

func (m *finalWatch) Read(p []byte) (int, error) {
	n, err := m.ReadCloser.Read(p)
	var re *ctltransport.RetryError
	if errors.Is(err, ErrDigestMismatch) || errors.As(err, &re) {
		m.seen(err)
	}
	return n, err
}

// lazyBody opens its content on the first Read.
type lazyBody struct {
	open func() (io.ReadCloser, error)
	rc   io.ReadCloser
	err  error
}

func (b *lazyBody) Read(p []byte) (int, error) {
	if b.rc == nil && b.err == nil {
		b.rc, b.err = b.open()
	}
	if b.err != nil {
		return 0, b.err
	}
	return b.rc.Read(p)
}

func (b *lazyBody) Close() error {
	if b.rc == nil {
		return nil
	}
	return b.rc.Close()
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
