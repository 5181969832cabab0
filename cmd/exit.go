package cmd

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ctl-dev/ctl/pkg/auth"
	"github.com/ctl-dev/ctl/pkg/bounded"
	"github.com/ctl-dev/ctl/pkg/engine"
	"github.com/ctl-dev/ctl/pkg/golden"
	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/ctl-dev/ctl/pkg/syncplan"
	"github.com/ctl-dev/ctl/pkg/transfer"
	"github.com/spf13/cobra"
)

// Exit codes, as the product contract fixes them.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2 // bad flag, invalid reference, unreadable input
	exitNotFound = 3 // manifest, tag, repository or local image
	exitAuth     = 4 // authentication or authorization refused
	exitLimited  = 5 // stopped before the end by a registry's rate limit (sync)
)

// ExitInterrupted is the exit code of a command ended by SIGINT or SIGTERM,
// as shells report a process killed by SIGINT (128+2).
const ExitInterrupted = 130

// InterruptGrace is how long an interrupted command has to wind down before
// main ends the process anyway: Ctrl-C ends any command within a second.
const InterruptGrace = 600 * time.Millisecond

// annotationInterrupted is the cobra annotation of a command that says what
// an interruption leaves undone ("nothing was loaded"), for commands whose
// effect is all or nothing; see interruptedLeaves.
const annotationInterrupted = "interrupted"

// interruptedLeaves records, for a command whose run is all or nothing,
// what an interruption leaves undone.
func interruptedLeaves(c *cobra.Command, undone string) {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[annotationInterrupted] = undone
}

// interruptedMessage is the one line printed when c was interrupted.
func interruptedMessage(c *cobra.Command) string {
	if c != nil && c.Annotations[annotationInterrupted] != "" {
		return "interrupted: " + c.Annotations[annotationInterrupted]
	}
	return "interrupted"
}

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
	var tnf *registry.TagNotFoundError
	var h hinted
	switch {
	case errors.As(err, &h):
		code, _ := exitCode(h.err)
		return code, h.hint
	case errors.Is(err, syncplan.ErrRateLimited):
		return exitLimited, ""
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
		errors.Is(err, platform.ErrInvalid),
		errors.Is(err, auth.ErrConfig),
		errors.Is(err, syncplan.ErrInvalidPlan),
		errors.Is(err, syncplan.ErrNotYet):
		return exitUsage, ""
	case errors.As(err, &ae):
		return exitAuth, "run: ctl login " + ae.Host
	case errors.Is(err, auth.ErrBadCredentials),
		errors.Is(err, registry.ErrUnauthorized):
		return exitAuth, ""
	case errors.As(err, &tnf):
		return exitNotFound, "run: ctl tags list " + tnf.Repository + " (to see the tags it has)"
	case errors.Is(err, registry.ErrNotFound),
		errors.Is(err, store.ErrNotFound),
		errors.Is(err, platform.ErrNotFound):
		return exitNotFound, ""
	}
	return exitFailure, ""
}

// errorText is err's message as ctl prints it. pkg/ words its errors
// without ctl's flags; here, the one place that names them, failures with a
// fix on the command line get it, where pkg/ reports the failure.
func errorText(err error) string {
	msg := err.Error()
	// after puts hint right after the text of what (an error in err's
	// chain) in msg, or at its end if that text is not found.
	after := func(what error, hint string) {
		if t := what.Error(); strings.Contains(msg, t) {
			msg = strings.Replace(msg, t, t+hint, 1)
			return
		}
		msg += hint
	}
	// reword replaces the text of what with text.
	reword := func(what error, text string) {
		msg = strings.Replace(msg, what.Error(), text, 1)
	}
	var (
		plain  *transport.PlainHTTPError
		shared *registry.SharedManifestError
		dir    *store.DirError
		prefix *golden.PrefixError
		notag  *transfer.EngineTagError
		plat   *store.PlatformError
	)
	if errors.Is(err, registry.ErrUntrusted) {
		host := requestHost(err, "HOST[:PORT]")
		msg += " (the registry's certificate is not trusted: add its CA with --ca-file or to docker's certs.d/" + host + "/ca.crt; or, to use it unverified, name it with --insecure-registry " + host + ")"
	}
	if errors.Is(err, registry.ErrNotTLS) {
		msg += " (the registry speaks plain HTTP, not HTTPS: if the network to it is trusted, name it with --insecure-registry " + requestHost(err, "HOST[:PORT]") + ")"
	}
	if errors.As(err, &plain) {
		after(plain, ": only localhost, 127.0.0.0/8, ::1 and registries given with --insecure-registry are reached without TLS")
	}
	if errors.As(err, &shared) {
		after(shared, " (use --force to delete them all)")
	}
	if errors.Is(err, registry.ErrOtherRepository) {
		after(registry.ErrOtherRepository, " (copy it there first: ctl copy)")
	}
	if errors.As(err, &dir) {
		if dir.Dir == "" {
			after(dir, " (set CTL_STORE or use --store)")
		} else {
			after(dir, fmt.Sprintf(" (is %s writable? choose another with --store)", dir.Dir))
		}
	}
	if errors.As(err, &prefix) {
		if prefix.Prefix == "" {
			reword(prefix, prefix.Err.Error()+": empty --allow prefix")
		} else {
			reword(prefix, fmt.Sprintf("--allow %q: %v", prefix.Prefix, prefix.Err))
		}
	}
	if errors.As(err, &plat) {
		switch {
		case plat.Second == "" && plat.Index != "":
			// --platform names a source: the image must be one, not its index.
			after(plat, ": name it as a SOURCE of its own instead of "+plat.Index+", with --platform "+plat.First+"=OS/ARCH[/VARIANT]")
		case plat.Second == "":
			after(plat, ": give it with --platform "+plat.First+"=OS/ARCH[/VARIANT]")
		default:
			after(plat, " (give --replace to keep the later one)")
		}
	}
	if errors.As(err, &notag) {
		reword(notag, notag.Ref+": push --from-engine takes a tag (the engine's images are named by tag)")
	}
	return msg
}

// requestHost is the HOST[:PORT] of the request that err failed (Go's
// url.Error names it), as --insecure-registry and certs.d take it, else
// def.
func requestHost(err error, def string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			return u.Host
		}
	}
	return def
}

// reasonText is the reason a command gives for leaving something as it
// was, with the flag that would change it.
func reasonText(reason string) string {
	if reason == golden.ReasonPinned {
		return reason + " (--update re-resolves)"
	}
	return reason
}

// escapeControl makes server-supplied text safe to print on one line:
// control characters, newline and tab included, are shown as escapes
// (\x1b, \n), never sent to a terminal, so a tag or name can neither drive
// it nor pass for two lines of output. So are the invisible format
// characters (bidi overrides such as U+202E, zero-width ones) and Unicode's
// line and paragraph separators, which would reorder or hide what is shown.
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

func isUnsafe(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// maxMessageLine caps each line of an error message: server-supplied text
// (a 4 MiB WWW-Authenticate realm, an error body) never floods stderr.
const maxMessageLine = 1024

// messageLines splits an error message into its lines, each escaped and cut
// to maxMessageLine bytes (saying how much was cut).
func messageLines(msg string) []string {
	// A message that ends with a line break (another program's stderr
	// quoted, ssh's "...refused\r\n") prints no empty "Error:" line.
	lines := strings.Split(strings.TrimRight(msg, " \t\r\n"), "\n")
	for i, l := range lines {
		l = escapeControl(l)
		if len(l) > maxMessageLine {
			cut := maxMessageLine
			for cut > 0 && !utf8.RuneStart(l[cut]) {
				cut--
			}
			l = fmt.Sprintf("%s... (%d more bytes)", l[:cut], len(l)-cut)
		}
		lines[i] = l
	}
	return lines
}
