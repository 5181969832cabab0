package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
)

// remoteRefOptions are the options of the commands that read one reference
// on a registry, or in the local store for a local image named without a
// registry (see local): digest, inspect and manifest get.
type remoteRefOptions struct {
	IO       *IOStreams
	Registry registryFunc
	Store    func() (*store.Store, error) // nil: the registry answers every reference

	Ref      string
	Platform string
	Format   string
}

const platformFlagHelp = "resolve an index to this platform's manifest (OS/ARCH[/VARIANT])"

// remoteRefCmd completes c, whose Use, Short, Long and Example are set, as
// a command on one registry reference with --platform and --format (over
// items with the field formatField, for the help's example); run does the
// work unless runF (tests) is given.
func remoteRefCmd(f *Factory, c *cobra.Command, formatField string, runF func(*remoteRefOptions) error, run func(context.Context, *remoteRefOptions) error) *cobra.Command {
	opts := &remoteRefOptions{IO: f.IO, Registry: f.Registry, Store: f.ExistingStore}
	c.Args = cobra.ExactArgs(1)
	c.ValidArgsFunction = completeRemoteRefs(f)
	c.RunE = func(c *cobra.Command, args []string) error {
		opts.Ref = args[0]
		if runF != nil {
			return runF(opts)
		}
		return run(c.Context(), opts)
	}
	c.Flags().StringVar(&opts.Platform, "platform", "", platformFlagHelp)
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp(formatField))
	return c
}

// target is what these commands start with: the output format checked,
// the parsed reference, its --platform, and a registry client.
func (o *remoteRefOptions) target() (*printer, reference.Reference, *v1.Platform, *registry.Client, error) {
	p, err := newPrinter(o.Format)
	if err != nil {
		return nil, reference.Reference{}, nil, nil, err
	}
	r, err := reference.Parse(o.Ref)
	if err != nil {
		return nil, reference.Reference{}, nil, nil, err
	}
	platform, err := parsePlatform(o.Platform)
	if err != nil {
		return nil, reference.Reference{}, nil, nil, err
	}
	rc, err := o.Registry()
	return p, r, platform, rc, err
}

// sourceLocal is the "source" of what the local store answered.
const sourceLocal = "local"

// local is the store's entry for r when the reference was written without
// a registry and names a local image of the store, made there and never
// pulled or pushed (app:v1 after "ctl index create", or "ctl load"): the
// store answers, as docker's inspect and manifest inspect read local
// images first, and stderr says so. A pulled or pushed image, and a name
// that writes its registry, go to the registry (docs/design.md, "A name
// without a registry").
func (o *remoteRefOptions) local(r reference.Reference) (*store.Store, store.Entry, bool) {
	if reference.NamesRegistry(o.Ref) || o.Store == nil {
		return nil, store.Entry{}, false
	}
	s, err := o.Store()
	if err != nil {
		return nil, store.Entry{}, false
	}
	e, err := s.Resolve(o.Ref)
	if err != nil || e.Remote {
		return nil, store.Entry{}, false
	}
	fmt.Fprintf(o.IO.ErrOut, "Using the local image %s (name the registry, e.g. %s, for the registry's)\n", escapeControl(o.Ref), r.String())
	return s, e, true
}

// notPushed adds a next step to a registry's "not found" of a reference the
// store holds (made by index create and not pushed yet, or removed from the
// registry since it was pulled).
func (o *remoteRefOptions) notPushed(err error) error {
	if o.Store == nil || !errors.Is(err, registry.ErrNotFound) || errors.Is(err, platform.ErrNotFound) {
		return err
	}
	s, serr := o.Store()
	if serr != nil {
		return err
	}
	if _, serr := s.Resolve(o.Ref); serr != nil {
		return err
	}
	ref := escapeControl(o.Ref)
	return hinted{err, fmt.Sprintf("the local store holds %s: ctl push %s sends it there, ctl image inspect %s shows it", ref, ref, ref)}
}
