package transport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/cli/cli/config"
)

// Options configure the transport New builds. Zero fields take the
// defaults named beside them.
type Options struct {
	// Base replaces the per-host TLS transports (tests); the scheme guard,
	// redirect policy, retries, timeouts and logging still wrap it. It
	// conflicts with CAFiles.
	Base http.RoundTripper
	// CAFiles are PEM files of certificate authorities trusted for every
	// registry, on top of the system pool (which honours SSL_CERT_FILE)
	// and certs.d.
	CAFiles []string
	// CertsDirs are docker's certs.d roots searched for HOST[:PORT]/*.crt
	// CA files and client.cert/client.key pairs; later roots add to
	// earlier. Default: DefaultCertsDir and certs.d under docker's config
	// directory.
	CertsDirs []string
	// PlainHTTP reports whether host (HOST[:PORT]) may be reached without
	// TLS. Default: Loopback.
	PlainHTTP func(host string) bool
	// SkipVerify reports whether host's (HOST[:PORT]) certificate is
	// accepted unverified, as docker does for its insecure registries; its
	// client certificates are still presented. Default: none. It applies to
	// the transports New builds, not to Base.
	SkipVerify func(host string) bool
	// UserAgent is sent with every request that has none.
	UserAgent string
	// Retry bounds retries; zero fields take the Default* values.
	Retry RetryPolicy
	// ResponseHeaderTimeout bounds the wait for response headers once a
	// request is sent (default DefaultResponseHeaderTimeout).
	ResponseHeaderTimeout time.Duration
	// IdleTimeout is the window over which a response body must keep up
	// MinRate, so that one that stalls or drips fails within it (default
	// DefaultIdleTimeout).
	IdleTimeout time.Duration
	// MinRate is the slowest a response body may arrive, in bytes per
	// second averaged over each IdleTimeout window (default
	// DefaultMinRate).
	MinRate int64
	// Log, when set, gets one line per request and response, with
	// credentials, tokens, cookies and signed-URL query strings redacted.
	Log io.Writer
	// OnRateLimit is called for every response that carries Docker Hub's
	// ratelimit-remaining header.
	OnRateLimit func(RateLimit)
}

// New builds the HTTP stack every registry request goes through,
// outermost first (go-containerregistry's authenticating transport sits
// above it):
//
//	tokenCache       answers repeated token requests while the token is fresh
//	retryTransport   retries with backoff and Retry-After, replays bodies,
//	                 reports rate limits, applies the idle-read timeout
//	logTransport     Options.Log: one redacted line per request and response
//	guardTransport   scheme guard and redirect policy, User-Agent
//	schemeMemory     no plain HTTP to a host proven to speak TLS, and back
//	hostTransports   one *http.Transport per HOST[:PORT] with its TLS trust
//	                 and client certificates (or Options.Base)
func New(o Options) (http.RoundTripper, error) {
	if o.Base != nil && len(o.CAFiles) > 0 {
		return nil, errors.New("a base transport and CA files conflict: trust is configured on the transport ctl builds")
	}
	r := o.Retry
	if r.Attempts < 0 || r.Backoff < 0 || r.MaxBackoff < 0 || r.MaxTime < 0 || r.MaxRetryAfter < 0 {
		return nil, errors.New("retry policy: negative value")
	}
	if o.ResponseHeaderTimeout < 0 || o.IdleTimeout < 0 {
		return nil, errors.New("timeouts: negative value")
	}
	if o.ResponseHeaderTimeout == 0 {
		o.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.CertsDirs == nil {
		o.CertsDirs = []string{DefaultCertsDir, filepath.Join(config.Dir(), "certs.d")}
	}
	if o.PlainHTTP == nil {
		o.PlainHTTP = Loopback
	}
	var t http.RoundTripper
	if o.Base != nil {
		t = o.Base
	} else {
		ht, err := newHostTransports(o.CAFiles, o.CertsDirs, o.SkipVerify, o.ResponseHeaderTimeout)
		if err != nil {
			return nil, err
		}
		t = ht
	}
	t = &schemeMemory{inner: t}
	t = &guardTransport{inner: t, plainHTTP: o.PlainHTTP, userAgent: o.UserAgent}
	if o.Log != nil {
		t = &logTransport{inner: t, w: o.Log}
	}
	if o.MinRate <= 0 {
		o.MinRate = DefaultMinRate
	}
	t = &retryTransport{inner: t, policy: r.withDefaults(), idle: o.IdleTimeout, minRate: o.MinRate, onLimit: o.OnRateLimit,
		sleep: Sleep, now: time.Now}
	return newTokenCache(t), nil
}

// Loopback reports whether host (HOST[:PORT]) is localhost or a loopback
// address (127.0.0.0/8, ::1): docker's rule for the registries reached
// over plain HTTP without being named insecure.
func Loopback(host string) bool {
	h := strings.ToLower(host)
	if sh, _, err := net.SplitHostPort(h); err == nil {
		h = sh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// guardTransport refuses what must never be sent: plain HTTP to a host that
// is not allowed it (go-containerregistry falls back to http for RFC 1918
// and *.local hosts), a redirect from https to http, and credentials or
// cookies carried by a redirect to another host or port.
type guardTransport struct {
	inner     http.RoundTripper
	plainHTTP func(host string) bool
	userAgent string
}

func (g *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.plainHTTP(req.URL.Host) {
		closeBody(req)
		return nil, &PlainHTTPError{Host: req.URL.Host}
	}
	if req.Response != nil && req.Response.Request != nil {
		from := req.Response.Request.URL
		if from.Scheme == "https" && req.URL.Scheme != "https" {
			closeBody(req)
			return nil, fmt.Errorf("%w: %s redirected from https to %s", ErrRedirect, from.Host, RedactURL(req.URL))
		}
		if hostPort(from) != hostPort(req.URL) {
			req = req.Clone(req.Context())
			for _, h := range []string{"Authorization", "Cookie"} {
				req.Header.Del(h)
			}
		}
	}
	if g.userAgent != "" && req.Header.Get("User-Agent") == "" {
		if req.Response == nil {
			req = req.Clone(req.Context())
		}
		req.Header.Set("User-Agent", g.userAgent)
	}
	return g.inner.RoundTrip(req)
}

// hostPort is u's lower-case host with its port, the scheme's default port
// filled in, so that a.example and a.example:443 compare equal.
func hostPort(u *url.URL) string {
	h, p := strings.ToLower(u.Hostname()), u.Port()
	if p == "" {
		p = "443"
		if u.Scheme == "http" {
			p = "80"
		}
	}
	return net.JoinHostPort(h, p)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// hostTransports keeps one *http.Transport per HOST[:PORT], so that each
// registry gets its own certs.d trust and client certificates (never sent to
// another host), its own verification rule (skipVerify: only the hosts it
// names go unverified, not those they redirect to) and its own connection
// pool.
type hostTransports struct {
	caFiles    []string
	certsDir   []string
	skipVerify func(host string) bool // nil: every certificate is verified
	header     time.Duration

	mu    sync.Mutex
	hosts map[string]*hostTransport
}

// hostTransport is built once, on first use, outside hostTransports.mu: a
// slow TLS setup for one scheme or host (reading certs.d, loading the system
// roots for extra CAs) never holds up requests to another, such as
// go-containerregistry's plain-HTTP ping racing its https one.
type hostTransport struct {
	once sync.Once
	t    *http.Transport
	err  error
}

func newHostTransports(caFiles, certsDir []string, skipVerify func(string) bool, header time.Duration) (*hostTransports, error) {
	ht := &hostTransports{caFiles: caFiles, certsDir: certsDir, skipVerify: skipVerify, header: header, hosts: map[string]*hostTransport{}}
	// Fail early on an unreadable CA file rather than on first use.
	if _, err := loadCAFiles(nil, caFiles); err != nil {
		return nil, err
	}
	return ht, nil
}

func (ht *hostTransports) RoundTrip(req *http.Request) (*http.Response, error) {
	t, err := ht.get(req.URL.Scheme, req.URL.Host)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	return t.RoundTrip(req)
}

func (ht *hostTransports) get(scheme, host string) (*http.Transport, error) {
	key := scheme + "://" + strings.ToLower(host)
	ht.mu.Lock()
	h, ok := ht.hosts[key]
	if !ok {
		h = &hostTransport{}
		ht.hosts[key] = h
	}
	ht.mu.Unlock()
	h.once.Do(func() { h.t, h.err = ht.build(scheme, host) })
	return h.t, h.err
}

// build makes the transport for scheme://host.
func (ht *hostTransports) build(scheme, host string) (*http.Transport, error) {
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   30 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: ht.header,
	}
	if scheme == "https" {
		cfg, err := tlsConfig(host, ht.caFiles, ht.certsDir)
		if err != nil {
			return nil, err
		}
		cfg.InsecureSkipVerify = ht.skipVerify != nil && ht.skipVerify(host)
		t.TLSClientConfig = cfg
	}
	return t, nil
}
