package registry

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Sentinel errors; every error this package returns that is one of these
// kinds wraps the sentinel, and keeps *transport.Error reachable with
// errors.As for its status and registry error codes.
var (
	// ErrNotFound: the manifest, tag, blob or repository does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the registry refused the credentials (401/403).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrDeleteDisabled: the registry does not allow deletion.
	ErrDeleteDisabled = errors.New("deletion is disabled")
	// ErrMissingBlob: a blob a manifest lists is not on the registry (404,
	// BLOB_UNKNOWN): a broken or garbage-collected registry. What was
	// asked for exists, so it is not ErrNotFound: a failed read.
	ErrMissingBlob = errors.New("blob missing")
)

// DockerHub is Docker Hub as messages name it (see ctltransport.DockerHub).
const DockerHub = ctltransport.DockerHub

// AuthError is an authentication or authorization failure at Host (as
// shownHost names it: DockerHub for Docker Hub).
type AuthError struct {
	Host string
	Err  error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("%s: access denied by %s", e.Err, e.Host)
}

// Unwrap returns the underlying error and ErrUnauthorized.
func (e *AuthError) Unwrap() []error { return []error{e.Err, ErrUnauthorized} }

// notFoundError wraps err as ErrNotFound, keeping its text.
type notFoundError struct{ err error }

func (e notFoundError) Error() string   { return e.err.Error() }
func (e notFoundError) Unwrap() []error { return []error{e.err, ErrNotFound} }

// TagNotFoundError is a registry's "not found" answer for a manifest asked
// for by tag: Repository (HOST/NAME) lacks Tag, or does not exist. It is an
// ErrNotFound.
type TagNotFoundError struct {
	Repository, Tag string
	err             error
}

func (e *TagNotFoundError) Error() string   { return e.err.Error() }
func (e *TagNotFoundError) Unwrap() []error { return []error{e.err, ErrNotFound} }

// missingBlobError is an ErrNotFound answer to the GET of a blob a
// manifest lists, made an ErrMissingBlob instead, keeping its text.
type missingBlobError struct{ err error }

func (e missingBlobError) Error() string   { return e.err.Error() }
func (e missingBlobError) Unwrap() []error { return []error{e.err, ErrMissingBlob} }

// missingBlob makes the not-found answer to the GET of a listed blob an
// ErrMissingBlob (other errors stay as they are).
func missingBlob(err error) error {
	var nf notFoundError
	if !errors.As(err, &nf) {
		return err
	}
	return missingBlobError(nf)
}

// unreachableError names the registry a request never got an answer from.
type unreachableError struct {
	host string
	err  error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("registry %s unreachable: %v", e.host, e.err)
}

func (e *unreachableError) Unwrap() error { return e.err }

// unreachable reports a failure to reach the registry at all (refused or
// broken connection, unknown host, timeout) rather than an answer from it.
func unreachable(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) || errors.Is(err, ctltransport.ErrTimeout)
}

// classify gives an error from go-containerregistry its sentinel: 401/403
// and DENIED/UNAUTHORIZED become *AuthError for host, 404 and the *_UNKNOWN
// codes become ErrNotFound, and a registry that could not be reached is
// named ("registry HOST unreachable: ..."). Other errors are returned as
// they are, except that the URLs in every error's text are redacted. An
// error classified already is returned as it is, so wrapping layers may
// classify again.
func classify(host string, err error) error {
	var te *transport.Error
	if err == nil {
		return nil
	}
	var ae *AuthError
	var ue *unreachableError
	if errors.As(err, &ae) || errors.As(err, &ue) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrMissingBlob) {
		return err
	}
	raw := host
	host = ctltransport.ShownHost(host)
	err = redactError(err)
	if unreachable(err) {
		return &unreachableError{host: host, err: err}
	}
	if !errors.As(err, &te) {
		return err
	}
	switch te.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		if to := redirectedHost(te, raw); to != "" {
			// The storage the registry sent the request to (a presigned
			// URL expired, a mirror's redirect to another registry)
			// refused it: logging in to the registry would not help.
			return fmt.Errorf("%s redirected the request to %s, which refused it: %w", host, to, refusedText(te, err))
		}
		return &AuthError{Host: host, Err: refusedText(te, err)}
	case http.StatusNotFound:
		return notFound(host, te, err)
	}
	for _, d := range te.Errors {
		switch d.Code {
		case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
			return &AuthError{Host: host, Err: refusedText(te, err)}
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
			return notFound(host, te, err)
		}
	}
	return err
}

// redirectedHost is the host that answered te when the registry host
// redirected the request there (te answers a request made by a redirect,
// to another host), else "".
func redirectedHost(te *transport.Error, host string) string {
	r := te.Request
	if r == nil || r.Response == nil || r.URL == nil || strings.EqualFold(r.URL.Host, host) {
		return ""
	}
	return r.URL.Host
}

// about prefixes err with "doing WHAT: ", unless its text names what
// already (a registry's not-found answer names the reference, "HOST/NAME:TAG:
// manifest unknown"; ctl's keychain names the host), so that no message says
// it twice.
func about(doing, what string, err error) error {
	if strings.Contains(err.Error(), what) {
		return err
	}
	return fmt.Errorf("%s %s: %w", doing, what, err)
}

// notFound words a 404 or *_UNKNOWN answer about a manifest or about a
// repository's tags as what is missing, "HOST/NAME:TAG: manifest unknown" or
// "HOST/NAME: repository name not known to registry", with the registry's
// own message where it gave one. A HEAD has no body, so go-containerregistry
// could only say "unexpected status code 404 ... use GET for details"; its
// wording says so. Other answers keep their text. The result is ErrNotFound.
func notFound(host string, te *transport.Error, err error) error {
	if te.Request == nil || te.Request.URL == nil {
		return notFoundError{err}
	}
	what := ""
	if len(te.Errors) > 0 {
		what = te.Errors[0].Message
	}
	path := strings.TrimPrefix(te.Request.URL.Path, "/v2/")
	if repo, id, ok := strings.Cut(path, "/manifests/"); ok && repo != "" && id != "" && !strings.Contains(id, "/") {
		if what == "" {
			what = "manifest unknown"
			if te.Request.Method == http.MethodHead {
				what += " (HEAD answered 404 Not Found)"
			}
		}
		if strings.Contains(id, ":") {
			return notFoundError{&redactedError{err: err, text: fmt.Sprintf("%s/%s@%s: %s", host, repo, id, what)}}
		}
		return &TagNotFoundError{Repository: host + "/" + repo, Tag: id, err: &redactedError{err: err, text: fmt.Sprintf("%s/%s:%s: %s", host, repo, id, what)}}
	}
	if repo, ok := strings.CutSuffix(path, "/tags/list"); ok && repo != "" {
		if what == "" {
			what = "repository unknown"
		}
		return notFoundError{&redactedError{err: err, text: fmt.Sprintf("%s/%s: %s", host, repo, what)}}
	}
	return notFoundError{err}
}

// refusedText words a 401 or 403 answer without go-containerregistry's
// internals: the registry's codes and messages, without the Go dump of
// their detail ("[map[Action:pull Class: Name:gallery/ui ...]]"), or the
// status alone for a HEAD, which has no body (not "use GET for details").
func refusedText(te *transport.Error, err error) error {
	var parts []string
	for _, d := range te.Errors {
		parts = append(parts, strings.TrimSuffix(fmt.Sprintf("%s: %s", d.Code, d.Message), ": "))
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%d %s", te.StatusCode, http.StatusText(te.StatusCode)))
	}
	clean := strings.Join(parts, "; ")
	if te.Request != nil && te.Request.URL != nil {
		clean = te.Request.Method + " " + ctltransport.RedactText(te.Request.URL.String()) + ": " + clean
	}
	text := err.Error()
	if whole := ctltransport.RedactText(te.Error()); strings.Contains(text, whole) {
		text = strings.Replace(text, whole, clean, 1)
	} else {
		text = clean
	}
	return &redactedError{err: err, text: text}
}

// Failures whose fix the caller may name (ctl names its flags): the errors
// of this package that are one of them wrap it, without its text.
var (
	// ErrUntrusted: the registry's TLS certificate is not trusted.
	ErrUntrusted = errors.New("the registry's certificate is not trusted")
	// ErrNotTLS: the registry answered HTTPS with plain HTTP. Only hosts
	// that may not be reached over plain HTTP get it: for the others
	// go-containerregistry's ping tried plain HTTP too.
	ErrNotTLS = errors.New("the registry speaks plain HTTP, not HTTPS")
)

// redactedError shows an error with the query strings and user info of the
// URLs in its text redacted (Go's url.Error quotes a request's full URL,
// signed-URL signatures and upload state included); errors.Is and errors.As
// still see the original, and kind when set.
type redactedError struct {
	err  error
	text string
	kind error // ErrUntrusted, ErrNotTLS or nil
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.err, e.kind}
}

// redactError wraps err when its text holds something to redact, and marks
// a certificate that is not trusted (ErrUntrusted) and a registry that
// answers HTTPS with plain HTTP (ErrNotTLS), once however often an error is
// classified.
func redactError(err error) error {
	text := ctltransport.RedactText(err.Error())
	var kind error
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.Is(err, ErrUntrusted) || errors.Is(err, ErrNotTLS):
	case errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci):
		// go-containerregistry's ping also tried plain HTTP (loopback and
		// insecure hosts); a TLS server's answer to that is noise here.
		text, _, _ = strings.Cut(text, "; GET http://")
		text = strings.TrimSpace(text)
		kind = ErrUntrusted
	case ctltransport.NotTLS(err):
		kind = ErrNotTLS
	}
	if text != err.Error() || kind != nil {
		return &redactedError{err: err, text: text, kind: kind}
	}
	return err
}
