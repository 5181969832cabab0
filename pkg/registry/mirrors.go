package registry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ctl-dev/ctl/pkg/reference"
	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// This file is the read side of mirrors: the one place that turns a
// reference into the ordered list of places it may be read from (its
// registry's mirrors, then the registry itself) and runs a read against
// them. Writes never come here: push, delete and tagging open their
// sessions on the reference's own registry.

// Mirror is a registry that serves reads of another one, as docker's
// registry-mirrors and podman's registries.conf mirrors do: HOST[:PORT] and
// an optional repository path prefix. Repository R of the mirrored registry
// is read as PREFIX/R on the mirror (R alone without a prefix), so
// docker.io/library/nginx is m:5000/library/nginx on mirror "m:5000", and
// ghcr.io/org/app is m:5000/ghcr/org/app on mirror "m:5000/ghcr".
type Mirror struct {
	// Host is the mirror's HOST[:PORT], lowercase.
	Host string
	// Prefix is the repository path prefix, "" for none.
	Prefix string
	// PlainHTTP is set for a mirror written http://HOST: it is insecure
	// (WithInsecure), reached over plain HTTP as docker does for such
	// registry-mirrors entries, or over HTTPS unverified if it answers so.
	PlainHTTP bool
}

// String is the mirror as HOST[:PORT][/PREFIX].
func (m Mirror) String() string {
	if m.Prefix == "" {
		return m.Host
	}
	return m.Host + "/" + m.Prefix
}

// ErrInvalidMirror: a mirror or mirrored registry is not HOST[:PORT][/PATH].
var ErrInvalidMirror = errors.New("invalid mirror")

// ParseMirror reads a mirror as HOST[:PORT][/PATH], optionally written as a
// URL (https://HOST[:PORT][/PATH], the form of daemon.json's
// registry-mirrors; http:// reaches the mirror over plain HTTP). A trailing
// "/" is ignored. The host follows the reference grammar's rules for a
// registry host; the path is a repository path (lowercase components).
func ParseMirror(s string) (Mirror, error) {
	in := s
	s = strings.TrimSpace(s)
	var m Mirror
	if rest, ok := strings.CutPrefix(s, "http://"); ok {
		s, m.PlainHTTP = rest, true
	} else {
		s = strings.TrimPrefix(s, "https://")
	}
	s = strings.TrimSuffix(s, "/")
	host, prefix, _ := strings.Cut(s, "/")
	if err := checkMirrorHost(host, prefix); err != nil {
		return Mirror{}, fmt.Errorf("%w %q: want HOST[:PORT][/PATH]: %v", ErrInvalidMirror, in, err)
	}
	m.Host, m.Prefix = strings.ToLower(host), prefix
	return m, nil
}

// checkMirrorHost checks host and prefix with the reference grammar: a
// repository "HOST/PREFIX/x" must parse with HOST as its registry.
func checkMirrorHost(host, prefix string) error {
	if host == "" {
		return errors.New("no host")
	}
	path := "x"
	if prefix != "" {
		path = prefix + "/x"
	}
	// Parsed as the registry of a repository: the reference parsed is
	// made up here, so its errors would name it; they say which part is
	// at fault instead.
	if r, err := reference.ParseRepository(host + "/x"); err != nil || !strings.EqualFold(r.Registry(), host) {
		return fmt.Errorf("%q is not a registry host", host)
	}
	if r, err := reference.ParseRepository(host + "/" + path); err != nil || r.Repository() != path {
		return fmt.Errorf("%q is not a repository path (lowercase letters, digits, separators)", prefix)
	}
	return nil
}

// MirroredRegistry normalises the registry a mirrors entry is for
// (HOST[:PORT]): lowercase, and Docker Hub's other names (index.docker.io,
// registry-1.docker.io) as docker.io, the name references give it.
func MirroredRegistry(s string) (string, error) {
	// As the registry of a reference, s must be taken for a host (not
	// for a path component); Docker Hub's names all come out as docker.io,
	// however they are written (hosts are case-insensitive: lowered first,
	// Index.Docker.io is Docker Hub too, not a key nothing looks up).
	host := strings.ToLower(strings.TrimSpace(s))
	r, err := reference.ParseRepository(host + "/x/x")
	if err != nil || strings.Contains(host, "/") || r.Repository() != "x/x" {
		return "", fmt.Errorf("%w registry %q: want HOST[:PORT]", ErrInvalidMirror, s)
	}
	return r.Registry(), nil
}

// Mirrors maps a registry (as MirroredRegistry names it) to its mirrors in
// the order they are tried.
type Mirrors map[string][]Mirror

// Add appends mirrors to registry's list, skipping those listed already.
func (ms Mirrors) Add(registry string, mirrors ...Mirror) {
	for _, m := range mirrors {
		dup := false
		for _, have := range ms[registry] {
			dup = dup || have.Host == m.Host && have.Prefix == m.Prefix
		}
		if !dup {
			ms[registry] = append(ms[registry], m)
		}
	}
}

// Source is one place a reference may be read from: a mirror of its
// registry, or the registry itself.
type Source struct {
	// Mirror is the mirror as configured (HOST[:PORT][/PREFIX]); "" for the
	// reference's own registry.
	Mirror string
	// Host is the registry host contacted.
	Host string
	// Repository is the repository path on Host.
	Repository string
}

// IsMirror reports whether the source is a mirror.
func (s Source) IsMirror() bool { return s.Mirror != "" }

// Kind is "mirror" or "upstream", as --format json reports a source.
func (s Source) Kind() string {
	if s.IsMirror() {
		return "mirror"
	}
	return "upstream"
}

// String is HOST/REPOSITORY.
func (s Source) String() string { return s.Host + "/" + s.Repository }

// Sources lists where r is read from, in order: each mirror of its
// registry, then the registry.
func (ms Mirrors) Sources(r reference.Reference) []Source {
	var srcs []Source
	for _, m := range ms[strings.ToLower(r.Registry())] {
		srcs = append(srcs, Source{Mirror: m.String(), Host: m.Host, Repository: m.repository(r)})
	}
	return append(srcs, Source{Host: r.Registry(), Repository: r.Repository()})
}

// repository is r's repository on the mirror.
func (m Mirror) repository(r reference.Reference) string {
	if m.Prefix != "" {
		return m.Prefix + "/" + r.Repository()
	}
	return r.Repository()
}

// WithMirrors sets the mirrors reads go to before each registry (see
// Client.Sources); later calls add to earlier ones. Writes never use them.
func WithMirrors(ms Mirrors) Option {
	return func(c *Client) error {
		for reg, list := range ms {
			c.mirrors.Add(reg, list...)
			for _, m := range list {
				if m.PlainHTTP {
					c.insecure[m.Host] = true
				}
			}
		}
		return nil
	}
}

// SourceEvent reports, for a reference with mirrors, where a read went:
// Source served it (Err nil), or Source failed with Err and the next
// source is tried.
type SourceEvent struct {
	Ref    reference.Reference
	Source Source
	Err    error
}

// WithSourceFunc calls f for every read of a reference that has mirrors:
// once per mirror skipped, and once for the source that answered.
func WithSourceFunc(f func(SourceEvent)) Option {
	return func(c *Client) error { c.onSource = f; return nil }
}

// The budget of a mirror. A mirror is an optimisation with the registry
// behind it, so one that fails costs little: each request to it is tried
// once (no retries, no Retry-After waits; the registry keeps the full
// budget), and it must start answering within mirrorHeaderTimeout.
const (
	mirrorAttempts      = 1
	mirrorHeaderTimeout = 15 * time.Second
)

// Sources lists where r is read from, in order: each mirror of its
// registry, then the registry.
func (c *Client) Sources(r reference.Reference) []Source { return c.mirrors.Sources(r) }

// WithoutMirrorAt returns c reading src without the mirror of src that is
// dst's repository itself, when there is one: a copy or sync that fills a
// mirror reads the registry it mirrors, never the repository it is about
// to write (a sync would find nothing new there, a copy would write back
// the stale manifest it read). src's other mirrors stay.
func (c *Client) WithoutMirrorAt(src, dst reference.Reference) *Client {
	reg := strings.ToLower(src.Registry())
	list := c.mirrors[reg]
	kept := slices.DeleteFunc(slices.Clone(list), func(m Mirror) bool {
		return strings.EqualFold(m.Host, dst.Registry()) && m.repository(src) == dst.Repository()
	})
	if len(kept) == len(list) {
		return c
	}
	cc := *c
	cc.mirrors = maps.Clone(c.mirrors)
	cc.mirrors[reg] = kept
	return &cc
}

// WithoutMirrors returns a copy of c that reads every registry itself, for
// the reads that plan a write (which must see what the write changes).
func (c *Client) WithoutMirrors() *Client {
	cc := *c
	cc.mirrors = Mirrors{}
	return &cc
}

// read runs fn with a session on each source of r in turn (transfer:
// authenticated before the first request, as pulls are; else
// anonymous-first) and returns the source that served it. A mirror that
// fails, for any reason but a local one (errLocal) or the context ending,
// is skipped for the next source; the registry's own error is returned
// when it fails too. fn may run more than once, so it must not keep
// anything from a failed run.
func (c *Client) read(ctx context.Context, r reference.Reference, transfer bool, fn func(*session) error) (Source, error) {
	srcs := c.Sources(r)
	for i, src := range srcs {
		err := c.readSource(ctx, r, src, transfer, fn)
		last := i == len(srcs)-1
		if err == nil {
			if len(srcs) > 1 && c.onSource != nil {
				c.onSource(SourceEvent{Ref: r, Source: src})
			}
			return src, nil
		}
		if last || ctx.Err() != nil || !fallsThrough(err) {
			return src, err
		}
		if c.onSource != nil {
			c.onSource(SourceEvent{Ref: r, Source: src, Err: err})
		}
	}
	panic("unreachable: Sources always ends with the registry")
}

// readSource opens a session on src and runs fn with it.
func (c *Client) readSource(ctx context.Context, r reference.Reference, src Source, transfer bool, fn func(*session) error) error {
	cc, repo := c, name.Repository{}
	var err error
	if src.IsMirror() {
		m := *c
		m.transport = c.mirrorTransport
		cc = &m
		repo, err = name.NewRepository(src.Host+"/"+src.Repository, c.nameOptions(src.Host)...)
	} else {
		repo, err = c.Repo(r)
	}
	if err != nil {
		return err
	}
	var s *session
	if transfer {
		s, err = cc.transferSession(ctx, repo, []string{repo.Scope(transport.PullScope)})
	} else {
		s, err = cc.repoSession(ctx, repo, transport.PullScope)
	}
	if err != nil {
		return err
	}
	s.mirror = src.IsMirror()
	return fn(s)
}

// errLocal marks an error of the reader's own side (the store, the
// destination of a copy): trying another source would not help, unless
// the error is content that did not match its digest.
type errLocal struct{ err error }

func (e errLocal) Error() string { return e.err.Error() }
func (e errLocal) Unwrap() error { return e.err }

// mirrorFault marks an error of reading from a mirror (session.fault):
// the mirror's own failure, even where it surfaces through the reader's
// side, as a layer the store could not write because the mirror's GET
// failed.
type mirrorFault struct{ err error }

func (e mirrorFault) Error() string { return e.err.Error() }
func (e mirrorFault) Unwrap() error { return e.err }

// fault marks err, a failure of reading from the session's source, as the
// mirror's when the session is on one. The reads of the images a pull or
// copy hands on (children, configs, layers) go through it, so that a
// mirror failing part way falls through even though the store or the
// destination is what reports it.
func (s *session) fault(err error) error {
	if err == nil || !s.mirror {
		return err
	}
	return mirrorFault{err}
}

// fallsThrough reports whether a mirror's failure err lets the next source
// be tried: anything the mirror did (404, 5xx, refused, unreachable,
// denied, content not matching its digest), not a local failure.
func fallsThrough(err error) bool {
	var le errLocal
	var mf mirrorFault
	return !errors.As(err, &le) || errors.Is(err, ErrDigestMismatch) || errors.As(err, &mf)
}

// mirrorOptions are the HTTP stack's options for mirrors: those of the
// registries with the mirror budget.
func mirrorOptions(o ctltransport.Options) ctltransport.Options {
	o.Retry.Attempts = mirrorAttempts
	if o.ResponseHeaderTimeout <= 0 || o.ResponseHeaderTimeout > mirrorHeaderTimeout {
		o.ResponseHeaderTimeout = mirrorHeaderTimeout
	}
	return o
}
