package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// manifestAccept lists every manifest media type ctl understands. Sending
// all of them matters: with only the Docker v2 type, distribution answers a
// multi-arch tag with one platform's digest (reliability.md, "Deleting
// exactly what was asked").
var manifestAccept = strings.Join([]string{
	string(types.OCIImageIndex),
	string(types.OCIManifestSchema1),
	string(types.DockerManifestList),
	string(types.DockerManifestSchema2),
}, ",")

// Read limits: manifests are capped well above the spec's 4 MiB floor, and
// every other body ctl decodes is bounded too.
const (
	maxManifestBytes = 16 << 20
	maxConfigBytes   = 64 << 20
	maxErrorBytes    = 64 << 10
)

// session is an authenticated HTTP client for one repository (or, with an
// empty repository, the registry's catalog), built once per operation so the
// ping and token exchange happen once however many requests follow.
//
// Without credentials for the registry, the first request is also sent at
// once, unauthenticated, while the ping and token exchange run beside it: an
// open registry answers it and the operation costs one round trip instead
// of two; a 401 waits for the authenticated client and resends the request,
// which takes no longer than pinging first would have.
type session struct {
	host   string
	scheme string
	repo   string // repository path, "" for registry-wide sessions

	mu       sync.Mutex
	client   *http.Client  // the client to use once decided
	plain    *http.Client  // unauthenticated client for the first request
	authDone chan struct{} // closed when authed/authErr are set
	authed   *http.Client
	authErr  error
	cancel   context.CancelFunc // stops the authentication when not needed

	// pageCap overrides maxPages (tests).
	pageCap int
}

// newSession authenticates against target's registry for scope.
func (c *Client) newSession(ctx context.Context, target authn.Resource, reg name.Registry, repo, scope string) (*session, error) {
	auth, err := authn.Resolve(ctx, c.keychain, target)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", reg.RegistryStr(), err)
	}
	// c.transport already retries (with Retry-After and bounds), guards
	// schemes and redirects and logs; only the User-Agent is added here, as
	// go-containerregistry's remote package does.
	base := transport.NewUserAgent(c.transport, c.userAgent)
	s := &session{host: reg.RegistryStr(), scheme: reg.Scheme(), repo: repo}
	build := func(ctx context.Context) (*http.Client, error) {
		rt, err := transport.NewWithContext(ctx, reg, auth, base, []string{scope})
		if err != nil {
			return nil, classify(reg.RegistryStr(), err)
		}
		return &http.Client{Transport: rt, CheckRedirect: s.checkRedirect}, nil
	}
	if auth != authn.Anonymous {
		if s.client, err = build(ctx); err != nil {
			return nil, err
		}
		return s, nil
	}
	s.plain = &http.Client{Transport: base, CheckRedirect: s.checkRedirect}
	s.authDone = make(chan struct{})
	actx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	go func() {
		defer close(s.authDone)
		s.authed, s.authErr = build(actx)
	}()
	return s, nil
}

// send sends req through the session's client. The first request of an
// anonymous session goes out unauthenticated at once; only a success (2xx)
// or a 405 (the method, not the caller, is refused: deletion disabled) is
// taken from it, since a 401, a scheme mismatch (plain HTTP to a TLS port
// answers 400), a 404 that hides a private repository or any other answer may
// differ once the ping has settled the scheme and credentials: then the
// request is resent through the authenticated client. Requests have no body, so resending is safe.
func (s *session) send(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	if c := s.client; c != nil {
		s.mu.Unlock()
		return c.Do(req)
	}
	// The first request holds mu: concurrent ones wait for the decision.
	defer s.mu.Unlock()
	resp, err := s.plain.Do(req.Clone(req.Context()))
	if err == nil && (resp.StatusCode >= 200 && resp.StatusCode < 300 || resp.StatusCode == http.StatusMethodNotAllowed) {
		s.client = s.plain
		s.cancel()
		return resp, nil
	}
	var gaveUp *RetryError
	if errors.As(err, &gaveUp) || req.Context().Err() != nil {
		// The transport already retried as long as it may (or was told to
		// stop): a second round through the authenticated client would
		// ignore the registry's Retry-After.
		s.cancel()
		return nil, err
	}
	if err == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBytes))
		resp.Body.Close()
	}
	<-s.authDone
	s.cancel()
	if s.authErr != nil {
		return nil, s.authErr
	}
	s.client = s.authed
	return s.authed.Do(req)
}

// repoSession opens a session on repo with actions ("pull", or
// transport.DeleteScope).
func (c *Client) repoSession(ctx context.Context, repo name.Repository, actions string) (*session, error) {
	return c.newSession(ctx, repo, repo.Registry, repo.RepositoryStr(), repo.Scope(actions))
}

// checkRedirect refuses https→http downgrades; the authenticating transport
// already keeps credentials to the registry's own host.
func (s *session) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("stopped after 10 redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("refusing redirect from https to %s", req.URL.Scheme)
	}
	return nil
}

// url builds a /v2/ URL of the session's registry.
func (s *session) url(path, rawQuery string) *url.URL {
	return &url.URL{Scheme: s.scheme, Host: s.host, Path: "/v2/" + path, RawQuery: rawQuery}
}

// manifestURL is /v2/REPO/manifests/ID.
func (s *session) manifestURL(id string) string {
	return s.url(s.repo+"/manifests/"+id, "").String()
}

// do sends req and checks its status against ok, turning failures into the
// package's error kinds.
func (s *session) do(req *http.Request, ok ...int) (*http.Response, error) {
	resp, err := s.send(req)
	if err != nil {
		return nil, err
	}
	if err := transport.CheckError(resp, ok...); err != nil {
		resp.Body.Close()
		return nil, classify(s.host, err)
	}
	return resp, nil
}

// manifestHead is what a HEAD (or GET) of a manifest says about it.
type manifestHead struct {
	Digest    v1.Hash
	MediaType types.MediaType
	Size      int64
}

// head resolves id (tag or digest) with one HEAD carrying every manifest
// media type; a registry that omits Docker-Content-Digest is asked again
// with GET and the digest computed from the body.
func (s *session) head(ctx context.Context, id string) (manifestHead, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, s.manifestURL(id), nil)
	if err != nil {
		return manifestHead{}, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := s.do(req, http.StatusOK)
	if err != nil {
		return manifestHead{}, err
	}
	resp.Body.Close()
	h, err := v1.NewHash(resp.Header.Get("Docker-Content-Digest"))
	if err != nil {
		_, mh, err := s.get(ctx, id)
		return mh, err
	}
	if strings.HasPrefix(id, "sha256:") && h.String() != id {
		return manifestHead{}, fmt.Errorf("%s/%s@%s: registry answered for digest %s", s.host, s.repo, id, h)
	}
	return manifestHead{Digest: h, MediaType: types.MediaType(resp.Header.Get("Content-Type")), Size: resp.ContentLength}, nil
}

// get fetches the manifest id as the registry stored it, bounded in size and
// verified: against the digest when id is one, else against
// Docker-Content-Digest when the registry sends a sha256 one.
func (s *session) get(ctx context.Context, id string) ([]byte, manifestHead, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.manifestURL(id), nil)
	if err != nil {
		return nil, manifestHead{}, err
	}
	req.Header.Set("Accept", manifestAccept)
	resp, err := s.do(req, http.StatusOK)
	if err != nil {
		return nil, manifestHead{}, err
	}
	defer resp.Body.Close()
	b, err := readLimited(resp.Body, maxManifestBytes, "manifest")
	if err != nil {
		return nil, manifestHead{}, fmt.Errorf("reading manifest %s/%s:%s: %w", s.host, s.repo, id, err)
	}
	sum := sha256.Sum256(b)
	h := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	want := ""
	if strings.HasPrefix(id, "sha256:") {
		want = id
	} else if d := resp.Header.Get("Docker-Content-Digest"); strings.HasPrefix(d, "sha256:") {
		want = d
	}
	if want != "" && want != h.String() {
		return nil, manifestHead{}, fmt.Errorf("manifest %s/%s %s: content has digest %s, registry said %s", s.host, s.repo, id, h, want)
	}
	mt, err := checkMediaType(b, resp.Header.Get("Content-Type"))
	if err != nil {
		return nil, manifestHead{}, fmt.Errorf("manifest %s/%s %s: %w", s.host, s.repo, id, err)
	}
	return b, manifestHead{Digest: h, MediaType: mt, Size: int64(len(b))}, nil
}

// readLimited reads all of r, failing when it holds more than max bytes.
func readLimited(r io.Reader, max int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s larger than %d bytes", what, max)
	}
	return b, nil
}
