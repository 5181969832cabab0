package transport

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors of the transport. Each wraps the error or registry answer that
// caused it.
var (
	// ErrPlainHTTP: a plain-HTTP request to a host that is not localhost,
	// loopback or listed insecure was refused.
	ErrPlainHTTP = errors.New("plain HTTP refused")
	// ErrRedirect: a redirect was refused (https to http).
	ErrRedirect = errors.New("redirect refused")
	// ErrTimeout: the registry stopped answering.
	ErrTimeout = errors.New("registry timed out")
)

// PlainHTTPError: a plain-HTTP request to Host was refused: Host is not
// localhost or a loopback address, and Options.PlainHTTP does not allow it.
// It wraps ErrPlainHTTP.
type PlainHTTPError struct{ Host string }

func (e *PlainHTTPError) Error() string { return ErrPlainHTTP.Error() + " to " + e.Host }

// Unwrap returns ErrPlainHTTP.
func (e *PlainHTTPError) Unwrap() error { return ErrPlainHTTP }

// NotTLS reports whether err says that a server answered a TLS handshake
// in plain text, as a plain-HTTP server does: net/http's
// http.ErrSchemeMismatch when the answer starts as an HTTP response
// ("HTTP/"), or crypto/tls's "first record does not look like a TLS
// handshake" for other text, such as the bare HTML page of an error
// answered HTTP/0.9-style (Python's http.server does so). A binary answer
// is some other protocol, not plain HTTP.
func NotTLS(err error) bool {
	if errors.Is(err, http.ErrSchemeMismatch) {
		return true
	}
	var rhe tls.RecordHeaderError
	if !errors.As(err, &rhe) {
		return false
	}
	for _, b := range rhe.RecordHeader {
		if (b < ' ' || b > '~') && b != '\t' && b != '\r' && b != '\n' {
			return false
		}
	}
	return true
}

// DockerHub is Docker Hub as messages name it: "docker.io", how users
// write it in references, not index.docker.io, the host requests go to.
const DockerHub = "docker.io"

// ShownHost is host as messages show it: Docker Hub's API host is
// DockerHub. Requests and credential keys keep the real host.
func ShownHost(host string) string {
	if host == name.DefaultRegistry {
		return DockerHub
	}
	return host
}

// RetryError says a request failed after retries ran out, or that the
// registry asked to wait longer than the policy allows (RetryAfter). Err is
// the last failure: a *transport.Error of go-containerregistry for an HTTP
// answer, reachable with errors.As.
type RetryError struct {
	Host       string
	Attempts   int
	Elapsed    time.Duration
	RetryAfter time.Time  // when the registry said to retry; zero if it did not
	Limit      *RateLimit // Docker Hub's exhausted pull limit, if that was the answer
	Err        error
}

func (e *RetryError) Error() string {
	host := ShownHost(e.Host)
	if e.Limit != nil {
		msg := fmt.Sprintf("%s: pull rate limit reached", host)
		if e.Limit.Limit > 0 && e.Limit.Window > 0 {
			msg += fmt.Sprintf(" (%d pulls per %s)", e.Limit.Limit, e.Limit.Window)
		}
		return msg + "; retry when the window has moved on, or log in for a higher limit: " + e.Err.Error()
	}
	if !e.RetryAfter.IsZero() {
		return fmt.Sprintf("%s is rate limiting requests; it asks to retry after %s (in %s): %v",
			host, e.RetryAfter.UTC().Format(time.RFC1123), time.Until(e.RetryAfter).Round(time.Second), e.Err)
	}
	return fmt.Sprintf("giving up on %s after %d attempts in %s: %v",
		host, e.Attempts, e.Elapsed.Round(100*time.Millisecond), e.Err)
}

// Unwrap returns the last failure.
func (e *RetryError) Unwrap() error { return e.Err }

// MaxErrorBody is how much of an error answer's body is read: its
// registry error codes and the start of its text.
const MaxErrorBody = 64 << 10

// CheckError is go-containerregistry's transport.CheckError with the body
// of an error answer cut at MaxErrorBody rather than refused: that one
// answers a longer body (an endless one, a big HTML page of a proxy) with
// "body exceeds 65536 byte limit" alone, losing the status (404 not found,
// 401 refused) that the message and the exit code come from.
func CheckError(resp *http.Response, codes ...int) error {
	if slices.Contains(codes, resp.StatusCode) {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	if err != nil {
		return err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return ggcr.CheckError(resp)
}
