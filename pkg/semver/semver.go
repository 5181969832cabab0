// Package semver parses and orders versions per Semantic Versioning 2.0.0
// (https://semver.org), as image tags spell them.
//
// Grammar, with the optional "v" prefix that tags often carry:
//
//	version    = ["v"] major "." minor "." patch ["-" prerelease] ["+" build]
//	major etc. = "0" | [1-9][0-9]*
//	prerelease = ident *("." ident)   ; numeric idents have no leading zero
//	build      = alnum *("." alnum)   ; [0-9A-Za-z-]+, leading zeros allowed
//
// Precedence follows semver 2.0 §11: major, minor and patch compare
// numerically; a pre-release is lower than its release; pre-release
// identifiers compare left to right, numeric ones numerically and below
// alphanumeric ones, which compare in ASCII order; a shorter list of equal
// identifiers is lower. Build metadata and the "v" prefix do not count.
//
// A "+" cannot appear in an image tag, so tags spell build metadata with "_"
// instead (the convention Helm uses for OCI tags): Tag turns "+" into "_" and
// ParseTag reads it back.
//
// ParseRange reads version ranges (">=2.1 <3", "~2.1", "^2"); see Range.
package semver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is wrapped by every error Parse returns.
var ErrInvalid = errors.New("invalid semantic version")

// Version is a parsed semantic version.
type Version struct {
	Prefix              string   // "v" when the version was written with one, else ""
	Major, Minor, Patch uint64   // the numeric core
	Pre                 []string // pre-release identifiers, nil for a release
	Build               []string // build metadata identifiers, nil when absent
}

// Parse reads s as a semantic version, optionally prefixed with "v" (not
// "V"). Errors wrap ErrInvalid and say what is wrong.
func Parse(s string) (Version, error) {
	var v Version
	rest := s
	if strings.HasPrefix(rest, "v") {
		v.Prefix, rest = "v", rest[1:]
	}
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		ids, err := identifiers(rest[i+1:], "build metadata", false)
		if err != nil {
			return Version{}, invalid(s, err)
		}
		v.Build, rest = ids, rest[:i]
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		ids, err := identifiers(rest[i+1:], "pre-release", true)
		if err != nil {
			return Version{}, invalid(s, err)
		}
		v.Pre, rest = ids, rest[:i]
	}
	core := strings.Split(rest, ".")
	if len(core) != 3 {
		return Version{}, invalid(s, errors.New("want MAJOR.MINOR.PATCH"))
	}
	for i, p := range []*uint64{&v.Major, &v.Minor, &v.Patch} {
		n, err := number(core[i])
		if err != nil {
			return Version{}, invalid(s, fmt.Errorf("%s %w", [...]string{"major", "minor", "patch"}[i], err))
		}
		*p = n
	}
	return v, nil
}

// ParseTag reads an image tag as a version: like Parse, with "_" standing
// for the "+" that tags cannot hold.
func ParseTag(tag string) (Version, error) {
	return Parse(strings.ReplaceAll(tag, "_", "+"))
}

func invalid(s string, err error) error {
	return fmt.Errorf("%w %q: %w", ErrInvalid, s, err)
}

// number parses a numeric version component: digits, no leading zero.
func number(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("is empty")
	}
	if !allDigits(s) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("%q has a leading zero", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n, nil
}

// identifiers splits a dot-separated pre-release or build list and checks
// each identifier; pre-release numeric identifiers may not have leading zeros.
func identifiers(s, what string, pre bool) ([]string, error) {
	ids := strings.Split(s, ".")
	for _, id := range ids {
		if id == "" {
			return nil, fmt.Errorf("%s has an empty identifier", what)
		}
		for i := 0; i < len(id); i++ {
			if c := id[i]; !(c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				return nil, fmt.Errorf("%s identifier %q has %q: only [0-9A-Za-z-] are allowed", what, id, c)
			}
		}
		if pre && len(id) > 1 && id[0] == '0' && allDigits(id) {
			return nil, fmt.Errorf("%s identifier %q has a leading zero", what, id)
		}
	}
	return ids, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// IsPrerelease reports whether v has pre-release identifiers.
func (v Version) IsPrerelease() bool { return len(v.Pre) > 0 }

// String returns v as written: prefix, core, "-pre" and "+build".
func (v Version) String() string {
	s := fmt.Sprintf("%s%d.%d.%d", v.Prefix, v.Major, v.Minor, v.Patch)
	if len(v.Pre) > 0 {
		s += "-" + strings.Join(v.Pre, ".")
	}
	if len(v.Build) > 0 {
		s += "+" + strings.Join(v.Build, ".")
	}
	return s
}

// Tag returns v spelled as an image tag: String with "+" written as "_".
func (v Version) Tag() string { return strings.ReplaceAll(v.String(), "+", "_") }

// MinorTag is the moving tag of v's minor line, e.g. "v2.1".
func (v Version) MinorTag() string { return fmt.Sprintf("%s%d.%d", v.Prefix, v.Major, v.Minor) }

// MajorTag is the moving tag of v's major line, e.g. "v2".
func (v Version) MajorTag() string { return fmt.Sprintf("%s%d", v.Prefix, v.Major) }

// Compare returns -1, 0 or +1 as a has lower, equal or higher precedence
// than b. The prefix and build metadata are ignored.
func Compare(a, b Version) int {
	for _, d := range [...][2]uint64{{a.Major, b.Major}, {a.Minor, b.Minor}, {a.Patch, b.Patch}} {
		if d[0] != d[1] {
			return cmpUint(d[0], d[1])
		}
	}
	switch {
	case len(a.Pre) == 0 && len(b.Pre) == 0:
		return 0
	case len(a.Pre) == 0:
		return 1
	case len(b.Pre) == 0:
		return -1
	}
	for i := 0; i < len(a.Pre) && i < len(b.Pre); i++ {
		if c := compareIdent(a.Pre[i], b.Pre[i]); c != 0 {
			return c
		}
	}
	return cmpUint(uint64(len(a.Pre)), uint64(len(b.Pre)))
}

// compareIdent orders two pre-release identifiers: numeric ones numerically
// and below alphanumeric ones, which compare in ASCII order.
func compareIdent(a, b string) int {
	an, bn := allDigits(a), allDigits(b)
	switch {
	case an && bn:
		// No leading zeros, so the longer number is the larger one; this
		// also orders numbers beyond uint64 correctly.
		if len(a) != len(b) {
			return cmpUint(uint64(len(a)), uint64(len(b)))
		}
		return strings.Compare(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
