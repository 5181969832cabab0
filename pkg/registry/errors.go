package registry

import (
	"errors"
	"fmt"
	"net/http"

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
)

// AuthError is an authentication or authorization failure at Host.
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

// classify gives an error from go-containerregistry its sentinel: 401/403
// and DENIED/UNAUTHORIZED become *AuthError for host, 404 and the *_UNKNOWN
// codes become ErrNotFound. Other errors are returned as they are.
func classify(host string, err error) error {
	var te *transport.Error
	if err == nil || !errors.As(err, &te) {
		return err
	}
	switch te.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return &AuthError{Host: host, Err: err}
	case http.StatusNotFound:
		return notFoundError{err}
	}
	for _, d := range te.Errors {
		switch d.Code {
		case transport.UnauthorizedErrorCode, transport.DeniedErrorCode:
			return &AuthError{Host: host, Err: err}
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
			return notFoundError{err}
		}
	}
	return err
}
