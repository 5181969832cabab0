package cmd

// --platform, as the commands that pick one platform out of an index take it.

import (
	"fmt"

	"github.com/ctl-dev/ctl/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// parsePlatform reads --platform ("" means none) with
// registry.ParsePlatform; a bad one is invalid input (exit 2).
func parsePlatform(s string) (*v1.Platform, error) {
	if s == "" {
		return nil, nil
	}
	p, err := registry.ParsePlatform(s)
	if err != nil {
		return nil, invalidInput(fmt.Errorf("invalid --platform %q: want OS/ARCH[/VARIANT], e.g. linux/arm64/v8", s))
	}
	return p, nil
}
