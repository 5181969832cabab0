package store

import (
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
// none, whatever the child's config says; a child index naming none adds
// the platforms it lists). Artifacts add size only. The
// size counts each image once, however many of e's children list it: an
// index listing a child again, or indexes of a diamond (A lists B1 and
// B2, both list C), hold no more content.
func (e *Entry) addChild(d v1.Descriptor, c Entry) {
	images := c.images
	if images == nil { // an image, or an index none of whose children is stored
		images = map[v1.Hash]int64{c.Digest: c.Size}
	}
	if e.images == nil {
		e.images = map[v1.Hash]int64{}
	}
	for h, size := range images {
		if _, ok := e.images[h]; !ok {
			e.images[h] = size
			e.Size += size
		}
	}
	if c.Created.After(e.Created) {
		e.Created = c.Created
	}
	if !platform.IsImage(d) {
		return
	}
	e.Platforms = platform.Add(e.Platforms, d, c.Platforms)
}
