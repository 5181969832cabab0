package registry

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/cli/cli/config"
	"github.com/google/go-containerregistry/pkg/authn"
)

// This file is the one place where a Client's settings, their defaults and
// their conflicts live.

// Defaults for the transport. They are generous for real registries; tests
// shorten them with the options below.
const (
	// DefaultAttempts is how many times one request is tried in all.
	DefaultAttempts = 5
	// DefaultBackoff is the wait before the first retry; it doubles after.
	DefaultBackoff = 500 * time.Millisecond
	// DefaultMaxBackoff caps the doubling backoff.
	DefaultMaxBackoff = 10 * time.Second
	// DefaultRetryTime bounds the time one request spends in retries.
	DefaultRetryTime = 3 * time.Minute
	// DefaultMaxRetryAfter is the longest Retry-After ctl waits for; a
	// registry asking for longer ends the request with a message that says
	// when to retry.
	DefaultMaxRetryAfter = time.Minute
	// DefaultResponseHeaderTimeout bounds the wait for response headers
	// once a request is sent.
	DefaultResponseHeaderTimeout = time.Minute
	// DefaultIdleTimeout bounds how long a response body may stall.
	DefaultIdleTimeout = time.Minute
	// DefaultCertsDir is docker's system-wide certs.d directory.
	DefaultCertsDir = "/etc/docker/certs.d"
)

// RetryPolicy bounds how a failed request is retried: on connection resets,
// EOF, timeouts and 408, 429, 500, 502, 503 and 504 answers, with doubling
// backoff, honouring Retry-After.
type RetryPolicy struct {
	// Attempts is the total number of tries of one request (1: no retry).
	Attempts int
	// Backoff is the first wait; each later wait doubles, up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// MaxTime bounds the time spent on one request, retries included.
	MaxTime time.Duration
	// MaxRetryAfter is the longest Retry-After honoured.
	MaxRetryAfter time.Duration
}

// RateLimit is Docker Hub's view of the pull rate limit, from the
// ratelimit-limit and ratelimit-remaining headers of a response.
type RateLimit struct {
	Host      string        // as messages name it (DockerHub for Docker Hub)
	Limit     int           // pulls allowed per Window (0 if not given)
	Remaining int           // pulls left in the current window
	Window    time.Duration // the window (0 if not given)
}

// Client reaches registries with one set of credentials, trust and transport
// settings. Build it with New; it is safe for concurrent use.
type Client struct {
	keychain     authn.Keychain
	insecure     map[string]bool
	insecureNets []*net.IPNet      // WithInsecure CIDRs: IP-literal hosts inside them
	base         http.RoundTripper // WithTransport: replaces the per-host TLS transports
	userAgent    string
	jobs         int

	caFiles  []string
	certsDir []string
	retry    RetryPolicy
	header   time.Duration // response-header timeout
	idle     time.Duration // body idle-read timeout
	log      io.Writer
	onLimit  func(RateLimit)

	transport http.RoundTripper // the assembled stack, built by New
}

// Option configures a Client.
type Option func(*Client) error

// WithKeychain sets where credentials come from (default: anonymous).
func WithKeychain(k authn.Keychain) Option {
	return func(c *Client) error { c.keychain = k; return nil }
}

// WithInsecure names registries (HOST[:PORT]) that may be reached over plain
// HTTP, as docker's insecure-registries does. It never applies to hosts not
// named. A CIDR (10.0.0.0/8), which docker's list also takes, covers the
// registries named by an IP address inside it, on any port; host names are
// not resolved to be matched.
func WithInsecure(hosts ...string) Option {
	return func(c *Client) error {
		for _, h := range hosts {
			h = strings.ToLower(strings.TrimSpace(h))
			if _, n, err := net.ParseCIDR(h); err == nil {
				c.insecureNets = append(c.insecureNets, n)
				continue
			}
			if h == "" || strings.Contains(h, "/") {
				return fmt.Errorf("invalid insecure registry %q: want HOST[:PORT] or a CIDR", h)
			}
			c.insecure[h] = true
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

// WithTransport replaces the base HTTP transport (the per-host TLS
// transports). The scheme guard, redirect policy, retries, timeouts and
// logging still wrap it. It conflicts with WithCAFiles.
func WithTransport(t http.RoundTripper) Option {
	return func(c *Client) error { c.base = t; return nil }
}

// WithCAFiles adds PEM files of certificate authorities to trust for every
// registry, on top of the system pool (which honours SSL_CERT_FILE) and
// certs.d.
func WithCAFiles(files ...string) Option {
	return func(c *Client) error { c.caFiles = append(c.caFiles, files...); return nil }
}

// WithCertsDirs sets docker's certs.d roots searched for HOST[:PORT]/*.crt
// CA files and client.cert/client.key pairs (default /etc/docker/certs.d and
// certs.d under the docker config directory). Later roots add to earlier.
func WithCertsDirs(dirs ...string) Option {
	return func(c *Client) error { c.certsDir = append([]string(nil), dirs...); return nil }
}

// WithRetryPolicy sets how requests are retried; zero fields keep their
// defaults.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *Client) error {
		if p.Attempts < 0 || p.Backoff < 0 || p.MaxBackoff < 0 || p.MaxTime < 0 || p.MaxRetryAfter < 0 {
			return errors.New("retry policy: negative value")
		}
		if p.Attempts > 0 {
			c.retry.Attempts = p.Attempts
		}
		if p.Backoff > 0 {
			c.retry.Backoff = p.Backoff
		}
		if p.MaxBackoff > 0 {
			c.retry.MaxBackoff = p.MaxBackoff
		}
		if p.MaxTime > 0 {
			c.retry.MaxTime = p.MaxTime
		}
		if p.MaxRetryAfter > 0 {
			c.retry.MaxRetryAfter = p.MaxRetryAfter
		}
		return nil
	}
}

// WithTimeouts sets how long to wait for response headers once a request is
// sent, and how long a response body may stall before the request fails.
// Zero keeps a default.
func WithTimeouts(responseHeader, idle time.Duration) Option {
	return func(c *Client) error {
		if responseHeader < 0 || idle < 0 {
			return errors.New("timeouts: negative value")
		}
		if responseHeader > 0 {
			c.header = responseHeader
		}
		if idle > 0 {
			c.idle = idle
		}
		return nil
	}
}

// WithLog writes one line per request and response to w, with credentials,
// tokens, cookies and signed-URL query strings redacted (ctl's -v).
func WithLog(w io.Writer) Option {
	return func(c *Client) error { c.log = w; return nil }
}

// WithRateLimitFunc calls f for every response that carries Docker Hub's
// ratelimit-remaining header.
func WithRateLimitFunc(f func(RateLimit)) Option {
	return func(c *Client) error { c.onLimit = f; return nil }
}

// New returns a Client with the options applied over the defaults.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		keychain:  authn.NewMultiKeychain(),
		insecure:  map[string]bool{},
		userAgent: "ctl",
		jobs:      4,
		certsDir:  []string{DefaultCertsDir, filepath.Join(config.Dir(), "certs.d")},
		retry: RetryPolicy{
			Attempts:      DefaultAttempts,
			Backoff:       DefaultBackoff,
			MaxBackoff:    DefaultMaxBackoff,
			MaxTime:       DefaultRetryTime,
			MaxRetryAfter: DefaultMaxRetryAfter,
		},
		header: DefaultResponseHeaderTimeout,
		idle:   DefaultIdleTimeout,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	if c.base != nil && len(c.caFiles) > 0 {
		return nil, errors.New("WithTransport and WithCAFiles conflict: trust is configured on the transport ctl builds")
	}
	if c.retry.MaxBackoff < c.retry.Backoff {
		c.retry.MaxBackoff = c.retry.Backoff
	}
	t, err := c.buildTransport()
	if err != nil {
		return nil, err
	}
	c.transport = t
	return c, nil
}
