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
// Then these rules follow what is kept (what a kept tag holds on to: its
// manifest and, for an index, the manifests it lists):
//   - a moving tag ("latest", "MAJOR", "MAJOR.MINOR" as pkg/tagplan writes
//     them, pointing at the manifest of a release of that line) is kept
//     when that release is, and deleted with it otherwise; moving tags take
//     no place among the KeepLast newest and are kept on their own only by
//     Keep;
//   - a referrer tag (sha256-<hex> of the referrers tag schema, cosign's
//     sha256-<hex>.sig, .att, .sbom) is kept when a kept tag holds its
//     subject (and what it holds is then held too, for the referrers of
//     referrers), and deleted otherwise; like moving tags they take no
//     place among the newest and are kept on their own only by Keep;
//   - a tag that shares its manifest with a kept tag is kept: deleting it
//     would free nothing, and a registry that deletes tags only by digest
//     would take the kept tag with it;
//   - a tag whose manifest a kept index lists (a platform image tagged on
//     its own) is kept: deleting it would free nothing, and a registry that
//     deletes tags only by digest would break the index.
//
// Every other tag is deleted.
package retention

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/semver"
	"github.com/ctl-dev/ctl/pkg/tagset"
)

// Tag is what a plan needs to know about a tag.
type Tag struct {
	tagset.Tag
	// Digest is the manifest the tag points at.
	Digest string
	// Blobs are the sizes of what that manifest holds on to in the
	// registry, by digest (itself, configs, layers, an index's children
	// and theirs): a tag whose Digest is among them is a part of it.
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
	RuleReferrer     Rule = "referrer"
	RuleShared       Rule = "shared-manifest"
	RuleIndexChild   Rule = "index-child"
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
	// parts are the digests of manifests that another deleted tag's index
	// lists.
	parts map[string]bool
}

// Deletes returns the decisions that delete, in the order to delete them:
// plan order, except that a tag whose manifest a deleted index lists comes
// after the tags deleted with no such index (so that a registry deleting
// only by digest never sees a tagged index lose a part).
func (p Plan) Deletes() []Decision {
	var first, then []Decision
	for _, d := range p.Decisions {
		switch {
		case d.Keep:
		case p.parts[d.Digest]:
			then = append(then, d)
		default:
			first = append(first, d)
		}
	}
	return append(first, then...)
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
	var candidates []Tag            // what the version and age rules look at
	subjects := map[string]string{} // referrer tag → its subject's digest
	for _, t := range tags {
		if g, ok := tagset.FirstMatch(r.Keep, t.Name); ok {
			keepDirect(t, RuleKeep, "name matches "+g)
		}
		subj, _, referrer := reference.ReferrerTagSubject(t.Name)
		if referrer {
			subjects[t.Name] = subj
		}
		if _, ok := moving[t.Name]; !ok && !referrer {
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
	// What kept tags hold, each with the first kept tag (by name) holding
	// it: a referrer tag whose subject is held is kept and holds too.
	kept := holders{}
	for _, t := range tags {
		if _, ok := decided[t.Name]; ok {
			kept.add(t)
		}
	}
	keptReferrer := map[string]bool{}
	for grew := true; grew; {
		grew = false
		for _, t := range tags {
			subj, ok := subjects[t.Name]
			if _, direct := decided[t.Name]; !ok || direct || keptReferrer[t.Name] || kept[subj] == "" {
				continue
			}
			keptReferrer[t.Name], grew = true, true
			kept.add(t)
		}
	}
	// The same kept manifest, by the first kept tag (by name) on it; the
	// rules that follow keep no other manifest.
	keptBy := map[string]string{}
	for _, t := range tags {
		if _, ok := decided[t.Name]; ok || keptReferrer[t.Name] {
			if n, ok := keptBy[t.Digest]; !ok || t.Name < n {
				keptBy[t.Digest] = t.Name
			}
		}
	}
	all := holders{}
	for _, t := range tags {
		all.add(t)
	}
	var plan Plan
	for _, t := range rankTags(tags) {
		d, ok := decided[t.Name]
		subj, referrer := subjects[t.Name]
		switch {
		case ok:
		case moving[t.Name] != "":
			v := moving[t.Name]
			held := kept[t.Digest] != "" // v's manifest, so kept with v
			d = Decision{Tag: t.Name, Digest: t.Digest, Keep: held, Rule: RuleMovingTag, Why: "follows " + v}
			if !held {
				d.Why += ", which is deleted"
			}
		case referrer:
			d = Decision{Tag: t.Name, Digest: t.Digest, Keep: keptReferrer[t.Name], Rule: RuleReferrer}
			switch {
			case d.Keep:
				d.Why = "refers to " + kept.name(subj, tags)
			case all[subj] != "":
				d.Why = "refers to " + all.name(subj, tags) + ", which is deleted"
			default:
				d.Why = "refers to " + shortDigest(subj) + ", which no tag holds"
			}
		case keptBy[t.Digest] != "":
			d = Decision{Tag: t.Name, Digest: t.Digest, Keep: true, Rule: RuleShared, Why: "same as " + keptBy[t.Digest]}
		case kept[t.Digest] != "":
			d = Decision{Tag: t.Name, Digest: t.Digest, Keep: true, Rule: RuleIndexChild, Why: "part of the index " + kept[t.Digest]}
		default:
			d = Decision{Tag: t.Name, Digest: t.Digest, Rule: RuleNone, Why: deleteWhy(t, r)}
		}
		plan.Decisions = append(plan.Decisions, d)
	}
	plan.Reclaimable = reclaimable(tags, plan.Decisions, byName)
	plan.parts = parts(plan.Decisions, byName)
	return plan
}

// holders maps what tags hold on to (Tag.Blobs and Digest) to the first
// of those tags by name.
type holders map[string]string

// add records what t holds.
func (h holders) add(t Tag) {
	for b := range t.Blobs {
		h.hold(b, t.Name)
	}
	h.hold(t.Digest, t.Name)
}

func (h holders) hold(b, tag string) {
	if n, ok := h[b]; !ok || tag < n {
		h[b] = tag
	}
}

// name names the manifest digest by the tag holding it: the tag itself
// when it points at digest, else "DIGEST in TAG".
func (h holders) name(digest string, tags []Tag) string {
	tag := h[digest]
	for _, t := range tags {
		if t.Name == tag && t.Digest != digest {
			return shortDigest(digest) + " in " + tag
		}
	}
	return tag
}

// shortDigest is a digest's first 12 hex digits, as the plan's table
// shows digests.
func shortDigest(d string) string {
	_, hex, _ := strings.Cut(d, ":")
	return hex[:min(12, len(hex))]
}

// parts are the digests of the manifests that a deleted tag's manifest
// lists (an index's children), besides its own.
func parts(ds []Decision, byName map[string]Tag) map[string]bool {
	out := map[string]bool{}
	for _, d := range ds {
		if d.Keep {
			continue
		}
		for b := range byName[d.Tag].Blobs {
			if b != d.Digest {
				out[b] = true
			}
		}
	}
	return out
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
