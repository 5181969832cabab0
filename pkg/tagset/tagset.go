// Package tagset selects and orders a repository's tags: by name globs, by
// semantic version range, by the newest N, sorted by name, version or
// creation time. It is pure: the caller lists the tags and, when creation
// times are needed, describes them.
//
// "Newest" means the highest version when every tag in question is a
// semantic version (semver.ParseTag: "v" prefix and "_" for "+" allowed,
// pre-releases included), and otherwise the most recently created, ties
// broken by version (versions first, the highest first) and then by name. A
// version order is what users mean by "the last five releases"; creation
// times are the only order a repository of build tags (or of versions mixed
// with "latest") has.
package tagset

import (
	"cmp"
	"path"
	"slices"
	"time"

	"github.com/ctl-dev/ctl/pkg/semver"
)

// Tag is what ordering needs to know about a tag.
type Tag struct {
	Name string
	// Created is when its image was created; zero when unknown (such a tag
	// is older than any other).
	Created time.Time
}

// Order is how Arrange sorts tags.
type Order string

// The orders. Registry keeps the order the tags were given in.
const (
	Registry  Order = ""
	ByName    Order = "name"
	BySemver  Order = "semver"  // versions by precedence, then the other tags by name
	ByCreated Order = "created" // oldest first, ties by name
)

// Query selects and orders tags. The zero Query keeps every tag in order.
type Query struct {
	// Include keeps the tags matching any of these globs (path.Match; an
	// empty glob matches everything); none keeps all.
	Include []string
	// Exclude drops the tags matching any of these globs.
	Exclude []string
	// Range, if set, keeps the versions in it (other tags are dropped).
	Range *semver.Range
	// Newest, if positive, keeps only the newest this many.
	Newest int
	// Order sorts the result; Reverse reverses it.
	Order   Order
	Reverse bool
}

// MatchAny reports whether name matches any of globs (path.Match syntax; an
// empty glob matches everything; a malformed one matches nothing).
func MatchAny(globs []string, name string) bool {
	_, ok := FirstMatch(globs, name)
	return ok
}

// FirstMatch returns the first of globs that name matches, as MatchAny
// matches them.
func FirstMatch(globs []string, name string) (string, bool) {
	for _, g := range globs {
		if ok, _ := path.Match(g, name); ok || g == "" {
			return g, true
		}
	}
	return "", false
}

// Filter keeps the names that pass Include, Exclude and Range, in order.
func (q Query) Filter(names []string) []string {
	out := names[:0:0]
	for _, n := range names {
		if len(q.Include) > 0 && !MatchAny(q.Include, n) || MatchAny(q.Exclude, n) {
			continue
		}
		if q.Range != nil {
			v, err := semver.ParseTag(n)
			if err != nil || !q.Range.Contains(v) {
				continue
			}
		}
		out = append(out, n)
	}
	return out
}

// NeedsCreated reports whether Arrange needs the creation times of names
// (filtered already): to sort by them, or to find the newest among tags that
// are not all versions.
func (q Query) NeedsCreated(names []string) bool {
	return q.Order == ByCreated || q.Newest > 0 && !AllVersions(names)
}

// Arrange keeps the Newest tags (if set) and sorts them by Order.
func (q Query) Arrange(tags []Tag) []Tag {
	out := slices.Clone(tags)
	if q.Newest > 0 && q.Newest < len(out) {
		keep := map[string]bool{}
		for _, t := range NewestFirst(out)[:q.Newest] {
			keep[t.Name] = true
		}
		out = slices.DeleteFunc(out, func(t Tag) bool { return !keep[t.Name] })
	}
	switch q.Order {
	case ByName:
		slices.SortStableFunc(out, func(a, b Tag) int { return cmp.Compare(a.Name, b.Name) })
	case BySemver:
		slices.SortStableFunc(out, func(a, b Tag) int { return CompareVersions(a.Name, b.Name) })
	case ByCreated:
		slices.SortStableFunc(out, func(a, b Tag) int {
			return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Name, b.Name))
		})
	}
	if q.Reverse {
		slices.Reverse(out)
	}
	return out
}

// CompareVersions orders tag names by version precedence, versions before
// other names, which compare by name; equal versions (2.1.0, v2.1.0)
// compare by name too.
func CompareVersions(a, b string) int {
	va, erra := semver.ParseTag(a)
	vb, errb := semver.ParseTag(b)
	switch {
	case erra == nil && errb == nil:
		return cmp.Or(semver.Compare(va, vb), cmp.Compare(a, b))
	case erra == nil:
		return -1
	case errb == nil:
		return 1
	}
	return cmp.Compare(a, b)
}

// AllVersions reports whether every name is a semantic version.
func AllVersions(names []string) bool {
	for _, n := range names {
		if _, err := semver.ParseTag(n); err != nil {
			return false
		}
	}
	return true
}

// NewestFirst returns tags from the newest to the oldest (see the package
// documentation).
func NewestFirst(tags []Tag) []Tag {
	out := slices.Clone(tags)
	names := make([]string, len(out))
	for i, t := range out {
		names[i] = t.Name
	}
	byVersion := AllVersions(names)
	slices.SortStableFunc(out, func(a, b Tag) int {
		if !byVersion {
			if c := b.Created.Compare(a.Created); c != 0 {
				return c
			}
		}
		va, erra := semver.ParseTag(a.Name)
		vb, errb := semver.ParseTag(b.Name)
		switch {
		case erra == nil && errb == nil:
			return cmp.Or(semver.Compare(vb, va), cmp.Compare(a.Name, b.Name))
		case erra == nil:
			return -1
		case errb == nil:
			return 1
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}
