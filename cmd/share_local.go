package cmd

import (
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// localImages is what push and pull need of the local store.
type localImages interface {
	registry.PullSink
	// PushTargets returns the image ref names (latest when it has no tag),
	// or with all every tagged image of its repository.
	PushTargets(ref reference.Reference, all bool) ([]registry.PushTag, error)
	// MountSources names, per blob, other repositories of ref's registry
	// the store knows images of that hold it: mount candidates.
	MountSources(ref reference.Reference) map[v1.Hash][]string
	// Pushed records that the tags of results, in ref's repository, now
	// have the digests pushed.
	Pushed(ref reference.Reference, results []registry.PushResult) error
}
