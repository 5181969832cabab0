package cmd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/spf13/cobra"
)

type imagePruneOptions struct {
	IO     *IOStreams
	Store  func() (*store.Store, error)
	Force  bool
	All    bool
	Format string
}

// pruneItem is what image prune prints, as --format sees it.
type pruneItem struct {
	Deleted        []string `json:"deleted"`        // IDs of the untagged images removed
	SpaceReclaimed int64    `json:"spaceReclaimed"` // bytes
}

func newImagePruneCmd(f *Factory, runF func(*imagePruneOptions) error) *cobra.Command {
	opts := &imagePruneOptions{IO: f.IO, Store: f.Store}
	c := &cobra.Command{
		Use:   "prune [--all] [--force]",
		Short: "Remove untagged images and unreferenced blobs from the local store",
		Long: `Remove the untagged ("dangling") images of the local store, every blob no
remaining image needs, and the temp files of interrupted loads and pulls;
print the space reclaimed. --all (-a) removes every image, tagged or not:
docker's "unused" images, and with no containers every image is unused. On a terminal it asks first; elsewhere --force is
required (a script never deletes by accident), as the prompt cannot be
answered.`,
		Example: `  ctl image prune
  ctl image prune --force
  ctl image prune -a -f`,
		Args:              cobra.NoArgs,
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(_ *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runImagePrune(opts)
		},
	}
	c.Flags().BoolVarP(&opts.Force, "force", "f", false, "do not ask for confirmation")
	c.Flags().BoolVarP(&opts.All, "all", "a", false, "remove every image, tagged or not (docker's unused images: the store has no containers)")
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("SpaceReclaimed"))
	return c
}

func runImagePrune(opts *imagePruneOptions) error {
	p, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	if !opts.Force {
		if !opts.IO.StdinTTY {
			return usageError{errors.New("refusing to prune without --force when standard input is not a terminal")}
		}
		what := "all dangling images"
		if opts.All {
			what = "all images"
		}
		fmt.Fprintf(opts.IO.ErrOut, "WARNING! This will remove %s and unreferenced blobs.\nAre you sure you want to continue? [y/N] ", what)
		line, _ := bufio.NewReader(opts.IO.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
			return nil
		}
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	res, err := s.PruneWith(store.PruneOptions{All: opts.All})
	if err != nil {
		return err
	}
	item := pruneItem{Deleted: []string{}, SpaceReclaimed: res.Reclaimed}
	for _, d := range res.Deleted {
		item.Deleted = append(item.Deleted, d.String())
	}
	return p.Print(opts.IO.Out, item, func(w io.Writer) error {
		if len(item.Deleted) > 0 {
			fmt.Fprintln(w, "Deleted Images:")
			for _, d := range item.Deleted {
				fmt.Fprintf(w, "deleted: %s\n", d)
			}
			fmt.Fprintln(w)
		}
		_, err := fmt.Fprintf(w, "Total reclaimed space: %s\n", humanSize(item.SpaceReclaimed))
		return err
	})
}
