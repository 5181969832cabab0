package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/semaphore"
)

// Read limits: manifests are capped well above the spec's 4 MiB floor, and
// every other body ctl decodes is bounded too.
const (
	maxManifestBytes = 16 << 20
	maxConfigBytes   = 64 << 20
)

// session is the one authenticated HTTP client of every registry operation:
// for one repository (or, with an empty repository, the registry's
// catalog), built once per operation so the ping and token exchange happen
// once however many requests follow. Its token covers a list of scopes
// (a push asks for push,pull on the target and pull on mount sources).
// Every request goes through do: statuses checked, errors classified,
// redirects never downgraded to plain HTTP.
//
// Without credentials for the registry, a session sends its first request
// at once, unauthenticated, while the ping and token exchange run beside
// it: an open registry answers it in one round trip instead of two; a 401
// waits for the authenticated client and resends the request, which takes
// no longer than pinging first would have. After an answer it can take, an
// anonymous-first session (listings, digests, inspection, deletion,
// tagging) stays unauthenticated; a transfer session (push, pull, copy)
// sends every later request through the authenticated client, which the
// ping beside the first request has readied by then: its requests run in
// parallel and a push may need a token where a read did not.
//
// A host that has answered without credentials before (Client.open, kept
// across runs in the host cache) is not pinged at all: every session on
// it, transfer sessions too, sends its requests at once, in parallel from
// the first, and goes unauthenticated until the registry
// answers 401, and only then pings, fetches a token and resends (any
// request whose body can be replayed; the host is forgotten as open).
type session struct {
	host   string
	scheme string
	repo   string // repository path, "" for registry-wide sessions
	// mirror is set on a session on a mirror (Client.read): what it
	// lacks is its own failure, for the next source to answer, not a
	// sign the registry lacks it too (session.absent).
	mirror bool

	mu        sync.Mutex
	client    *http.Client // the client to use once decided
	plain     *http.Client // unauthenticated client of a session without credentials
	stayPlain bool         // an answer taken from plain decides for the rest
	firstDone bool         // the first request was answered; the rest wait for the authenticated client
	authCtx   context.Context
	build     func(context.Context) (*http.Client, error) // pings and exchanges the token
	auth      *authResult                                 // the authentication under way or done, nil before one starts
	opened    func(open bool)                             // the host answered without credentials, or asked for them

	// layerProgress, set by a pull, receives the progress of the layer
	// bodies read through the session's images. Those bodies go into a
	// sink that checks each against its digest and size as it writes it,
	// so they are not hashed here as well; the sink says when one is
	// verified and stored (store.StoredNotifier), and only then is the
	// layer reported done.
	layerProgress ProgressFunc

	// pageCap overrides maxPages (tests).
	pageCap int

	// configBytes is the Client's bound on the configs read at once.
	configBytes *semaphore.Weighted
	// tagLocks are the Client's locks on the referrers tag indexes it
	// edits (editReferrersTag).
	tagLocks *keyedLocks
}

// authResult is one run of a session's authentication.
type authResult struct {
	done   chan struct{} // closed when client/err are set
	client *http.Client
	err    error
	cancel context.CancelFunc
}

// newSession authenticates against target's registry for scopes; without
// credentials the first request goes out beside the ping (or alone, to a
// host known open), and anonymousFirst lets an answer to it keep the whole
// session unauthenticated.
func (c *Client) newSession(ctx context.Context, target authn.Resource, reg name.Registry, repo string, scopes []string, anonymousFirst bool) (*session, error) {
	auth, err := authn.Resolve(ctx, c.keychain, target)
	if err != nil {
		return nil, about("credentials for", reg.RegistryStr(), err)
	}
	// c.transport already retries (with Retry-After and bounds), guards
	// schemes and redirects and logs; only the User-Agent is added here, as
	// go-containerregistry's remote package does.
	base := transport.NewUserAgent(c.transport, c.userAgent)
	s := &session{host: reg.RegistryStr(), scheme: reg.Scheme(), repo: repo, configBytes: c.configBytes, tagLocks: c.tagLocks}
	s.build = func(ctx context.Context) (*http.Client, error) {
		rt, err := transport.NewWithContext(ctx, reg, auth, base, scopes)
		if err != nil {
			return nil, classify(reg.RegistryStr(), err)
		}
		return &http.Client{Transport: rt, CheckRedirect: s.checkRedirect}, nil
	}
	if auth != authn.Anonymous {
		if s.client, err = s.build(ctx); err != nil {
			return nil, err
		}
		return s, nil
	}
	s.plain = &http.Client{Transport: base, CheckRedirect: s.checkRedirect}
	s.authCtx = ctx
	s.opened = func(open bool) {
		if open {
			c.open.add(s.host)
		} else {
			c.open.remove(s.host)
		}
	}
	if c.open.has(s.host) {
		// The host answered without credentials before: every request
		// goes out at once, unauthenticated, and its ping (and token
		// exchange) wait until it asks for them, if it ever does
		// (sendPlain).
		s.client = s.plain
		return s, nil
	}
	s.stayPlain = anonymousFirst
	s.startAuth()
	return s, nil
}

// parallel reports whether the session sends requests at once, without
// waiting for a first answer: it has credentials, or its host is known
// open.
func (s *session) parallel() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client != nil
}

// startAuth runs the session's authentication in the background (mu held
// or not yet shared).
func (s *session) startAuth() {
	ctx, cancel := context.WithCancel(s.authCtx)
	a := &authResult{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(a.done)
		a.client, a.err = s.build(ctx)
	}()
	s.auth = a
}

// dropAuth stops an authentication no longer needed (mu held).
func (s *session) dropAuth() {
	if s.auth != nil {
		s.auth.cancel()
		s.auth = nil
	}
}

// useAuthed waits for the authenticated client, starting its
// authentication if none ran, and makes it the session's (mu held).
func (s *session) useAuthed() (*http.Client, error) {
	if s.client != nil && s.client != s.plain {
		return s.client, nil // another request switched first
	}
	if s.auth == nil {
		s.startAuth()
	}
	a := s.auth
	<-a.done
	a.cancel()
	if a.err != nil {
		s.auth = nil // a later request may try again
		return nil, a.err
	}
	s.client = a.client
	return a.client, nil
}

// hostSet is a set of registry hosts, safe for concurrent use: what a
// Client learns of each host for its life (options.go: the hosts that
// answered without credentials, those that do or do not mount from the
// pushed repository itself). With a dir, membership is also kept there
// across runs, one empty regular file per host (a directory beside them,
// another set's, names no host), so concurrent ctl processes never
// rewrite each other's; it is a cache: failures to read or write it are
// ignored.
type hostSet struct {
	dir string

	mu    sync.Mutex
	hosts map[string]bool // what is known: true a member, false not
}

func (o *hostSet) has(host string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	in, known := o.hosts[host]
	if !known && o.dir != "" {
		fi, err := os.Lstat(o.file(host))
		in = err == nil && fi.Mode().IsRegular()
		o.set(host, in)
	}
	return in
}

func (o *hostSet) add(host string) { o.update(host, true) }

func (o *hostSet) remove(host string) { o.update(host, false) }

// update records whether host is a member, in dir too when that changes it.
func (o *hostSet) update(host string, in bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if was, known := o.hosts[host]; known && was == in {
		return
	}
	o.set(host, in)
	if o.dir == "" {
		return
	}
	if !in {
		os.Remove(o.file(host))
		return
	}
	if os.MkdirAll(o.dir, 0o700) == nil {
		if f, err := os.OpenFile(o.file(host), os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			f.Close()
		}
	}
}

func (o *hostSet) set(host string, in bool) {
	if o.hosts == nil {
		o.hosts = map[string]bool{}
	}
	o.hosts[host] = in
}

// file is host's file in dir.
func (o *hostSet) file(host string) string {
	return filepath.Join(o.dir, url.PathEscape(host))
}

// repoSession opens an anonymous-first session on repo with actions
// ("pull", "push,pull" or transport.DeleteScope).
func (c *Client) repoSession(ctx context.Context, repo name.Repository, actions string) (*session, error) {
	return c.newSession(ctx, repo, repo.Registry, repo.RepositoryStr(), []string{repo.Scope(actions)}, true)
}

// transferSession opens a session on repo for scopes, authenticated from
// its second request on (see session).
func (c *Client) transferSession(ctx context.Context, repo name.Repository, scopes []string) (*session, error) {
	return c.newSession(ctx, repo, repo.Registry, repo.RepositoryStr(), scopes, false)
}

// send sends req through the session's client. The first request of an
// anonymous session goes out unauthenticated at once; only a success (2xx)
// or a 405 (the method, not the caller, is refused: deletion disabled) is
// taken from it, and a 404: the session has no credentials, so an anonymous
// token could not show more (a registry that wants a token for reading
// answers 401, not 404); a success or a 404 marks the host open. A 401, a
// scheme mismatch (plain HTTP to a TLS port
// answers 400) or any other answer may differ once the ping has settled the
// scheme and credentials: then the request is resent through the
// authenticated client. First requests have no body (or one GetBody can
// replay), so resending is safe.
func (s *session) send(req *http.Request) (*http.Response, error) {
	s.mu.Lock()
	if c := s.client; c != nil {
		s.mu.Unlock()
		if c == s.plain {
			return s.sendPlain(req)
		}
		return c.Do(req)
	}
	if s.firstDone {
		// A transfer session after its first answer: the rest go
		// authenticated, once the authentication is done.
		c, err := s.useAuthed()
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return c.Do(req)
	}
	// The first request holds mu: concurrent ones wait for the decision.
	defer s.mu.Unlock()
	resp, err := s.plain.Do(req.Clone(req.Context()))
	if err == nil && (resp.StatusCode >= 200 && resp.StatusCode < 300 || resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotFound) {
		if resp.StatusCode != http.StatusMethodNotAllowed {
			s.opened(true)
		}
		if s.stayPlain {
			s.client = s.plain
			s.dropAuth()
		} else {
			s.firstDone = true
		}
		return resp, nil
	}
	var gaveUp *ctltransport.RetryError
	if errors.As(err, &gaveUp) || req.Context().Err() != nil {
		// The transport already retried as long as it may (or was told to
		// stop): a second round through the authenticated client would
		// ignore the registry's Retry-After.
		s.dropAuth()
		return nil, err
	}
	if err == nil {
		if resp.StatusCode == http.StatusUnauthorized {
			s.opened(false)
		}
		discard(resp)
	}
	c, err := s.useAuthed()
	if err != nil {
		return nil, err
	}
	return resend(c, req)
}

// sendPlain sends req unauthenticated, on a session that stayed so; a 401
// (the registry wants credentials after all, or a token for this action)
// switches the session to the authenticated client and resends req there
// when its body can be replayed.
func (s *session) sendPlain(req *http.Request) (*http.Response, error) {
	resp, err := s.plain.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	s.opened(false)
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil
	}
	discard(resp)
	s.mu.Lock()
	c, err := s.useAuthed()
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return resend(c, req)
}

// resend sends req again through c, with its body replayed.
func resend(c *http.Client, req *http.Request) (*http.Response, error) {
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		req.Body = body
	}
	return c.Do(req)
}

// discard reads what is left of an error answer's body (bounded) and
// closes it, so its connection can be reused.
func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, ctltransport.MaxErrorBody))
	resp.Body.Close()
}

// checkRedirect refuses https→http downgrades; the authenticating transport
// already keeps credentials to the registry's own host.
func (s *session) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("stopped after 10 redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return fmt.Errorf("refusing redirect from https to %s", req.URL.Redacted())
	}
	return nil
}

// url builds a /v2/ URL of the session's registry.
func (s *session) url(path, rawQuery string) *url.URL {
	return &url.URL{Scheme: s.scheme, Host: s.host, Path: "/v2/" + path, RawQuery: rawQuery}
}

// do sends req and checks its status against ok, turning failures into the
// package's error kinds (classify: sentinels, the host named when it is
// unreachable, URLs redacted).
func (s *session) do(req *http.Request, ok ...int) (*http.Response, error) {
	resp, err := s.send(req)
	if err != nil {
		return nil, classify(s.host, err)
	}
	if err := ctltransport.CheckError(resp, ok...); err != nil {
		resp.Body.Close()
		return nil, classify(s.host, err)
	}
	return resp, nil
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
