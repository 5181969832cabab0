package reference

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

const (
	// NameMaxLength is the maximum length of a repository path, counted
	// without the registry but with an implied "library/" prefix.
	NameMaxLength = 255

	// TagMaxLength is the maximum length of a tag.
	TagMaxLength = 128

	hubDomain        = "docker.io"
	legacyHubDomain  = "index.docker.io"
	hubAPIDomain     = "registry-1.docker.io"
	localhost        = "localhost"
	officialPrefix   = "library/"
	officialAccount  = "library"
	defaultTagString = "latest"
)

// Parse parses s as an image reference of the form
// [registry[:port]/]path[:tag][@digest], with the same grammar and
// normalisation as distribution/reference's ParseNormalizedNamed (see the
// package documentation). The tag and digest are optional; no default tag is
// added (use [Reference.DefaultedTag] or [Reference.Canonical] for that).
//
// Errors are of type [*Error] and match [ErrInvalid] under [errors.Is].
func Parse(s string) (Reference, error) {
	r, err := parse(s)
	if err != nil {
		return Reference{}, err
	}
	return r, nil
}

// ParseRepository parses s as a repository name: a reference with neither a
// tag nor a digest, such as "nginx" or "registry.local:5000/team/app". It
// fails with [ErrHasTagOrDigest] when s carries a tag or a digest.
func ParseRepository(s string) (Reference, error) {
	r, err := parse(s)
	if err != nil {
		return Reference{}, err
	}
	if r.tag != "" || r.digest != "" {
		return Reference{}, &Error{Input: s, Err: ErrHasTagOrDigest, Detail: ErrHasTagOrDigest.Error()}
	}
	return r, nil
}

// ValidTag reports whether tag is a valid tag: 1 to 128 characters from
// [A-Za-z0-9_.-], not starting with '.' or '-'.
func ValidTag(tag string) bool {
	if len(tag) == 0 || len(tag) > TagMaxLength || !isWord(tag[0]) {
		return false
	}
	for i := 1; i < len(tag); i++ {
		if c := tag[i]; !isWord(c) && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// validDigest reports whether d is a digest that go-digest's Parse accepts
// (with sha256, sha384 and sha512 available): the algorithm followed by ':'
// and exactly the right number of lowercase hexadecimal digits.
func validDigest(d string) bool {
	var n int
	switch {
	case strings.HasPrefix(d, "sha256:"):
		n = 64
	case strings.HasPrefix(d, "sha384:"):
		n = 96
	case strings.HasPrefix(d, "sha512:"):
		n = 128
	default:
		return false
	}
	if len(d) != len("sha256:")+n {
		return false
	}
	for i := len("sha256:"); i < len(d); i++ {
		if !isLowerHex(d[i]) {
			return false
		}
	}
	return true
}

func isLowerHex(c byte) bool   { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
func isLowerAlnum(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' }
func isUpper(c byte) bool      { return 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool      { return isLowerAlnum(c) || isUpper(c) }
func isWord(c byte) bool       { return isAlnum(c) || c == '_' }

// parseError builds the error for input s. It is only called on failure,
// so it may allocate freely.
func parseError(s string, sentinel error, format string, args ...any) *Error {
	return &Error{Input: s, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}

// charAt describes the character at byte offset i of s for error messages.
func charAt(s string, i int) string {
	r, _ := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError {
		return fmt.Sprintf("byte %#02x", s[i])
	}
	return fmt.Sprintf("character %q", r)
}

// parse is the single-pass parser behind Parse. It never allocates for a
// valid input: every string in the result is a substring of s or a constant.
func parse(s string) (Reference, *Error) {
	if s == "" {
		return Reference{}, parseError(s, ErrNameEmpty, "repository name is empty")
	}
	if len(s) == 64 && isAllLowerHex(s) {
		return Reference{}, parseError(s, ErrAmbiguousImageID, "64-hex name is ambiguous with an image ID")
	}
	if scheme, rest, ok := strings.Cut(s, "://"); ok && scheme != "" && !strings.Contains(scheme, "/") {
		// A URL pasted from a browser or a registry's UI: no valid
		// reference contains "://", so this costs valid input nothing.
		return Reference{}, parseError(s, ErrInvalid, "a reference has no URL scheme: drop %q and write %s", scheme+"://", rest)
	}

	var r Reference
	start := 0         // offset of the path in s
	registry1 := false // registry-1.docker.io, normalised to docker.io
	fallback := false  // registry-like first component rejected as a host; retry as path
	var domErr *Error  // why the first component is not a valid host (fallback only)
	slash := strings.IndexByte(s, '/')
	if slash < 0 {
		r.domain = hubDomain
	} else {
		first := s[:slash]
		switch first {
		case localhost:
			r.domain, start = first, slash+1
		case legacyHubDomain:
			r.domain, start = hubDomain, slash+1
		case hubAPIDomain:
			r.domain, start, registry1 = hubDomain, slash+1, true
		default:
			dotColon, colon, upper := classify(first)
			switch {
			case !dotColon && upper < 0:
				// An ordinary lowercase first path component: Docker Hub.
				r.domain = hubDomain
			default:
				if e := checkHostLength(s, slash); e != nil && dotColon {
					return Reference{}, e
				}
				if e := checkHost(s, slash); e == nil {
					r.domain, start = first, slash+1
				} else if upper < 0 && !colon {
					// distribution's regexp then matches the whole name as a
					// path with no domain at all, e.g. "a_b.c/d".
					fallback, domErr = true, e
				} else if !dotColon {
					// Only considered a host because of the uppercase letter.
					return Reference{}, parseError(s, ErrNotLowercase, "repository name must be lowercase")
				} else {
					return Reference{}, e
				}
			}
		}
	}

	// Path: components of [a-z0-9]+ joined by '.', '_', '__' or '-'+,
	// separated by '/'. States: 0 start of component, 1 alphanumeric,
	// 2 after '.', 3 after '_', 4 after '__', 5 after '-'.
	state := 0
	slashes, firstSlash := 0, -1
	i := start
loop:
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case isLowerAlnum(c):
			state = 1
			continue
		case c == '.':
			if state == 1 {
				state = 2
				continue
			}
		case c == '_':
			if state == 1 {
				state = 3
				continue
			}
			if state == 3 {
				state = 4
				continue
			}
		case c == '-':
			if state == 1 || state == 5 {
				state = 5
				continue
			}
		case c == '/':
			if state == 1 {
				if slashes == 0 {
					firstSlash = i
				}
				slashes++
				state = 0
				continue
			}
		case c == ':' || c == '@':
			break loop
		}
		// c is not acceptable here.
		if fallback && i <= slash {
			return Reference{}, domErr
		}
		return Reference{}, pathCharError(s, i, state)
	}
	if state != 1 {
		if fallback && i <= slash {
			return Reference{}, domErr
		}
		return Reference{}, pathEndError(s, start, i, state)
	}
	path := s[start:i]

	// Length, counted as distribution does: with the "library/" it adds.
	nameLen := len(path)
	if r.domain == hubDomain && !fallback {
		if slashes == 0 {
			r.library = true
			if !registry1 {
				nameLen += len(officialPrefix)
			}
		} else if slashes == 1 && firstSlash-start == len(officialAccount) && strings.HasPrefix(path, officialPrefix) {
			// Store "docker.io/library/x" like "x" so that == compares.
			r.library = true
			path = path[len(officialPrefix):]
		}
	}
	if nameLen > NameMaxLength {
		return Reference{}, parseError(s, ErrNameTooLong, "repository name is longer than %d characters (%d)", NameMaxLength, nameLen)
	}
	r.path = path

	if i < len(s) && s[i] == ':' {
		j := i + 1
		for ; j < len(s) && s[j] != '@'; j++ {
			c := s[j]
			if isWord(c) || (j > i+1 && (c == '.' || c == '-')) {
				continue
			}
			return Reference{}, parseError(s, ErrInvalidTag, "invalid %s at position %d in tag", charAt(s, j), j+1)
		}
		tag := s[i+1 : j]
		switch {
		case tag == "":
			return Reference{}, parseError(s, ErrInvalidTag, "empty tag after ':' at position %d", i+1)
		case len(tag) > TagMaxLength:
			return Reference{}, parseError(s, ErrTagTooLong, "tag %q is longer than %d characters", tag, TagMaxLength)
		}
		r.tag = tag
		i = j
	}
	if i < len(s) { // s[i] == '@'
		d := s[i+1:]
		if !validDigest(d) {
			return Reference{}, parseError(s, ErrInvalidDigest, "%q is not a valid digest", d)
		}
		r.digest = d
	}
	if fallback {
		r.domain = ""
	}
	return r, nil
}

func isAllLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

// classify reports whether first contains '.' or ':', whether it contains
// ':', and the offset of its first ASCII uppercase letter (-1 if none).
// distribution treats a first component as a registry host when it
// contains '.' or ':' or is not lowercase.
func classify(first string) (dotColon, colon bool, upper int) {
	upper = -1
	nonASCII := -1
	for i := 0; i < len(first); i++ {
		switch c := first[i]; {
		case c == '.':
			dotColon = true
		case c == ':':
			dotColon, colon = true, true
		case isUpper(c):
			if upper < 0 {
				upper = i
			}
		case c >= utf8.RuneSelf:
			if nonASCII < 0 {
				nonASCII = i
			}
		}
	}
	// strings.ToLower changes non-ASCII uppercase letters and invalid
	// UTF-8; either way the host check fails later, so the exact position
	// does not matter.
	if upper < 0 && nonASCII >= 0 && strings.ToLower(first) != first {
		upper = nonASCII
	}
	return dotColon, colon, upper
}

// checkHost validates s[:end] as host[:port], where host is a domain name
// (components of [A-Za-z0-9] and inner '-', separated by '.') or an IPv6
// address in brackets ([0-9A-Fa-f:]+), and port is [0-9]+.
func checkHost(s string, end int) *Error {
	host := s[:end]
	i := 0
	if s[0] == '[' {
		i = 1
		for i < end && (isLowerHex(s[i]) || 'A' <= s[i] && s[i] <= 'F' || s[i] == ':') {
			i++
		}
		if i == 1 || i == end || s[i] != ']' {
			if i < end {
				return parseError(s, ErrInvalid, "invalid %s at position %d in IPv6 registry host %q", charAt(s, i), i+1, host)
			}
			return parseError(s, ErrInvalid, "unterminated IPv6 registry host %q", host)
		}
		i++
	} else {
		// States: 0 start of component, 1 alphanumeric, 2 after '-'.
		state := 0
	host:
		for ; i < end; i++ {
			c := s[i]
			switch {
			case isAlnum(c):
				state = 1
				continue
			case c == '-':
				if state != 0 {
					state = 2
					continue
				}
			case c == '.':
				if state == 1 {
					state = 0
					continue
				}
			case c == ':':
				if state == 1 {
					break host
				}
			}
			return parseError(s, ErrInvalid, "invalid %s at position %d in registry host %q", charAt(s, i), i+1, host)
		}
		if state != 1 {
			return parseError(s, ErrInvalid, "registry host %q must end with a letter or digit", host)
		}
	}
	if i == end {
		return nil
	}
	if s[i] != ':' {
		return parseError(s, ErrInvalid, "invalid %s at position %d in registry host %q", charAt(s, i), i+1, host)
	}
	p := i + 1
	if p == end {
		return parseError(s, ErrInvalid, "empty port in registry host %q", host)
	}
	for ; p < end; p++ {
		if c := s[p]; c < '0' || c > '9' {
			return parseError(s, ErrInvalid, "invalid %s at position %d in port of registry host %q", charAt(s, p), p+1, host)
		}
	}
	return nil
}

// Limits of a domain name (RFC 1035 as DNS applies them).
const (
	maxHostLength  = 253
	maxLabelLength = 63
)

// checkHostLength refuses a domain name s[:end] (its port aside) longer than
// DNS allows, which would otherwise fail only later (as a file name too
// long for certs.d, or at the resolver). The message gives lengths, never
// the name itself.
func checkHostLength(s string, end int) *Error {
	host := s[:end]
	if strings.HasPrefix(host, "[") {
		return nil // IPv6
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	if len(host) > maxHostLength {
		return parseError(s, ErrInvalid, "registry host has %d characters, more than %d", len(host), maxHostLength)
	}
	start := 0
	for i := 0; i <= len(host); i++ {
		if i == len(host) || host[i] == '.' {
			if i-start > maxLabelLength {
				return parseError(s, ErrInvalid, "a label of the registry host (at position %d) has %d characters, more than %d", start+1, i-start, maxLabelLength)
			}
			start = i + 1
		}
	}
	return nil
}

// pathCharError explains why s[i] is not acceptable in the path after a
// character that left the scanner in state.
func pathCharError(s string, i, state int) *Error {
	c := s[i]
	switch {
	case isUpper(c):
		return parseError(s, ErrNotLowercase, "repository name must be lowercase")
	case c == '/' && state == 0:
		return parseError(s, ErrInvalid, "empty path component at position %d", i+1)
	case c == '/':
		return parseError(s, ErrInvalid, "path component ends with %q at position %d; it must end with a lowercase letter or digit", s[i-1], i)
	case (c == '.' || c == '_' || c == '-') && state == 0:
		return parseError(s, ErrInvalid, "path component starts with %q at position %d; it must start with a lowercase letter or digit", c, i+1)
	case c == '.' || c == '_' || c == '-':
		return parseError(s, ErrInvalid, "invalid separator %q at position %d (use one '.', one or two '_', or any number of '-')", sepRun(s, i), i+1)
	}
	return parseError(s, ErrInvalid, "invalid %s at position %d in repository name", charAt(s, i), i+1)
}

// sepRun returns the run of separator characters around s[i].
func sepRun(s string, i int) string {
	a, b := i, i+1
	for a > 0 && strings.IndexByte("._-", s[a-1]) >= 0 {
		a--
	}
	for b < len(s) && strings.IndexByte("._-", s[b]) >= 0 {
		b++
	}
	return s[a:b]
}

// pathEndError explains a path s[start:end] that does not end in state 1.
func pathEndError(s string, start, end, state int) *Error {
	switch {
	case end == start:
		return parseError(s, ErrNameEmpty, "repository name is empty")
	case state == 0:
		return parseError(s, ErrInvalid, "repository name ends with '/'")
	}
	return parseError(s, ErrInvalid, "path component ends with %q at position %d; it must end with a lowercase letter or digit", s[end-1], end)
}

// LooksLikeHost reports whether first, the first "/"-separated component
// of a reference, is its registry by docker's rule: "localhost", or a "."
// a ":" or an uppercase letter in it (see Normalisation). It says nothing
// of whether first is a valid host.
func LooksLikeHost(first string) bool {
	dotColon, _, upper := classify(first)
	return first == localhost || dotColon || upper >= 0
}

// NamesRegistry reports whether the reference s, as written, begins with
// its registry ("localhost:5000/app", "ghcr.io/o/app"), not a Docker Hub
// name ("app:v1", "diamol/golang").
func NamesRegistry(s string) bool {
	first, _, ok := strings.Cut(s, "/")
	return ok && LooksLikeHost(first)
}
