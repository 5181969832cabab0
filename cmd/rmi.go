package cmd

import (
	"errors"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/spf13/cobra"
)

type rmiOptions struct {
	IO    *IOStreams
	Store func() (*store.Store, error)
	Refs  []string
	Force bool
}

func newRmiCmd(f *Factory, runF func(*rmiOptions) error) *cobra.Command {
	opts := &rmiOptions{IO: f.IO, Store: f.Store}
	c := &cobra.Command{
		Use:     "rmi IMAGE...",
		Aliases: []string{"remove"},
		Short:   "Remove references to local images, and images left without any",
		Long: `Remove references from the local store, as docker rmi does. A reference
loses only that reference; an image ID removes all its references, which
needs --force when they are in several repositories. An image whose last
reference goes is deleted; its blobs are reclaimed by "ctl image prune".`,
		Example: `  ctl rmi nginx:1.25
  ctl rmi -f 4a1b2c3d`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeLocalRefs(f, 0),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Refs = args
			if runF != nil {
				return runF(opts)
			}
			return runRmi(opts)
		},
	}
	c.Flags().BoolVarP(&opts.Force, "force", "f", false, "remove an image ID's references in every repository")
	return c
}

// runRmi goes on past an image it cannot remove, as docker does, and fails
// at the end with every error.
func runRmi(opts *rmiOptions) error {
	s, err := opts.Store()
	if err != nil {
		return err
	}
	var errs []error
	for _, src := range opts.Refs {
		res, err := s.Remove(src, opts.Force)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, u := range res.Untagged {
			if r, perr := reference.Parse(u); perr == nil {
				u = r.Familiar()
			}
			fmt.Fprintf(opts.IO.Out, "Untagged: %s\n", u)
		}
		for _, d := range res.Deleted {
			fmt.Fprintf(opts.IO.Out, "Deleted: %s\n", d)
		}
	}
	return errors.Join(errs...)
}
