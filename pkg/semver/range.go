package semver

import (
	"fmt"
	"math"
	"strings"
)

// Range is a set of versions, written as npm and Cargo write them:
//
//	range      = set *("||" set)          ; any of the sets
//	set        = comparator *(" " comparator) ; all of the comparators
//	           | partial " - " partial    ; a hyphen range, inclusive
//	comparator = [op] partial
//	op         = "=" | ">" | ">=" | "<" | "<=" | "~" | "^"
//	partial    = ["v"] part ["." part ["." part ["-" prerelease]]] ["+" build]
//	part       = number | "x" | "X" | "*"
//
// A partial version stands for every version it names: "2" is >=2.0.0 <3.0.0,
// "2.1" is >=2.1.0 <2.2.0, ">2.1" is >=2.2.0, "<=2" is <3.0.0; "*" (or an
// empty range) is every release. "~2.1.3" allows patches (>=2.1.3 <2.2.0),
// "~2" minors; "^2.1" allows minors and patches (>=2.1.0 <3.0.0) and, below
// 1.0.0, only what does not change the leftmost non-zero part ("^0.2.3" is
// >=0.2.3 <0.3.0). An operator may be followed by a space (">= 2.1").
// A hyphen range takes both ends: "1.2 - 1.4" is >=1.2.0 <1.5.0 (a partial
// upper end stands for all it names, as "<=1.4" does), "1.2.3 - 2.0.1" is
// >=1.2.3 <=2.0.1; it is a set of its own (alone between "||").
//
// Pre-releases are in a range only when it names one: a pre-release version
// matches a set only if one of the set's comparators has a pre-release of
// the same MAJOR.MINOR.PATCH, so ">=2.2.0-rc.1" matches 2.2.0-rc.2 and
// 2.2.0 but not 2.3.0-rc.1, and ">=2.1" matches no pre-release at all.
type Range struct {
	text string
	sets [][]comparator
}

// comparator is one bound of a set: v compared with op ("=", "<", "<=",
// ">", ">=").
type comparator struct {
	op string
	v  Version
}

// RangeError says where a range does not parse: Offset is the byte offset in
// Range of the part that is wrong.
type RangeError struct {
	Range  string
	Offset int
	Msg    string
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("invalid semver range %q at column %d: %s", e.Range, e.Offset+1, e.Msg)
}

// Unwrap makes a RangeError an ErrInvalid.
func (e *RangeError) Unwrap() error { return ErrInvalid }

// ParseRange reads a range (see Range). Errors are *RangeError.
func ParseRange(s string) (Range, error) {
	r := Range{text: s}
	for _, set := range splitSets(s) {
		toks := fields(s, set.start, set.end)
		if hyphen(s, toks) {
			cs, err := hyphenRange(s, toks)
			if err != nil {
				return Range{}, err
			}
			r.sets = append(r.sets, cs)
			continue
		}
		var cs []comparator
		for i := 0; i < len(toks); i++ {
			tok := toks[i]
			op, rest := splitOp(s[tok.start:tok.end])
			start := tok.start + len(op)
			if rest == "" {
				if op == "" || i+1 == len(toks) {
					return Range{}, &RangeError{Range: s, Offset: tok.start, Msg: fmt.Sprintf("%q needs a version after it", op)}
				}
				i++
				tok = toks[i]
				start, rest = tok.start, s[tok.start:tok.end]
			}
			p, err := parsePartial(rest)
			if err != nil {
				return Range{}, &RangeError{Range: s, Offset: start + err.offset, Msg: err.msg}
			}
			c, err2 := p.comparators(op)
			if err2 != "" {
				return Range{}, &RangeError{Range: s, Offset: tok.start, Msg: err2}
			}
			cs = append(cs, c...)
		}
		r.sets = append(r.sets, cs)
	}
	return r, nil
}

// hyphen reports whether the set toks of s has a hyphen range's " - ".
func hyphen(s string, toks []span) bool {
	for _, t := range toks {
		if s[t.start:t.end] == "-" {
			return true
		}
	}
	return false
}

// hyphenRange reads the set toks of s as LOW - HIGH: >=LOW <=HIGH, each end
// a partial version standing for all it names (a wildcard: no bound).
func hyphenRange(s string, toks []span) ([]comparator, error) {
	if len(toks) != 3 || s[toks[1].start:toks[1].end] != "-" {
		at := toks[0].start
		for _, t := range toks {
			if s[t.start:t.end] == "-" {
				at = t.start
				break
			}
		}
		return nil, &RangeError{Range: s, Offset: at, Msg: `a hyphen range is LOW - HIGH, alone between "||"`}
	}
	var cs []comparator
	for i, op := range []string{">=", "", "<="} {
		if op == "" {
			continue // the hyphen
		}
		tok := toks[i]
		if o, _ := splitOp(s[tok.start:tok.end]); o != "" {
			return nil, &RangeError{Range: s, Offset: tok.start, Msg: fmt.Sprintf("%q in a hyphen range: its ends are versions", o)}
		}
		p, err := parsePartial(s[tok.start:tok.end])
		if err != nil {
			return nil, &RangeError{Range: s, Offset: tok.start + err.offset, Msg: err.msg}
		}
		c, _ := p.comparators(op) // >= and <= always can be written
		cs = append(cs, c...)
	}
	return cs, nil
}

// String returns the range as written.
func (r Range) String() string { return r.text }

// Contains reports whether v is in the range.
func (r Range) Contains(v Version) bool {
	for _, set := range r.sets {
		if setContains(set, v) {
			return true
		}
	}
	return false
}

func setContains(set []comparator, v Version) bool {
	namesPre := false
	for _, c := range set {
		if !c.matches(v) {
			return false
		}
		if c.v.IsPrerelease() && c.v.Major == v.Major && c.v.Minor == v.Minor && c.v.Patch == v.Patch {
			namesPre = true
		}
	}
	return !v.IsPrerelease() || namesPre
}

func (c comparator) matches(v Version) bool {
	d := Compare(v, c.v)
	switch c.op {
	case "<":
		return d < 0
	case "<=":
		return d <= 0
	case ">":
		return d > 0
	case ">=":
		return d >= 0
	}
	return d == 0
}

// span is a byte range of the range text.
type span struct{ start, end int }

// splitSets splits s at "||".
func splitSets(s string) []span {
	var out []span
	start := 0
	for {
		i := strings.Index(s[start:], "||")
		if i < 0 {
			return append(out, span{start, len(s)})
		}
		out = append(out, span{start, start + i})
		start += i + 2
	}
}

// fields splits s[start:end] at spaces and tabs.
func fields(s string, start, end int) []span {
	var out []span
	for i := start; i < end; {
		for i < end && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		j := i
		for j < end && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		if j > i {
			out = append(out, span{i, j})
		}
		i = j
	}
	return out
}

// splitOp splits the operator off a comparator.
func splitOp(s string) (op, rest string) {
	for _, o := range []string{">=", "<=", ">", "<", "=", "~", "^"} {
		if r, ok := strings.CutPrefix(s, o); ok {
			return o, r
		}
	}
	return "", s
}

// partial is a version with up to three numeric parts; n is how many were
// given as numbers (a wildcard ends them).
type partial struct {
	v Version
	n int
}

type partialError struct {
	offset int
	msg    string
}

// parsePartial reads ["v"] part ["." part ["." part ["-" pre]]] ["+" build].
func parsePartial(s string) (partial, *partialError) {
	var p partial
	off := 0
	rest := s
	if r, ok := strings.CutPrefix(rest, "v"); ok {
		p.v.Prefix, rest, off = "v", r, 1
	}
	if i := strings.IndexByte(rest, '+'); i >= 0 {
		if _, err := identifiers(rest[i+1:], "build metadata", false); err != nil {
			return p, &partialError{off + i + 1, err.Error()}
		}
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '-'); i >= 0 {
		ids, err := identifiers(rest[i+1:], "pre-release", true)
		if err != nil {
			return p, &partialError{off + i + 1, err.Error()}
		}
		p.v.Pre, rest = ids, rest[:i]
	}
	parts := strings.Split(rest, ".")
	if len(parts) > 3 {
		return p, &partialError{off, fmt.Sprintf("%q has more than MAJOR.MINOR.PATCH", rest)}
	}
	wild := false
	for i, part := range parts {
		if part == "x" || part == "X" || part == "*" {
			wild = true
		} else if wild {
			return p, &partialError{off, fmt.Sprintf("%q: a number after a wildcard", rest)}
		} else {
			n, err := number(part)
			if err != nil {
				return p, &partialError{off, fmt.Sprintf("%s %v", [...]string{"major", "minor", "patch"}[i], err)}
			}
			*[...]*uint64{&p.v.Major, &p.v.Minor, &p.v.Patch}[i] = n
			p.n++
		}
		off += len(part) + 1
	}
	if p.v.IsPrerelease() && p.n < 3 {
		return p, &partialError{0, "a pre-release needs MAJOR.MINOR.PATCH"}
	}
	return p, nil
}

// comparators desugars op p into plain bounds; an empty list is any release.
// The second result says why op p cannot be written, if it cannot.
func (p partial) comparators(op string) ([]comparator, string) {
	v := p.v
	v.Build = nil
	ge := func(x Version) comparator { return comparator{">=", x} }
	// next bumps the part at index i (0 major, 1 minor, 2 patch) and
	// zeroes the ones after; ok is false on overflow (no upper bound).
	next := func(i int) (Version, bool) {
		x := Version{Major: v.Major, Minor: v.Minor, Patch: v.Patch}
		ps := [...]*uint64{&x.Major, &x.Minor, &x.Patch}
		if *ps[i] == math.MaxUint64 {
			return x, false
		}
		*ps[i]++
		for j := i + 1; j < 3; j++ {
			*ps[j] = 0
		}
		return x, true
	}
	lt := func(i int) []comparator {
		if x, ok := next(i); ok {
			return []comparator{{"<", x}}
		}
		return nil
	}
	between := func(i int) []comparator { return append([]comparator{ge(v)}, lt(i)...) }
	if p.n == 0 {
		switch op {
		case ">", "<":
			return nil, fmt.Sprintf("%q with a wildcard matches nothing", op)
		}
		return nil, ""
	}
	switch op {
	case "", "=":
		if p.n == 3 {
			return []comparator{{"=", v}}, ""
		}
		return between(p.n - 1), ""
	case ">=":
		return []comparator{ge(v)}, ""
	case ">":
		if p.n == 3 {
			return []comparator{{">", v}}, ""
		}
		if x, ok := next(p.n - 1); ok {
			return []comparator{ge(x)}, ""
		}
		return nil, fmt.Sprintf("nothing is above %s", v)
	case "<":
		return []comparator{{"<", v}}, ""
	case "<=":
		if p.n == 3 {
			return []comparator{{"<=", v}}, ""
		}
		return lt(p.n - 1), ""
	case "~":
		if p.n == 1 {
			return between(0), ""
		}
		return between(1), ""
	}
	// "^": the leftmost non-zero part given stays fixed.
	switch {
	case v.Major > 0 || p.n == 1:
		return between(0), ""
	case v.Minor > 0 || p.n == 2:
		return between(1), ""
	}
	return between(2), ""
}
