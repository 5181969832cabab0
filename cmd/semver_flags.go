package cmd

import (
	"fmt"
	"strings"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/semver"
)

// semverFlags are the flags tag and push share for versioned tags.
type semverFlags struct {
	Semver   bool // --semver: write MAJOR.MINOR.PATCH, MAJOR.MINOR, MAJOR and latest
	NoLatest bool // --no-latest
	DryRun   bool // --dry-run: print the plan, change nothing
}

const (
	semverFlagHelp   = "also write the moving tags MAJOR.MINOR, MAJOR and latest of a MAJOR.MINOR.PATCH target, never moving one backwards"
	noLatestFlagHelp = "with --semver, leave latest alone"
	dryRunSemverHelp = "with --semver, print the plan (tag -> digest, created/moved/kept) and change nothing"
)

// splitVersionRef splits "REPO:VERSION" into the repository and the version.
// It is split by hand rather than parsed as a reference because a semver
// may carry build metadata ("+build.5"), which no tag can hold.
func splitVersionRef(s string) (reference.Reference, semver.Version, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.IndexByte(s[i:], '/') >= 0 || strings.Contains(s, "@") {
		return reference.Reference{}, semver.Version{}, invalidInput(
			fmt.Errorf("--semver target %q must be REPOSITORY:MAJOR.MINOR.PATCH (e.g. registry.local:5000/app:2.1.106)", s))
	}
	repo, err := reference.ParseRepository(s[:i])
	if err != nil {
		return reference.Reference{}, semver.Version{}, err
	}
	v, err := semver.Parse(s[i+1:])
	if err != nil {
		return reference.Reference{}, semver.Version{}, invalidInput(err)
	}
	for _, t := range []string{v.Tag(), v.MinorTag(), v.MajorTag()} {
		if !reference.ValidTag(t) {
			return reference.Reference{}, semver.Version{}, invalidInput(fmt.Errorf("version %s makes the invalid tag %q (tags are at most 128 characters)", v, t))
		}
	}
	return repo, v, nil
}
