package transport

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// tokenCache answers repeated token requests from memory while the token
// is fresh, and repeated anonymous pings of /v2/ for a minute. go-containerregistry builds a new bearer transport, and so
// fetches a new token, for every operation; with the cache a sequence of
// operations on one repository costs one token request per scope set and
// credentials. A token the registry refuses (401) is dropped.
type tokenCache struct {
	inner http.RoundTripper
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]tokenEntry
}

type tokenEntry struct {
	token   string // the bearer token ("" for a ping)
	status  int    // a ping's status code and line
	line    string
	body    []byte
	header  http.Header
	expires time.Time
}

// MaxTokenBody bounds a token server's answer.
const MaxTokenBody = 1 << 20

func newTokenCache(inner http.RoundTripper) *tokenCache {
	return &tokenCache{inner: inner, now: time.Now, entries: map[string]tokenEntry{}}
}

// pingLife is how long the answer to an anonymous GET /v2/ (the challenge
// go-containerregistry asks for before every operation) is reused.
const pingLife = time.Minute

func (c *tokenCache) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && req.URL.Path == "/v2/" && req.URL.RawQuery == "" && req.Header.Get("Authorization") == "" {
		return c.ping(req)
	}
	key, ok := tokenKey(req)
	if !ok {
		resp, err := c.inner.RoundTrip(req)
		if err == nil && resp.StatusCode == http.StatusUnauthorized {
			if tok, found := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer "); found {
				c.forget(tok)
			}
		}
		return resp, err
	}
	c.mu.Lock()
	e, hit := c.entries[key]
	c.mu.Unlock()
	if hit && c.now().Before(e.expires) {
		closeBody(req)
		return &http.Response{
			Status: "200 OK", StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: e.header.Clone(), Body: io.NopCloser(bytes.NewReader(e.body)),
			ContentLength: int64(len(e.body)), Request: req,
		}, nil
	}
	resp, err := c.inner.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxTokenBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if len(body) > MaxTokenBody {
		return nil, fmt.Errorf("token response from %s exceeds %d bytes", req.URL.Host, MaxTokenBody)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var t struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if json.Unmarshal(body, &t) == nil && (t.Token != "" || t.AccessToken != "") {
		if t.Token == "" {
			t.Token = t.AccessToken
		}
		// The distribution token spec's default lifetime is 60 s. Keep a
		// token for half its life at most (less 30 s for long ones), so
		// it is never used near its expiry.
		life := time.Duration(t.ExpiresIn) * time.Second
		if life <= 0 {
			life = 60 * time.Second
		}
		life -= min(life/2, 30*time.Second)
		c.mu.Lock()
		c.entries[key] = tokenEntry{token: t.Token, body: body, header: resp.Header.Clone(), expires: c.now().Add(life)}
		c.mu.Unlock()
	}
	return resp, nil
}

// ping answers an anonymous GET /v2/ from memory when the same scheme and
// host answered it (200 or a 401 challenge) within pingLife: the ping
// costs one round trip per operation otherwise.
func (c *tokenCache) ping(req *http.Request) (*http.Response, error) {
	key := "ping\x00" + req.URL.Scheme + "://" + strings.ToLower(req.URL.Host)
	c.mu.Lock()
	e, hit := c.entries[key]
	c.mu.Unlock()
	if hit && c.now().Before(e.expires) {
		return &http.Response{
			Status: e.line, StatusCode: e.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: e.header.Clone(), Body: io.NopCloser(bytes.NewReader(e.body)),
			ContentLength: int64(len(e.body)), Request: req,
		}, nil
	}
	resp, err := c.inner.RoundTrip(req)
	if err != nil || (resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized) {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10+1))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) <= 64<<10 {
		c.mu.Lock()
		c.entries[key] = tokenEntry{line: resp.Status, status: resp.StatusCode, body: body, header: resp.Header.Clone(), expires: c.now().Add(pingLife)}
		c.mu.Unlock()
	}
	return resp, nil
}

// forget drops cached answers holding token.
func (c *tokenCache) forget(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		if e.token == token {
			delete(c.entries, k)
		}
	}
}

// tokenKey identifies a token request (a GET of a realm with service or
// scope parameters, or an OAuth2 POST) by everything that shapes its
// answer: URL, credentials and form body, hashed.
func tokenKey(req *http.Request) (string, bool) {
	if strings.HasPrefix(req.URL.Path, "/v2/") {
		return "", false
	}
	h := sha256.New()
	switch req.Method {
	case http.MethodGet:
		q := req.URL.Query()
		if !q.Has("service") && !q.Has("scope") {
			return "", false
		}
	case http.MethodPost:
		if !strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || req.GetBody == nil {
			return "", false
		}
		body, err := req.GetBody()
		if err != nil {
			return "", false
		}
		b, err := io.ReadAll(io.LimitReader(body, 64<<10))
		body.Close()
		if err != nil || !bytes.Contains(b, []byte("grant_type=")) {
			return "", false
		}
		h.Write(b)
	default:
		return "", false
	}
	fmt.Fprintf(h, "\x00%s\x00%s\x00%s", req.Method, req.URL.String(), req.Header.Get("Authorization"))
	return hex.EncodeToString(h.Sum(nil)), true
}

// schemeMemory remembers, per host, a scheme proven not to work: a host
// that answered TLS does not get plain-HTTP attempts (go-containerregistry
// pings both schemes in parallel for loopback and insecure hosts), and a
// host that answered plain HTTP to a TLS handshake does not get new
// handshakes. It saves a connection per operation and never downgrades a
// TLS registry.
type schemeMemory struct {
	inner http.RoundTripper
	mu    sync.Mutex
	known map[string]string // host -> the scheme it speaks
}

// schemeError is schemeMemory's refusal. Refusing HTTPS to a host that
// answered a handshake with plain HTTP is what that answer itself was, so
// it is http.ErrSchemeMismatch too: a request that loses the race to
// learning the scheme fails as the one that learned it did, and the caller
// names the same fix.
type schemeError struct{ host, speaks, asked string }

func (e *schemeError) Error() string {
	return fmt.Sprintf("%s speaks %s, not %s", e.host, e.speaks, e.asked)
}

func (e *schemeError) Unwrap() error {
	if e.speaks == "http" {
		return http.ErrSchemeMismatch
	}
	return nil
}

func (s *schemeMemory) RoundTrip(req *http.Request) (*http.Response, error) {
	host := strings.ToLower(req.URL.Host)
	s.mu.Lock()
	known := s.known[host]
	s.mu.Unlock()
	if known != "" && known != req.URL.Scheme {
		closeBody(req)
		return nil, &schemeError{host: host, speaks: known, asked: req.URL.Scheme}
	}
	resp, err := s.inner.RoundTrip(req)
	learned := ""
	switch {
	case err == nil && req.URL.Scheme == "https":
		learned = "https"
	case err != nil && req.URL.Scheme == "https" && NotTLS(err):
		learned = "http"
	}
	if learned != "" && known == "" {
		s.mu.Lock()
		if s.known == nil {
			s.known = map[string]string{}
		}
		s.known[host] = learned
		s.mu.Unlock()
	}
	return resp, err
}
