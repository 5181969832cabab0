package registry

import (
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Client reaches registries with one set of credentials, trust and transport
// settings. Build it with New; it is safe for concurrent use.
type Client struct {
	keychain  authn.Keychain
	insecure  map[string]bool
	transport http.RoundTripper
	userAgent string
	jobs      int
}

// Option configures a Client.
type Option func(*Client) error

// WithKeychain sets where credentials come from (default: anonymous).
func WithKeychain(k authn.Keychain) Option {
	return func(c *Client) error { c.keychain = k; return nil }
}

// WithInsecure names registries (HOST[:PORT]) that may be reached over plain
// HTTP, as docker's insecure-registries does.
func WithInsecure(hosts ...string) Option {
	return func(c *Client) error {
		for _, h := range hosts {
			c.insecure[strings.ToLower(h)] = true
		}
		return nil
	}
}

// WithUserAgent sets the User-Agent product sent with every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error { c.userAgent = ua; return nil }
}

// WithJobs sets how many blobs move at once (default 4).
func WithJobs(n int) Option {
	return func(c *Client) error {
		if n > 0 {
			c.jobs = n
		}
		return nil
	}
}

// WithTransport replaces the base HTTP transport.
func WithTransport(t http.RoundTripper) Option {
	return func(c *Client) error { c.transport = t; return nil }
}

// New returns a Client with the options applied over the defaults.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		keychain:  authn.NewMultiKeychain(),
		insecure:  map[string]bool{},
		transport: remote.DefaultTransport,
		userAgent: "ctl",
		jobs:      4,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// PlainHTTP reports whether host may be reached over plain HTTP: localhost,
// 127.0.0.0/8 and ::1 always (docker's rule), other hosts only when named
// insecure.
func (c *Client) PlainHTTP(host string) bool {
	if c.insecure[strings.ToLower(host)] {
		return true
	}
	h := host
	if sh, _, err := net.SplitHostPort(host); err == nil {
		h = sh
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// nameOptions are the go-containerregistry name options for host.
func (c *Client) nameOptions(host string) []name.Option {
	if c.PlainHTTP(host) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// Ref converts r to a go-containerregistry reference for the wire.
func (c *Client) Ref(r reference.Reference) (name.Reference, error) {
	return r.ToName(c.nameOptions(r.Registry())...)
}

// Repo converts r to a go-containerregistry repository for the wire.
func (c *Client) Repo(r reference.Reference) (name.Repository, error) {
	return r.RepositoryName(c.nameOptions(r.Registry())...)
}

// remoteOptions are the options for every go-containerregistry remote call.
func (c *Client) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(c.keychain),
		remote.WithTransport(c.transport),
		remote.WithUserAgent(c.userAgent),
		remote.WithJobs(c.jobs),
	}
}
