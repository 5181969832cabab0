package cmd

import (
	"errors"
	"strconv"
	"strings"
	"unicode"

	"github.com/ctl-dev/ctl/pkg/auth"
	"github.com/ctl-dev/ctl/pkg/bounded"
	"github.com/ctl-dev/ctl/pkg/engine"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
)

// Exit codes, as the product contract fixes them.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2 // bad flag, invalid reference, unreadable input
	exitNotFound = 3 // manifest, tag, repository or local image
	exitAuth     = 4 // authentication or authorization refused
)

// usageError marks an error as the user's to fix in the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// invalidInput marks an error in what the user gave (a file that cannot be
// read, a value out of range) that should end with exit code 2.
func invalidInput(err error) error { return usageError{err} }

// hinted adds a next step to an error: exitCode maps err as usual and
// prints hint below it.
type hinted struct {
	err  error
	hint string
}

func (e hinted) Error() string { return e.err.Error() }
func (e hinted) Unwrap() error { return e.err }

// exitCode is the one place that maps an error to ctl's exit code and, where
// there is a next step to suggest, a hint line.
func exitCode(err error) (int, string) {
	var ue usageError
	var ae *registry.AuthError
	var be *bounded.Error
	var h hinted
	switch {
	case errors.As(err, &h):
		code, _ := exitCode(h.err)
		return code, h.hint
	case errors.Is(err, engine.ErrNotFound):
		return exitNotFound, ""
	case errors.Is(err, engine.ErrUnreachable):
		return exitFailure, engineHint
	case errors.Is(err, engine.ErrEngine):
		// Before the invalid-input cases: what an engine sends is not the
		// user's to fix.
		return exitFailure, ""
	case errors.As(err, &ue),
		errors.As(err, &be),
		errors.Is(err, reference.ErrInvalid),
		errors.Is(err, store.ErrInvalidInput),
		errors.Is(err, auth.ErrConfig):
		return exitUsage, ""
	case errors.As(err, &ae):
		return exitAuth, "run: ctl login " + ae.Host
	case errors.Is(err, auth.ErrBadCredentials),
		errors.Is(err, registry.ErrUnauthorized):
		return exitAuth, ""
	case errors.Is(err, registry.ErrNotFound),
		errors.Is(err, store.ErrNotFound):
		return exitNotFound, ""
	}
	return exitFailure, ""
}

// escapeControl makes server-supplied text safe to print: control characters
// other than newline and tab are shown as escapes, never sent to a terminal.
func escapeControl(s string) string {
	if strings.IndexFunc(s, isUnsafe) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isUnsafe(r) {
			b.WriteString(strings.Trim(strconv.QuoteRune(r), "'"))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isUnsafe(r rune) bool { return r != '\n' && r != '\t' && unicode.IsControl(r) }
