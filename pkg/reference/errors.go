package reference

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors. Every error returned by [Parse], [ParseRepository],
// [Reference.WithTag] and [Reference.WithDigest] is an [*Error] that matches
// [ErrInvalid] and, where one applies, exactly one of the more specific
// sentinels below under [errors.Is].
var (
	// ErrInvalid is the umbrella error: every parse error wraps it.
	ErrInvalid = errors.New("invalid reference")

	// ErrNotLowercase reports an uppercase letter in the repository path.
	// Only the registry host may contain uppercase letters.
	ErrNotLowercase = errors.New("repository name must be lowercase")

	// ErrNameTooLong reports a repository path longer than [NameMaxLength]
	// characters, counted the way distribution/reference counts it: the
	// normalised path without the registry, including an implied "library/".
	ErrNameTooLong = errors.New("repository name is longer than 255 characters")

	// ErrTagTooLong reports a tag longer than [TagMaxLength] characters.
	ErrTagTooLong = errors.New("tag is longer than 128 characters")

	// ErrInvalidTag reports a malformed tag: empty, starting with '.' or '-',
	// or containing a character outside [A-Za-z0-9_.-].
	ErrInvalidTag = errors.New("invalid tag")

	// ErrInvalidDigest reports a malformed or unsupported digest. Accepted
	// digests are "sha256:" followed by 64, "sha384:" by 96 and "sha512:" by
	// 128 lowercase hexadecimal digits, as go-digest requires.
	ErrInvalidDigest = errors.New("invalid digest")

	// ErrAmbiguousImageID reports a reference that is exactly 64 lowercase
	// hexadecimal digits, which docker reserves for image IDs.
	ErrAmbiguousImageID = errors.New("64-hex name is ambiguous with an image ID")

	// ErrNameEmpty reports an empty reference or an empty repository name.
	ErrNameEmpty = errors.New("repository name is empty")

	// ErrHasTagOrDigest is returned by [ParseRepository] when the input
	// carries a tag or a digest.
	ErrHasTagOrDigest = errors.New("repository name must not have a tag or digest")
)

// Error is the error type returned for an invalid reference. Its message
// has the form
//
//	invalid reference "INPUT": DETAIL
//
// and it wraps [ErrInvalid] and, when one applies, a more specific sentinel
// such as [ErrNotLowercase], so callers can test it with [errors.Is].
type Error struct {
	// Input is the string that was rejected, as given.
	Input string
	// Detail says what is wrong and, where practical, where
	// (1-based byte positions into Input).
	Detail string
	// Err is the specific sentinel error, or ErrInvalid when no more
	// specific sentinel applies.
	Err error
}

// Error implements the error interface.
func (e *Error) Error() string {
	return "invalid reference " + quoteInput(e.Input) + ": " + e.Detail
}

// maxQuotedInput is how much of the input an error message quotes.
const maxQuotedInput = 512

// quoteInput quotes s for a message, cut after maxQuotedInput bytes (with
// its length) when longer.
func quoteInput(s string) string {
	if len(s) <= maxQuotedInput {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s (%d characters)", strconv.Quote(strings.ToValidUTF8(s[:maxQuotedInput], "")+"..."), len(s))
}

// Unwrap returns ErrInvalid and the specific sentinel, so that
// errors.Is(err, ErrInvalid) holds for every *Error.
func (e *Error) Unwrap() []error {
	if e.Err == nil || e.Err == ErrInvalid {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.Err}
}
