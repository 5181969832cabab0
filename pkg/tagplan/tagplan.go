// Package tagplan decides which tags a versioned release writes: the exact
// version tag plus the moving tags users pin to (MAJOR.MINOR, MAJOR and
// latest), never moving one backwards. It is pure: the caller lists the
// repository's tags and carries out the plan.
//
// The rules, for a new version V pointing at digest D:
//   - The exact tag (V.Tag(), e.g. "2.1.106") always points at D.
//   - A pre-release gets only its exact tag.
//   - "MAJOR.MINOR" moves to D only when V >= every release already tagged in
//     the repository with the same major and minor; "MAJOR" likewise among
//     releases with the same major; "latest" among all releases. Otherwise
//     the tag is kept where it is (or not created), with the newer version
//     as the reason.
//   - Existing versions are read from every tag that parses as a semantic
//     version (with or without the "v" prefix, "_" standing for "+");
//     pre-releases among them are ignored, as they never own a moving tag.
//   - The moving tags carry V's "v" prefix when V has one (v2.1, v2).
package tagplan

import (
	"fmt"

	"github.com/ctl-dev/ctl/pkg/semver"
)

// Action is what a Step does to its tag.
type Action string

// The actions of a plan.
const (
	Created   Action = "created"   // the tag did not exist and now points at the digest
	Moved     Action = "moved"     // the tag pointed at another digest and now points at the digest
	Unchanged Action = "unchanged" // the tag already points at the digest; writing it again is harmless
	Kept      Action = "kept"      // the tag stays where it is (or stays absent): a newer version owns it
)

// Step is one tag of a plan.
type Step struct {
	Tag    string `json:"tag"`
	Digest string `json:"digest"` // where the tag points after the plan; "" for a kept tag that does not exist
	Action Action `json:"action"`
	Reason string `json:"reason,omitempty"`
	// Previous is where the tag pointed before ("" when it did not exist).
	Previous string `json:"previous,omitempty"`
}

// Writes reports whether the step makes the tag point at the new digest.
func (s Step) Writes() bool { return s.Action != Kept }

// Options adjust a plan.
type Options struct {
	// NoLatest leaves "latest" out of the plan.
	NoLatest bool
}

// Plan returns the steps that tag digest as version v in a repository whose
// tags are existing (tag -> digest): the exact tag first, then MAJOR.MINOR,
// MAJOR and latest.
func Plan(v semver.Version, existing map[string]string, digest string, opts Options) []Step {
	steps := []Step{step(v.Tag(), existing, digest, "")}
	if v.IsPrerelease() {
		return steps
	}
	var minor, major, overall *semver.Version
	for tag := range existing {
		ev, err := semver.ParseTag(tag)
		if err != nil || ev.IsPrerelease() {
			continue
		}
		if overall == nil || semver.Compare(ev, *overall) > 0 {
			overall = &ev
		}
		if ev.Major != v.Major {
			continue
		}
		if major == nil || semver.Compare(ev, *major) > 0 {
			major = &ev
		}
		if ev.Minor == v.Minor && (minor == nil || semver.Compare(ev, *minor) > 0) {
			minor = &ev
		}
	}
	steps = append(steps,
		moving(v.MinorTag(), v, minor, existing, digest),
		moving(v.MajorTag(), v, major, existing, digest))
	if !opts.NoLatest {
		steps = append(steps, moving("latest", v, overall, existing, digest))
	}
	return steps
}

// moving plans a moving tag whose line's highest existing release is newest.
func moving(tag string, v semver.Version, newest *semver.Version, existing map[string]string, digest string) Step {
	if newest != nil && semver.Compare(v, *newest) < 0 {
		prev := existing[tag]
		if prev == digest {
			// Already here (someone tagged by hand): nothing to write, and
			// nothing to undo either.
			return Step{Tag: tag, Digest: digest, Previous: prev, Action: Unchanged,
				Reason: fmt.Sprintf("%s is newer, but the tag already points here", newest)}
		}
		reason := fmt.Sprintf("%s is newer than %s", newest, v)
		return Step{Tag: tag, Digest: prev, Previous: prev, Action: Kept, Reason: reason}
	}
	return step(tag, existing, digest, "")
}

func step(tag string, existing map[string]string, digest, reason string) Step {
	prev, ok := existing[tag]
	s := Step{Tag: tag, Digest: digest, Previous: prev, Reason: reason}
	switch {
	case !ok:
		s.Action = Created
	case prev == digest:
		s.Action = Unchanged
	default:
		s.Action = Moved
	}
	return s
}
