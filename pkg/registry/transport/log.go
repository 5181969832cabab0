package transport

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// logTransport writes one line per request and one per response to w,
// with every secret redacted: credentials and cookies in headers, tokens,
// passwords and signatures in query strings (of the request URL and of a
// Location). Bodies are never logged: token responses carry secrets.
// go-containerregistry's debug logger prints redirected URLs in full, so ctl
// logs with its own.
type logTransport struct {
	inner http.RoundTripper
	w     io.Writer
	mu    sync.Mutex
}

// loggedHeaders are the headers worth showing; others are left out.
var loggedHeaders = []string{
	"Authorization", "Content-Type", "Content-Length", "Content-Range", "Range", "Location",
	"Docker-Content-Digest", "Www-Authenticate", "Retry-After", "Ratelimit-Limit",
	"Ratelimit-Remaining", "Docker-Ratelimit-Source", "Cookie", "Set-Cookie", "Link",
}

func (l *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	l.printf("> %s %s%s", req.Method, RedactURL(req.URL), headerText(req.Header))
	resp, err := l.inner.RoundTrip(req)
	if err != nil {
		l.printf("< %s %s: %s (%s)", req.Method, RedactURL(req.URL), RedactText(err.Error()), time.Since(start).Round(time.Millisecond))
		return nil, err
	}
	l.printf("< %s %s %s (%s)%s", req.Method, RedactURL(req.URL), resp.Status, time.Since(start).Round(time.Millisecond), headerText(resp.Header))
	return resp, nil
}

func (l *logTransport) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}

// headerText renders the headers worth logging, redacted, on one line.
func headerText(h http.Header) string {
	var b strings.Builder
	for _, k := range loggedHeaders {
		for _, v := range h.Values(k) {
			fmt.Fprintf(&b, " %s: %q", k, redactHeader(k, v))
		}
	}
	return b.String()
}

// redactHeader hides credentials and cookies; Authorization keeps its
// scheme so that -v shows which kind was sent.
func redactHeader(k, v string) string {
	switch http.CanonicalHeaderKey(k) {
	case "Authorization", "Proxy-Authorization":
		scheme, _, _ := strings.Cut(v, " ")
		return scheme + " REDACTED"
	case "Cookie", "Set-Cookie":
		return "REDACTED"
	case "Location", "Link":
		if u, err := url.Parse(v); err == nil {
			return RedactURL(u)
		}
		return "REDACTED"
	}
	return v
}

// safeQuery are query parameters that carry nothing secret; the values of
// all others (signatures, credentials, tokens, upload state) are redacted.
var safeQuery = map[string]bool{
	"n": true, "last": true, "scope": true, "service": true, "digest": true, "mount": true, "from": true,
	"client_id": true, "offline_token": true,
}

// RedactURL is u without user info and with every query value that is not
// known to be harmless replaced by REDACTED.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		c.User = url.User("REDACTED")
	}
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			c.RawQuery = "REDACTED"
		} else {
			keys := make([]string, 0, len(q))
			for k := range q {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var parts []string
			for _, k := range keys {
				for _, v := range q[k] {
					if !safeQuery[strings.ToLower(k)] {
						v = "REDACTED"
					}
					parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
				}
			}
			c.RawQuery = strings.Join(parts, "&")
		}
	}
	return c.String()
}

// RedactText hides URLs' query strings inside free text (error messages
// quote the URL they failed on).
func RedactText(s string) string {
	fields := strings.Fields(s)
	for _, f := range fields {
		trimmed := strings.Trim(f, `"':,()`)
		if !strings.Contains(trimmed, "://") || !strings.Contains(trimmed, "?") && !strings.Contains(trimmed, "@") {
			continue
		}
		if u, err := url.Parse(trimmed); err == nil {
			s = strings.ReplaceAll(s, trimmed, RedactURL(u))
		}
	}
	return s
}
