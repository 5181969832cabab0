package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/client"
)

// pingTimeout bounds the first contact: an address where something accepts
// connections but never answers must not hang ctl.
const pingTimeout = 30 * time.Second

// DefaultIdleTimeout is how long a save stream may send nothing before
// ctl gives up on it. Generous: Podman writes the whole archive to a
// temporary file before it sends the first byte.
const DefaultIdleTimeout = 5 * time.Minute

// maxLoadReply bounds what is read of the engine's answer to a load.
const maxLoadReply = 1 << 20

// Client talks to one engine.
type Client struct {
	ep          Endpoint
	api         *client.Client
	small       *http.Client // getJSON's, over api's connection
	basePath    string       // of the engine's URL (tcp://HOST:PORT/PATH), before the API version
	userAgent   string
	idleTimeout time.Duration
}

// Image is an image as the engine lists it.
type Image struct {
	// ID is the image ID, the config digest.
	ID v1.Hash
	// RepoTags are its references (NAME:TAG), as the engine spells them.
	RepoTags []string
	// RepoDigests are NAME@DIGEST of the registries it came from.
	RepoDigests []string
	// Created is when the image was built; zero when unknown.
	Created time.Time
	// Size is the engine's size of the image, in bytes.
	Size int64
}

// Open finds the engine (Find) and makes sure it answers as a Docker
// Engine API, negotiating the API version. Nothing else contacts it.
func Open(ctx context.Context, o Options) (*Client, error) {
	ep, err := Find(o)
	if err != nil {
		return nil, err
	}
	opts := append([]client.Opt{}, ep.opts...)
	if o.UserAgent != "" {
		opts = append(opts, client.WithUserAgent(o.UserAgent))
	}
	api, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrEngine, ep, err)
	}
	hostURL, err := client.ParseHostURL(api.DaemonHost())
	if err != nil {
		api.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrEngine, ep, err)
	}
	dial := api.Dialer()
	c := &Client{ep: ep, api: api, basePath: strings.TrimSuffix(hostURL.Path, "/"), userAgent: o.UserAgent, idleTimeout: o.IdleTimeout, small: &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) }},
		// An engine's answers are never redirects worth following.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	if c.idleTimeout <= 0 {
		c.idleTimeout = DefaultIdleTimeout
	}
	if err := c.ping(ctx); err != nil {
		api.Close()
		return nil, err
	}
	return c, nil
}

// ping checks that an engine answers at the endpoint and negotiates the
// API version with it.
func (c *Client) ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	ping, err := c.api.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true})
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil && (isDialError(err) || c.ep.viaSSH() && client.IsErrConnectionFailed(err)):
		// Over ssh, a connection that fails is ssh's: the engine was
		// not reached.
		return fmt.Errorf("%w at %s: %s", ErrUnreachable, c.ep, c.pingDialCause(pctx, err))
	case err != nil:
		return fmt.Errorf("%w: %s does not answer as a Docker Engine API: %v", ErrEngine, c.ep, err)
	case ping.APIVersion == "":
		// Every engine since Docker 1.x sends API-Version with /_ping;
		// an HTTP server that happens to answer 200 does not.
		return fmt.Errorf("%w: %s answers /_ping, but not as a Docker Engine API (no API-Version header)", ErrEngine, c.ep)
	}
	return nil
}

// Endpoint is where the client found its engine.
func (c *Client) Endpoint() Endpoint { return c.ep }

// Close releases the client's connections.
func (c *Client) Close() error {
	c.small.CloseIdleConnections()
	return c.api.Close()
}

// wrap turns an error of the API client into one of this package's.
func (c *Client) wrap(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	case isDialError(err):
		return fmt.Errorf("%w at %s: %s: %s", ErrUnreachable, c.ep, what, dialCause(err))
	}
	return fmt.Errorf("%w: %s at %s: %v", ErrEngine, what, c.ep.Host, err)
}

// call runs a small request f with the idle timeout as its deadline, so
// that an engine that never answers cannot hang ctl, and wraps its error.
func (c *Client) call(ctx context.Context, what string, f func(context.Context) error) error {
	cctx, cancel := context.WithTimeout(ctx, c.idleTimeout)
	defer cancel()
	err := f(cctx)
	if err != nil && ctx.Err() == nil && cctx.Err() != nil {
		return fmt.Errorf("%w: %s: %s did not answer within %v", ErrEngine, what, c.ep.Host, c.idleTimeout)
	}
	return c.wrap(err, "%s", what)
}

// isDialError tells a connection that could not be made (no socket,
// refused, no permission) from one made to something that then failed
// (hung up, TLS refused): the API client calls both a connection failure,
// and keeps the cause only for the second kind, or for a dial that failed.
func isDialError(err error) bool {
	if !client.IsErrConnectionFailed(err) {
		return false
	}
	var op *net.OpError
	var ue *url.Error
	return (errors.As(err, &op) && op.Op == "dial") || !errors.As(err, &ue)
}

// pingDialCause is dialCause of the ping's error. Over tcp the API client
// keeps no cause for a refused or timed-out dial, only "Cannot connect to
// the Docker daemon at HOST. Is the docker daemon running?": a dial of
// ctl's own (at once, when the ping failed before its deadline) finds it.
func (c *Client) pingDialCause(pctx context.Context, err error) string {
	if op := (*net.OpError)(nil); errors.As(err, &op) || c.ep.viaSSH() {
		return dialCause(err)
	}
	if pctx.Err() != nil {
		return fmt.Sprintf("no answer within %v", pingTimeout)
	}
	conn, derr := c.api.Dialer()(pctx)
	if derr != nil {
		return dialCause(derr)
	}
	conn.Close()
	return dialCause(err)
}

// dialCause is what went wrong with a dial ("connect: connection
// refused"), without the API client's decoration, which repeats the host
// and guesses at docker.
func dialCause(err error) string {
	if op := (*net.OpError)(nil); errors.As(err, &op) {
		return op.Err.Error()
	}
	return err.Error()
}

// Inspect returns the image the engine knows by name (a reference or an
// ID); ErrNotFound when it has none.
func (c *Client) Inspect(ctx context.Context, name string) (Image, error) {
	// The name goes into the request's path: only a reference or an ID,
	// never "../x" or "a?b", which would ask the engine something else.
	if !imageID().MatchString(name) {
		if _, err := reference.Parse(name); err != nil {
			return Image{}, err
		}
	}
	var res struct {
		ID          string   `json:"Id"`
		RepoTags    []string `json:"RepoTags"`
		RepoDigests []string `json:"RepoDigests"`
		Created     string   `json:"Created"`
		Size        int64    `json:"Size"`
	}
	err := c.call(ctx, name, func(ctx context.Context) error {
		return c.getJSON(ctx, "/images/"+name+"/json", nil, &res)
	})
	if err != nil {
		return Image{}, err
	}
	img := Image{RepoTags: res.RepoTags, RepoDigests: res.RepoDigests, Size: res.Size}
	if img.ID, err = v1.NewHash(res.ID); err != nil {
		return Image{}, fmt.Errorf("%w: the engine gives %s the ID %q: %v", ErrEngine, name, res.ID, err)
	}
	if t, err := time.Parse(time.RFC3339Nano, res.Created); err == nil {
		img.Created = t
	}
	return img, nil
}

// List returns every image the engine has; intermediate ones (of the
// build cache) too when all is set, as docker images -a.
func (c *Client) List(ctx context.Context, all bool) ([]Image, error) {
	var res []struct {
		ID          string   `json:"Id"`
		RepoTags    []string `json:"RepoTags"`
		RepoDigests []string `json:"RepoDigests"`
		Created     int64    `json:"Created"`
		Size        int64    `json:"Size"`
	}
	err := c.call(ctx, "listing images", func(ctx context.Context) error {
		q := url.Values{}
		if all {
			q.Set("all", "1")
		}
		return c.getJSON(ctx, "/images/json", q, &res)
	})
	if err != nil {
		return nil, err
	}
	out := make([]Image, 0, len(res))
	for _, s := range res {
		h, err := v1.NewHash(s.ID)
		if err != nil {
			return nil, fmt.Errorf("%w: the engine lists an image with the ID %q: %v", ErrEngine, s.ID, err)
		}
		img := Image{ID: h, Size: s.Size, RepoDigests: s.RepoDigests}
		for _, t := range s.RepoTags {
			if t != "<none>:<none>" { // docker's placeholder for untagged images
				img.RepoTags = append(img.RepoTags, t)
			}
		}
		if s.Created > 0 {
			img.Created = time.Unix(s.Created, 0)
		}
		out = append(out, img)
	}
	return out, nil
}

// Tags are the engine's tagged references of the repository name (NAME
// of NAME:TAG, compared in canonical form: docker.io/library/x is x), in
// the engine's order.
func (c *Client) Tags(ctx context.Context, name string) ([]reference.Reference, error) {
	imgs, err := c.List(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []reference.Reference
	for _, img := range imgs {
		for _, t := range img.RepoTags {
			r, err := reference.Parse(t)
			if err == nil && r.Name() == name && r.Tag() != "" {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// expand is what docker save does with its arguments: a repository name
// alone (no tag, no digest) is every tag of it the engine has. A name of
// which the engine lists no tag is left as it is, for the engine to
// resolve (its latest, or a name of its own: Podman's localhost/NAME).
func (c *Client) expand(ctx context.Context, names []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range names {
		r, err := reference.Parse(n)
		if err != nil || r.Tag() != "" || r.Digest() != "" {
			add(n)
			continue
		}
		tags, err := c.Tags(ctx, r.Name())
		if err != nil {
			return nil, err
		}
		if len(tags) == 0 {
			add(n)
		}
		for _, t := range tags {
			add(t.String())
		}
	}
	return out, nil
}

// imageID matches what an engine takes as an image ID: its config digest
// (sha256:HEX), or a prefix of its hex.
var imageID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(sha256:[0-9a-f]{64}|[0-9a-f]{1,64})$`) })

// maxReply bounds what is read of the engine's answer to a small request
// (the image list, one image's details): generous for an engine of many
// thousand images, and an engine that sends without end (or a server that
// is not one) cannot fill memory.
const maxReply = 32 << 20

// getJSON decodes the engine's answer to GET path?query (of the negotiated
// API version) into out, reading at most maxReply bytes of it. The API
// client's own calls read such answers whole, however long; this one goes
// over the same connection (its Dialer: socket, TCP, TLS or a context's
// SSH helper alike) and stops at the bound.
func (c *Client) getJSON(ctx context.Context, path string, query url.Values, out any) error {
	u := url.URL{Scheme: "http", Host: client.DummyHost, Path: c.basePath + "/v" + c.api.ClientVersion() + path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.small.Do(req)
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return ue.Err // without the URL, which names no real host
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	switch {
	case err != nil:
		return fmt.Errorf("reading the answer: %w", err)
	case len(body) > maxReply:
		return fmt.Errorf("its answer is longer than %d MiB", maxReply>>20)
	case resp.StatusCode == http.StatusNotFound:
		return cerrdefs.ErrNotFound
	case resp.StatusCode/100 != 2:
		var e struct{ Message string }
		if json.Unmarshal(body, &e) != nil || e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return fmt.Errorf("%s (%d)", e.Message, resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("its answer is not what the Docker Engine API sends: %v", err)
	}
	return nil
}

// errIdle cancels a stream that sent nothing for too long.
var errIdle = errors.New("idle")

// save streams the engine's archive (docker save) of the named images; a
// repository name alone is every tag of it (as docker save takes it).
// Each name is inspected first, so that an image the engine lacks is
// ErrNotFound rather than whatever the save endpoint answers (Podman: 500).
// Errors reading the stream are ErrEngine, and so is an engine that sends
// nothing for the idle timeout (Options.IdleTimeout), before the first
// byte or after.
func (c *Client) save(ctx context.Context, names []string) (*saveStream, error) {
	names, err := c.expand(ctx, names)
	if err != nil {
		return nil, err
	}
	what := strings.Join(names, ", ")
	for _, n := range names {
		if _, err := c.Inspect(ctx, n); err != nil {
			return nil, err
		}
	}
	sctx, cancel := context.WithCancelCause(ctx)
	s := &saveStream{c: c, what: what, ctx: sctx, cancel: cancel}
	s.idle = time.AfterFunc(c.idleTimeout, func() { cancel(errIdle) })
	r, err := c.api.ImageSave(sctx, names)
	if err != nil {
		s.stop()
		if s.idled() {
			return nil, s.idleError()
		}
		return nil, c.wrap(err, "saving %s", s.what)
	}
	s.rc = &idleReader{r: r, t: s.idle, d: c.idleTimeout}
	return s, nil
}

// saveStream marks read errors of the engine's archive as the engine's,
// and cancels the stream when the engine sends nothing for too long.
type saveStream struct {
	rc     *idleReader // the engine's archive, the idle timer restarted at each read
	c      *Client
	what   string
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   *time.Timer
	err    error // the first read error (ErrEngine), other than io.EOF and the caller's cancel
}

func (s *saveStream) Read(p []byte) (int, error) {
	n, err := s.rc.Read(p)
	if err == nil || err == io.EOF {
		return n, err
	}
	switch {
	case s.idled():
		err = s.idleError()
	case errors.Is(err, context.Canceled) && !errors.Is(context.Cause(s.ctx), errIdle):
		return n, err
	default:
		err = fmt.Errorf("%w: the archive of %s from %s broke off: %v", ErrEngine, s.what, s.c.ep.Host, err)
	}
	if s.err == nil {
		s.err = err
	}
	return n, s.err
}

func (s *saveStream) idled() bool { return errors.Is(context.Cause(s.ctx), errIdle) }

func (s *saveStream) idleError() error {
	return fmt.Errorf("%w: %s sent nothing of the archive of %s for %v", ErrEngine, s.c.ep.Host, s.what, s.c.idleTimeout)
}

func (s *saveStream) stop() {
	s.idle.Stop()
	s.cancel(nil)
}

// Close ends the stream and its idle timer.
func (s *saveStream) Close() error {
	s.stop()
	return s.rc.Close()
}

// Load sends an archive (docker save format) to the engine's load endpoint
// and returns the lines it answers, one "Loaded image: REF" per reference
// as Docker answers (Podman's one line for all, "Loaded image: A,B", is
// split: a reference has no comma).
//
// An engine that neither reads the archive nor answers (nor sends more of
// its answer) for the idle timeout is given up on (ErrEngine), as a save
// stream is.
func (c *Client) Load(ctx context.Context, archive io.Reader) ([]string, error) {
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(c.idleTimeout, func() { cancel(errIdle) })
	defer idle.Stop()
	idled := func(err error) error {
		if errors.Is(context.Cause(lctx), errIdle) {
			return fmt.Errorf("%w: %s neither read the archive nor answered the load for %v", ErrEngine, c.ep.Host, c.idleTimeout)
		}
		return err
	}
	res, err := c.api.ImageLoad(lctx, &idleReader{r: archive, t: idle, d: c.idleTimeout}, client.ImageLoadWithQuiet(true))
	if err != nil {
		return nil, idled(c.wrap(err, "loading images"))
	}
	defer res.Close()
	lines, err := readMessages(io.LimitReader(&idleReader{r: res, t: idle, d: c.idleTimeout}, maxLoadReply), c.ep.Host)
	if err != nil {
		return nil, idled(err)
	}
	const loaded = "Loaded image: "
	var out []string
	for _, l := range lines {
		refs, ok := strings.CutPrefix(l, loaded)
		if !ok {
			out = append(out, l)
			continue
		}
		for _, r := range strings.Split(refs, ",") {
			if r = strings.TrimSpace(r); r != "" {
				out = append(out, loaded+r)
			}
		}
	}
	return out, nil
}

// idleReader restarts an idle timer at each read: of a request's body
// (the engine reads it), or of its answer (a load's, a save's archive).
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (i *idleReader) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	i.t.Reset(i.d)
	return n, err
}

// Close closes r if it can be: the HTTP client closes a request's body.
func (i *idleReader) Close() error {
	if c, ok := i.r.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// message is one object of the engine's JSON message stream.
type message struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// readMessages reads a JSON message stream (Docker sends one object per
// line, Podman one object) and returns its stream lines, or the error it
// carries.
func readMessages(r io.Reader, host string) ([]string, error) {
	dec := json.NewDecoder(r)
	var lines []string
	for {
		var m message
		err := dec.Decode(&m)
		if err == io.EOF {
			return lines, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: reading the answer of %s to a load: %v", ErrEngine, host, err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			m.Error = m.ErrorDetail.Message
		}
		if m.Error != "" {
			return nil, fmt.Errorf("%w: %s refused the images: %s", ErrEngine, host, m.Error)
		}
		for _, l := range strings.Split(m.Stream, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
	}
}
