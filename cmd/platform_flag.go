package cmd

// --platform, as the commands that take one platform, a list or "all" read it.

import (
	"fmt"

	"github.com/ctl-dev/ctl/pkg/platform"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// parsePlatform reads a --platform of one platform ("" means none); a bad
// one is invalid input (exit 2).
func parsePlatform(s string) (*v1.Platform, error) {
	if s == "" {
		return nil, nil
	}
	p, err := platform.Parse(s)
	if err != nil {
		return nil, invalidPlatform(s)
	}
	return &p, nil
}

// parsePlatforms reads a --platform of pull, copy and save: "all", or
// platforms separated by commas ("" means none given).
func parsePlatforms(s string) (platform.Selection, error) {
	sel, err := platform.ParseSelection(s)
	if err != nil {
		return sel, invalidPlatform(s)
	}
	return sel, nil
}

// invalidPlatform is the one message of a bad --platform, whichever
// command it was given to (the help of each says which forms it takes).
func invalidPlatform(s string) error {
	return invalidInput(fmt.Errorf("invalid --platform %q: want OS/ARCH[/VARIANT], e.g. linux/arm64/v8", s))
}

// platformsFlagHelp is the --platform help of pull and copy.
const platformsFlagHelp = "what of a multi-platform image: OS/ARCH[/VARIANT] (that image), all (the whole index), or a comma list (a filtered index)"
