// Package golden keeps base images under control: it checks that every
// FROM of a Dockerfile starts from an approved ("golden") base and is
// pinned, and pins FROM lines to the digests their tags resolve to.
package golden

import (
	"fmt"
	"strings"

	"github.com/ctl-dev/ctl/pkg/reference"
)

// Allowlist is a set of approved base image prefixes.
//
// A prefix is normalised as a reference, so "golden/aspnet-core" and
// "docker.io/golden/aspnet-core" are the same, and matches whole path
// components only:
//   - "golden/" (trailing slash): every repository under golden/ on Docker
//     Hub; "registry.local:5000/golden/" likewise on that registry.
//   - "registry.local:5000/" (a registry host alone): every repository there.
//   - "golden/aspnet-core" (no slash): that repository and those under it
//     (golden/aspnet-core/x), but not golden/aspnet-core-preview.
//   - "golden/aspnet-core:3.0" or "...@sha256:...": that repository at that
//     tag or digest only.
type Allowlist struct {
	prefixes []prefix
}

type prefix struct {
	input    string
	registry string // set for a whole-registry prefix
	path     string // registry/path, without a trailing slash
	tag      string
	digest   string
}

// ParseAllowlist normalises prefixes. Errors wrap reference.ErrInvalid.
func ParseAllowlist(prefixes []string) (*Allowlist, error) {
	a := &Allowlist{}
	for _, s := range prefixes {
		p, err := parsePrefix(s)
		if err != nil {
			return nil, err
		}
		a.prefixes = append(a.prefixes, p)
	}
	return a, nil
}

func parsePrefix(s string) (prefix, error) {
	p := prefix{input: s}
	if s == "" {
		return p, &PrefixError{Err: reference.ErrInvalid}
	}
	if body, ok := strings.CutSuffix(s, "/"); ok {
		if !strings.Contains(body, "/") && reference.LooksLikeHost(body) {
			// A registry alone: parse a dummy repository on it to get the
			// registry's normal spelling (index.docker.io is docker.io).
			r, err := reference.ParseRepository(body + "/x")
			if err != nil {
				return p, &PrefixError{Prefix: s, Err: err}
			}
			p.registry = strings.ToLower(r.Registry())
			return p, nil
		}
		// A namespace: a dummy last component keeps "golden/" from being
		// read as the official image library/golden.
		r, err := reference.ParseRepository(body + "/x")
		if err != nil {
			return p, &PrefixError{Prefix: s, Err: err}
		}
		p.path = strings.TrimSuffix(lowerHost(r), "/x")
		return p, nil
	}
	r, err := reference.Parse(s)
	if err != nil {
		return p, &PrefixError{Prefix: s, Err: err}
	}
	p.path, p.tag, p.digest = lowerHost(r), r.Tag(), r.Digest()
	return p, nil
}

// lowerHost is r's registry/repository with the host lowercased, since
// hosts are case-insensitive and paths are lowercase already.
func lowerHost(r reference.Reference) string {
	return strings.ToLower(r.Registry()) + "/" + r.Repository()
}

// Allows reports whether r starts from an approved prefix, and which.
func (a *Allowlist) Allows(r reference.Reference) (string, bool) {
	name := lowerHost(r)
	for _, p := range a.prefixes {
		switch {
		case p.registry != "":
			if strings.ToLower(r.Registry()) == p.registry {
				return p.input, true
			}
		case p.tag != "" || p.digest != "":
			if name == p.path && (p.tag == "" || r.Tag() == p.tag) && (p.digest == "" || r.Digest() == p.digest) {
				return p.input, true
			}
		case name == p.path || strings.HasPrefix(name, p.path+"/"):
			return p.input, true
		}
	}
	return "", false
}

// String lists the prefixes as given.
func (a *Allowlist) String() string {
	s := make([]string, len(a.prefixes))
	for i, p := range a.prefixes {
		s[i] = p.input
	}
	return strings.Join(s, ", ")
}

// Len is the number of prefixes.
func (a *Allowlist) Len() int { return len(a.prefixes) }

// PrefixError is an approved prefix that does not parse (Prefix empty: an
// empty one). It wraps the reference error, reference.ErrInvalid.
type PrefixError struct {
	Prefix string
	Err    error
}

func (e *PrefixError) Error() string {
	if e.Prefix == "" {
		return e.Err.Error() + ": empty prefix"
	}
	return fmt.Sprintf("prefix %q: %v", e.Prefix, e.Err)
}

func (e *PrefixError) Unwrap() error { return e.Err }
