package dockerfile

import (
	"errors"
	"fmt"
	"strings"
)

// Expand substitutes variables in word as BuildKit's shell lexer does for
// FROM and ARG: $NAME, ${NAME}, ${NAME:-word}, ${NAME-word}, ${NAME:+word},
// ${NAME+word}, ${NAME:?message}, ${NAME?message}; single quotes are
// literal, double quotes allow substitution, and escape (\ or `) makes the
// next character literal. lookup returns a variable's value and whether it
// is set. A result longer than MaxExpansion is an error: ARGs that double
// one another would otherwise grow without end.
func Expand(word string, escape byte, lookup func(string) (string, bool)) (string, error) {
	x := expander{s: word, escape: escape, lookup: lookup}
	out, err := x.until(0)
	if err != nil {
		return "", err
	}
	if x.i < len(x.s) {
		return "", fmt.Errorf("unexpected %q in %q", x.s[x.i], word)
	}
	if len(out) > MaxExpansion {
		return "", errTooLong
	}
	return out, nil
}

// MaxExpansion is the longest value Expand produces; an image reference is
// at most a few hundred bytes.
const MaxExpansion = 1 << 20

// errTooLong is Expand's error for a result over MaxExpansion.
var errTooLong = fmt.Errorf("substitution expands to more than the limit of %d MiB", MaxExpansion>>20)

type expander struct {
	s      string
	i      int
	escape byte
	lookup func(string) (string, bool)
}

// until expands up to (not including) the byte stop, or the end when stop
// is 0.
func (x *expander) until(stop byte) (string, error) {
	var b strings.Builder
	for x.i < len(x.s) {
		if b.Len() > MaxExpansion {
			return "", errTooLong
		}
		c := x.s[x.i]
		switch {
		case stop != 0 && c == stop:
			return b.String(), nil
		case c == x.escape:
			x.i++
			if x.i < len(x.s) {
				b.WriteByte(x.s[x.i])
				x.i++
			}
		case c == '\'':
			end := strings.IndexByte(x.s[x.i+1:], '\'')
			if end < 0 {
				return "", errors.New("unexpected end of statement while looking for matching single-quote")
			}
			b.WriteString(x.s[x.i+1 : x.i+1+end])
			x.i += end + 2
		case c == '"':
			v, err := x.doubleQuoted()
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		case c == '$':
			v, err := x.dollar()
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		default:
			b.WriteByte(c)
			x.i++
		}
	}
	if stop != 0 {
		return "", fmt.Errorf("missing '%c' in %q", stop, x.s)
	}
	return b.String(), nil
}

func (x *expander) doubleQuoted() (string, error) {
	var b strings.Builder
	x.i++ // the opening quote
	for x.i < len(x.s) {
		if b.Len() > MaxExpansion {
			return "", errTooLong
		}
		c := x.s[x.i]
		switch {
		case c == '"':
			x.i++
			return b.String(), nil
		case c == '$':
			v, err := x.dollar()
			if err != nil {
				return "", err
			}
			b.WriteString(v)
		case c == x.escape:
			x.i++
			if x.i >= len(x.s) {
				continue
			}
			if n := x.s[x.i]; n != '"' && n != '$' && n != x.escape {
				b.WriteByte(c) // other escapes are kept as they are
			}
			b.WriteByte(x.s[x.i])
			x.i++
		default:
			b.WriteByte(c)
			x.i++
		}
	}
	return "", errors.New("unexpected end of statement while looking for matching double-quote")
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && '0' <= c && c <= '9'
}

func (x *expander) name() string {
	start := x.i
	for x.i < len(x.s) && isNameByte(x.s[x.i], x.i == start) {
		x.i++
	}
	return x.s[start:x.i]
}

// dollar expands the substitution at x.s[x.i] == '$'.
func (x *expander) dollar() (string, error) {
	x.i++
	if x.i >= len(x.s) || x.s[x.i] != '{' {
		n := x.name()
		if n == "" {
			return "$", nil
		}
		v, _ := x.lookup(n)
		return v, nil
	}
	x.i++ // '{'
	n := x.name()
	if n == "" {
		return "", fmt.Errorf("bad substitution in %q: missing variable name", x.s)
	}
	if x.i >= len(x.s) {
		return "", fmt.Errorf("missing '}' in %q", x.s)
	}
	if x.s[x.i] == '}' {
		x.i++
		v, _ := x.lookup(n)
		return v, nil
	}
	colon := x.s[x.i] == ':'
	if colon {
		x.i++
	}
	if x.i >= len(x.s) {
		return "", fmt.Errorf("missing '}' in %q", x.s)
	}
	mod := x.s[x.i]
	if mod != '-' && mod != '+' && mod != '?' {
		return "", fmt.Errorf("unsupported modifier (%c) in substitution %q", mod, x.s)
	}
	x.i++
	word, err := x.until('}')
	if err != nil {
		return "", err
	}
	x.i++ // '}'
	v, set := x.lookup(n)
	// With the colon, an empty value counts as unset.
	present := set && (!colon || v != "")
	switch mod {
	case '-':
		if !present {
			return word, nil
		}
		return v, nil
	case '+':
		if present {
			return word, nil
		}
		return "", nil
	}
	if !present {
		if word == "" {
			word = "is not allowed to be unset"
		}
		return "", fmt.Errorf("%s: %s", n, word)
	}
	return v, nil
}
