package registry

import (
	"fmt"
	"golang.org/x/sync/semaphore"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/google/go-containerregistry/pkg/authn"
)

// This file is the one place where a Client's settings, their defaults and
// their conflicts live; those of the HTTP stack live in package transport.

// Client reaches registries with one set of credentials, trust and transport
// settings. Build it with New; it is safe for concurrent use.
type Client struct {
	keychain     authn.Keychain
	insecure     map[string]bool
	insecureNets []*net.IPNet // WithInsecure CIDRs: IP-literal hosts inside them
	userAgent    string
	jobs         int

	http ctltransport.Options // settings of the HTTP stack

	transport http.RoundTripper // the assembled stack, built by New

	mirrors         Mirrors           // WithMirrors: where reads go first
	onSource        func(SourceEvent) // WithSourceFunc
	mirrorTransport http.RoundTripper // the stack with the mirror budget (mirrors.go)

	// sameRepoMount is what each host is known to do with a mount from
	// the pushed repository itself (POST /blobs/uploads/?mount=D&from=REPO):
	// proven, disproven or unknown (see sameRepoMounts). On a host proven
	// to answer it as distribution does (201 when the repository has the
	// blob, 202 with an upload session when not), one POST replaces a
	// blob's HEAD and the POST that starts its upload.
	sameRepoMount *sameRepoMounts
	// open are the hosts that answered a session's first request without
	// credentials: later sessions on them send their requests without a
	// ping (a registry with many repositories costs one ping, not one per
	// repository; with WithHostCache, none on later runs). A host that
	// asks for credentials after all costs that session a round trip: the
	// ping comes after the 401, and the host is no longer taken as open.
	open *hostSet
	// configBytes bounds the image configs being read and parsed at once,
	// in bytes (maxConfigBytes): configs are read whole, and jobs of them
	// near the cap at once would take gigabytes.
	configBytes *semaphore.Weighted
	// tagLocks serialise this process's edits of one referrers tag index.
	tagLocks *keyedLocks
}

// Option configures a Client.
type Option func(*Client) error

// WithKeychain sets where credentials come from (default: anonymous).
func WithKeychain(k authn.Keychain) Option {
	return func(c *Client) error { c.keychain = k; return nil }
}

// WithInsecure names registries (HOST[:PORT]) that are reached, as docker's
// insecure-registries are, over HTTPS without verifying their certificate
// or, when they do not speak TLS, over plain HTTP. It never applies to hosts
// not named, nor to the hosts they redirect to. A CIDR (10.0.0.0/8), which
// docker's list also takes, covers the registries named by an IP address
// inside it, on any port; host names are not resolved to be matched. As
// docker does with daemon.json's entries, a leading "http://" or
// "https://" (and a trailing "/") is dropped: "http://10.0.0.5:5000" is
// 10.0.0.5:5000.
func WithInsecure(hosts ...string) Option {
	return func(c *Client) error {
		for _, h := range hosts {
			h = strings.ToLower(strings.TrimSpace(h))
			if rest, ok := strings.CutPrefix(h, "http://"); ok {
				h = strings.TrimSuffix(rest, "/")
			} else if rest, ok := strings.CutPrefix(h, "https://"); ok {
				h = strings.TrimSuffix(rest, "/")
			}
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

// WithHostCache keeps what the Client learns of each registry host in dir
// across runs: that it answers without credentials, so that later runs
// need not ping it, and whether it mounts a blob from the pushed
// repository itself (in dir/same-repo-mount and dir/no-same-repo-mount),
// so that later pushes need not find out again. ctl uses
// $XDG_CACHE_HOME/ctl/hosts.
func WithHostCache(dir string) Option {
	return func(c *Client) error {
		c.open.dir = dir
		c.sameRepoMount.proven.dir = filepath.Join(dir, "same-repo-mount")
		c.sameRepoMount.disproven.dir = filepath.Join(dir, "no-same-repo-mount")
		return nil
	}
}

// WithUserAgent sets the User-Agent product sent with every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) error { c.userAgent = ua; return nil }
}

// DefaultJobs is how many blobs a push, pull or copy moves at once unless
// Client.WithJobs says otherwise. Against a registry 20 ms away each blob
// costs three round trips (HEAD, POST, PUT), so a 10-layer image goes
// fastest with every blob in flight together: measured 255 ms with 8 (two
// waves) against about 200 ms with 16 (one); on loopback the extra
// streams cost nothing measurable.
const DefaultJobs = 16

// WithTransport replaces the base HTTP transport (the per-host TLS
// transports). The scheme guard, redirect policy, retries, timeouts and
// logging still wrap it. It conflicts with WithCAFiles.
func WithTransport(t http.RoundTripper) Option {
	return func(c *Client) error { c.http.Base = t; return nil }
}

// WithCAFiles adds PEM files of certificate authorities to trust for every
// registry, on top of the system pool (which honours SSL_CERT_FILE) and
// certs.d.
func WithCAFiles(files ...string) Option {
	return func(c *Client) error { c.http.CAFiles = append(c.http.CAFiles, files...); return nil }
}

// WithCertsDirs sets docker's certs.d roots searched for HOST[:PORT]/*.crt
// CA files and client.cert/client.key pairs (default /etc/docker/certs.d and
// certs.d under the docker config directory). Later roots add to earlier.
func WithCertsDirs(dirs ...string) Option {
	return func(c *Client) error { c.http.CertsDirs = append([]string{}, dirs...); return nil }
}

// WithRetryPolicy sets how requests are retried; zero fields keep their
// defaults.
func WithRetryPolicy(p ctltransport.RetryPolicy) Option {
	return func(c *Client) error { c.http.Retry = p; return nil }
}

// WithTimeouts sets how long to wait for response headers once a request is
// sent, and how long a response body may stall before the request fails.
// Zero keeps a default.
func WithTimeouts(responseHeader, idle time.Duration) Option {
	return func(c *Client) error {
		c.http.ResponseHeaderTimeout, c.http.IdleTimeout = responseHeader, idle
		return nil
	}
}

// WithLog writes one line per request and response to w, with credentials,
// tokens, cookies and signed-URL query strings redacted (ctl's -v).
func WithLog(w io.Writer) Option {
	return func(c *Client) error { c.http.Log = w; return nil }
}

// WithRateLimitFunc calls f for every response that carries Docker Hub's
// ratelimit-remaining header.
func WithRateLimitFunc(f func(ctltransport.RateLimit)) Option {
	return func(c *Client) error { c.http.OnRateLimit = f; return nil }
}

// New returns a Client with the options applied over the defaults.
func New(opts ...Option) (*Client, error) {
	c := &Client{
		keychain:      authn.NewMultiKeychain(),
		insecure:      map[string]bool{},
		mirrors:       Mirrors{},
		userAgent:     "ctl",
		jobs:          DefaultJobs,
		sameRepoMount: &sameRepoMounts{},
		open:          &hostSet{},
		configBytes:   semaphore.NewWeighted(maxConfigBytes),
		tagLocks:      &keyedLocks{},
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	c.http.PlainHTTP = c.PlainHTTP
	c.http.SkipVerify = c.insecureHost
	c.http.UserAgent = c.userAgent
	t, err := ctltransport.New(c.http)
	if err != nil {
		return nil, err
	}
	c.transport = t
	if len(c.mirrors) > 0 {
		if c.mirrorTransport, err = ctltransport.New(mirrorOptions(c.http)); err != nil {
			return nil, err
		}
	}
	return c, nil
}
