// Package retention decides which tags of a repository to keep and which
// to delete, and what that would free. It is pure: the caller describes the
// tags and carries out the plan.
//
// A tag is kept when a rule keeps it, checked in this order (the first that
// applies is the one named):
//   - Keep: its name matches one of the globs;
//   - SemverLatest: it is the newest release (no pre-release) of its major
//     or of its major.minor line, the versions the moving tags point at;
//   - KeepLast: it is among the KeepLast newest tags, by version when every
//     tag in question is a semantic version and otherwise by creation time
//     (tagset.NewestFirst);
//   - NewerThan: it was created less than NewerThan before Now, or its
//     creation time is unknown.
//
// Then two rules follow what is kept:
//   - a moving tag ("latest", "MAJOR", "MAJOR.MINOR" as pkg/tagplan writes
//     them, pointing at the manifest of a release of that line) is kept
//     when that release is, and deleted with it otherwise; moving tags take
//     no place among the KeepLast newest and are kept on their own only by
//     Keep;
//   - a tag that shares its manifest with a kept tag is kept: deleting it
//     would free nothing, and a registry that deletes tags only by digest
//     would take the kept tag with it.
//
// Every other tag is deleted.
package retention

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ctl-dev/ctl/pkg/semver"
	"github.com/ctl-dev/ctl/pkg/tagset"
)

// Tag is what a plan needs to know about a tag.
type Tag struct {
	tagset.Tag
	// Digest is the manifest the tag points at.
	Digest string
	// Blobs are the sizes of what that manifest holds on to in the
	// registry, by digest (itself, configs, layers, an index's children).
	Blobs map[string]int64
}

// Rules say what to keep. The zero Rules keep nothing.
type Rules struct {
	KeepLast     int
	Keep         []string // globs, path.Match syntax
	SemverLatest bool
	// NewerThan, if positive, keeps tags created after Now minus it.
	NewerThan time.Duration
	Now       time.Time
}

// Empty reports whether the rules keep nothing on their own.
func (r Rules) Empty() bool {
	return r.KeepLast <= 0 && len(r.Keep) == 0 && !r.SemverLatest && r.NewerThan <= 0
}

// Rule names what decided a tag's fate.
type Rule string

// The rules of a Decision.
const (
	RuleKeep         Rule = "keep"
	RuleSemverLatest Rule = "semver-latest"
	RuleKeepLast     Rule = "keep-last"
	RuleNewerThan    Rule = "newer-than"
	RuleMovingTag    Rule = "moving-tag"
	RuleShared       Rule = "shared-manifest"
	RuleNone         Rule = "none" // deleted: no rule keeps it
)

// Decision is what the plan does with one tag.
type Decision struct {
	Tag    string
	Digest string
	Keep   bool
	Rule   Rule
	// Why says how the rule applies ("newest of 2.1", "follows 2.1.3"...).
	Why string
}

// Plan is the fate of every tag, newest first (tagset.NewestFirst), and
// what deleting would free.
type Plan struct {
	Decisions []Decision
	// Reclaimable is the size of the blobs only deleted manifests hold on
	// to: what the registry's garbage collection could free once they are
	// gone (less what other repositories share).
	Reclaimable int64
}

// Deletes returns the decisions that delete, in plan order.
func (p Plan) Deletes() []Decision {
	return slices.DeleteFunc(slices.Clone(p.Decisions), func(d Decision) bool { return d.Keep })
}

// Decide applies rules to tags.
func Decide(tags []Tag, r Rules) Plan {
	byName := map[string]Tag{}
	for _, t := range tags {
		byName[t.Name] = t
	}
	moving := movingTags(tags)
	decided := map[string]Decision{}
	keepDirect := func(t Tag, rule Rule, why string) {
		if _, ok := decided[t.Name]; !ok {
			decided[t.Name] = Decision{Tag: t.Name, Digest: t.Digest, Keep: true, Rule: rule, Why: why}
		}
	}
	var candidates []Tag // what the version and age rules look at
	for _, t := range tags {
		if tagset.MatchAny(r.Keep, t.Name) {
			keepDirect(t, RuleKeep, "name matches "+strings.Join(r.Keep, ", "))
		}
		if _, ok := moving[t.Name]; !ok {
			candidates = append(candidates, t)
		}
	}
	if r.SemverLatest {
		for _, t := range candidates {
			if line, ok := newestOfLine(candidates, t.Name); ok {
				keepDirect(t, RuleSemverLatest, "newest of "+line)
			}
		}
	}
	if r.KeepLast > 0 {
		ranked := rankTags(candidates)
		for i, t := range ranked[:min(r.KeepLast, len(ranked))] {
			keepDirect(t, RuleKeepLast, fmt.Sprintf("among the newest %d (#%d)", r.KeepLast, i+1))
		}
	}
	if r.NewerThan > 0 {
		cutoff := r.Now.Add(-r.NewerThan)
		for _, t := range candidates {
			switch {
			case t.Created.IsZero():
				keepDirect(t, RuleNewerThan, "creation time unknown")
			case t.Created.After(cutoff):
				keepDirect(t, RuleNewerThan, "created "+t.Created.UTC().Format(time.RFC3339))
			}
		}
	}
	// Kept manifests, each with the first kept tag (by name) that holds it;
	// the rules that follow keep no other manifest.
	keptBy := map[string]string{}
	for _, d := range decided {
		if n, ok := keptBy[d.Digest]; !ok || d.Tag < n {
			keptBy[d.Digest] = d.Tag
		}
	}
	var plan Plan
	for _, t := range rankTags(tags) {
		d, ok := decided[t.Name]
		switch {
		case ok:
		case moving[t.Name] != "":
			v := moving[t.Name]
			kept := keptBy[t.Digest] != "" // v's manifest, so kept with v
			d = Decision{Tag: t.Name, Digest: t.Digest, Keep: kept, Rule: RuleMovingTag, Why: "follows " + v}
			if !kept {
				d.Why += ", which is deleted"
			}
		case keptBy[t.Digest] != "":
			d = Decision{Tag: t.Name, Digest: t.Digest, Keep: true, Rule: RuleShared, Why: "same as " + keptBy[t.Digest]}
		default:
			d = Decision{Tag: t.Name, Digest: t.Digest, Rule: RuleNone, Why: deleteWhy(t, r)}
		}
		plan.Decisions = append(plan.Decisions, d)
	}
	plan.Reclaimable = reclaimable(tags, plan.Decisions, byName)
	return plan
}

// rankTags is tagset.NewestFirst for Tags.
func rankTags(tags []Tag) []Tag {
	byName := map[string]Tag{}
	ts := make([]tagset.Tag, len(tags))
	for i, t := range tags {
		ts[i] = t.Tag
		byName[t.Name] = t
	}
	out := make([]Tag, 0, len(tags))
	for _, t := range tagset.NewestFirst(ts) {
		out = append(out, byName[t.Name])
	}
	return out
}

// movingName is how pkg/tagplan names moving tags: MAJOR, MAJOR.MINOR
// (with the version's "v" prefix), latest. Compiled on first use, not when
// ctl starts.
var movingName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(latest|v?(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))?)$`)
})

// movingTags maps each moving tag to the release it points at: the newest
// release of its line with the same manifest.
func movingTags(tags []Tag) map[string]string {
	out := map[string]string{}
	for _, m := range tags {
		if !movingName().MatchString(m.Name) {
			continue
		}
		var best *semver.Version
		for _, t := range tags {
			v, err := semver.ParseTag(t.Name)
			if err != nil || v.IsPrerelease() || t.Digest != m.Digest {
				continue
			}
			if m.Name != "latest" && m.Name != v.MajorTag() && m.Name != v.MinorTag() {
				continue
			}
			if best == nil || semver.Compare(v, *best) > 0 || semver.Compare(v, *best) == 0 && t.Name < out[m.Name] {
				best = &v
				out[m.Name] = t.Name
			}
		}
	}
	return out
}

// newestOfLine reports whether the tag name is the newest release among
// tags of its major or major.minor line, and names that line.
func newestOfLine(tags []Tag, name string) (string, bool) {
	v, err := semver.ParseTag(name)
	if err != nil || v.IsPrerelease() {
		return "", false
	}
	minor, major := true, true
	for _, t := range tags {
		o, err := semver.ParseTag(t.Name)
		if err != nil || o.IsPrerelease() || o.Major != v.Major || semver.Compare(o, v) <= 0 {
			continue
		}
		major = false
		if o.Minor == v.Minor {
			minor = false
		}
	}
	switch {
	case major:
		return fmt.Sprintf("%d", v.Major), true
	case minor:
		return fmt.Sprintf("%d.%d", v.Major, v.Minor), true
	}
	return "", false
}

// deleteWhy says which rules a deleted tag did not satisfy.
func deleteWhy(t Tag, r Rules) string {
	var why []string
	if r.KeepLast > 0 {
		why = append(why, fmt.Sprintf("not among the newest %d", r.KeepLast))
	}
	if r.SemverLatest {
		if _, err := semver.ParseTag(t.Name); err == nil {
			why = append(why, "not the newest of its line")
		} else {
			why = append(why, "not a version")
		}
	}
	if r.NewerThan > 0 {
		why = append(why, "created "+t.Created.UTC().Format(time.RFC3339))
	}
	if len(why) == 0 {
		return "name matches no kept name"
	}
	return strings.Join(why, "; ")
}

// reclaimable sums the blobs of deleted manifests that no kept manifest
// holds on to.
func reclaimable(tags []Tag, ds []Decision, byName map[string]Tag) int64 {
	keptDigest := map[string]bool{}
	for _, d := range ds {
		if d.Keep {
			keptDigest[d.Digest] = true
		}
	}
	held := map[string]bool{}
	for _, t := range tags {
		if keptDigest[t.Digest] {
			for b := range t.Blobs {
				held[b] = true
			}
		}
	}
	freed := map[string]int64{}
	for _, d := range ds {
		if d.Keep {
			continue
		}
		for b, n := range byName[d.Tag].Blobs {
			if !held[b] {
				freed[b] = n
			}
		}
	}
	var sum int64
	for _, n := range freed {
		sum += n
	}
	return sum
}
