package store

import (
	"slices"

	"github.com/ctl-dev/ctl/pkg/platform"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// platformsOf is the Platforms of an image entry: its config's platform.
func platformsOf(cf *v1.ConfigFile) []string {
	if p := platform.Of(cf); p != nil {
		return []string{platform.String(p)}
	}
	return nil
}

// addChild counts the stored child c, listed in an index by d, into the
// index's entry e: its size, its creation time when newer, and its
// platform as the index names it (platform.String of d's, as pull, inspect
// and platform selection read it: "unknown/unknown" for an entry naming
// none, whatever the child's config says). Artifacts add size only.
func (e *Entry) addChild(d v1.Descriptor, c Entry) {
	e.Size += c.Size
	if c.Created.After(e.Created) {
		e.Created = c.Created
	}
	if !platform.IsImage(d) {
		return
	}
	if p := platform.String(d.Platform); !slices.Contains(e.Platforms, p) {
		e.Platforms = append(e.Platforms, p)
	}
}
