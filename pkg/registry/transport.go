package registry

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The transport stack, outermost first (go-containerregistry's auth and
// retry transports sit above it):
//
//	tokenCache       answers repeated token requests while the token is fresh
//	retryTransport   retries with backoff and Retry-After, replays bodies,
//	                 reports rate limits, applies the idle-read timeout
//	logTransport     -v: one redacted line per request and response
//	guardTransport   scheme guard and redirect policy, User-Agent
//	schemeMemory     no plain HTTP to a host proven to speak TLS, and back
//	hostTransports   one *http.Transport per HOST[:PORT] with its TLS trust
//	                 and client certificates (or WithTransport's)
func (c *Client) buildTransport() (http.RoundTripper, error) {
	var t http.RoundTripper
	if c.base != nil {
		t = c.base
	} else {
		ht, err := newHostTransports(c.caFiles, c.certsDir, c.header)
		if err != nil {
			return nil, err
		}
		t = ht
	}
	t = &schemeMemory{inner: t}
	t = &guardTransport{inner: t, plainHTTP: c.PlainHTTP, userAgent: c.userAgent}
	if c.log != nil {
		t = &logTransport{inner: t, w: c.log}
	}
	t = &retryTransport{inner: t, policy: c.retry, idle: c.idle, onLimit: c.onLimit,
		sleep: sleepCtx, now: time.Now}
	return newTokenCache(t), nil
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
		return nil, fmt.Errorf("%w to %s: only localhost, 127.0.0.0/8, ::1 and registries given with --insecure-registry are reached without TLS", ErrPlainHTTP, req.URL.Host)
	}
	if req.Response != nil && req.Response.Request != nil {
		from := req.Response.Request.URL
		if from.Scheme == "https" && req.URL.Scheme != "https" {
			closeBody(req)
			return nil, fmt.Errorf("%w: %s redirected from https to %s", ErrRedirect, from.Host, redactURL(req.URL))
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
// another host) and its own connection pool.
type hostTransports struct {
	caFiles  []string
	certsDir []string
	header   time.Duration

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

func newHostTransports(caFiles, certsDir []string, header time.Duration) (*hostTransports, error) {
	ht := &hostTransports{caFiles: caFiles, certsDir: certsDir, header: header, hosts: map[string]*hostTransport{}}
	// Fail early on an unreadable --ca-file rather than on first use.
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
		t.TLSClientConfig = cfg
	}
	return t, nil
}
