package cmd

import (
	"errors"
	"fmt"
	"io"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/spf13/cobra"
)

type rmiOptions struct {
	IO     *IOStreams
	Store  func() (*store.Store, error)
	Refs   []string
	Force  bool
	Format string
}

// rmiItem is what rmi prints per removed reference or image, as --format
// sees it.
type rmiItem struct {
	Reference string `json:"reference"` // the familiar reference, or what was deleted (see Long)
	Untagged  bool   `json:"untagged"`  // a reference went (else the image)
}

func newRmiCmd(f *Factory, runF func(*rmiOptions) error) *cobra.Command {
	opts := &rmiOptions{IO: f.IO, Store: f.ReadStore}
	c := &cobra.Command{
		Use:     "rmi IMAGE...",
		Aliases: []string{"remove"},
		Short:   "Remove references to local images, and images left without any",
		Long: `Remove references from the local store, as docker rmi does. A reference
loses only that reference; an image ID removes all its references, which
needs --force when they are in several repositories. An image whose last
reference goes is deleted; its blobs are reclaimed by "ctl image prune".
An image a tagged index lists (a platform of a multi-platform image)
stays, untagged, as that index's child: it goes with the index, and
removing it by ID while the index stays is refused.
An artifact (a signature, an SBOM) is removed the same way; its ID is its
manifest digest.

Each reference removed prints "Untagged: REF"; "Deleted: sha256:..." is
printed only for what leaves the store: the ID of an image or artifact
left without any reference, or, when another manifest of the same image
ID stays (one image loaded in two forms), the manifest that went.`,
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
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("Reference"))
	return c
}

// runRmi goes on past an image it cannot remove, as docker does, and fails
// at the end with every error.
func runRmi(opts *rmiOptions) error {
	p, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	emit := func(item rmiItem) error {
		return p.Print(opts.IO.Out, item, func(w io.Writer) error {
			verb := "Deleted"
			if item.Untagged {
				verb = "Untagged"
			}
			_, err := fmt.Fprintf(w, "%s: %s\n", verb, item.Reference)
			return err
		})
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
			if err := emit(rmiItem{Reference: u, Untagged: true}); err != nil {
				return err
			}
		}
		for _, d := range res.Deleted {
			if err := emit(rmiItem{Reference: d.String()}); err != nil {
				return err
			}
		}
	}
	return errors.Join(errs...)
}
