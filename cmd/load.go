package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/spf13/cobra"
)

type loadOptions struct {
	IO     *IOStreams
	Store  func() (*store.Store, error)
	Input  string
	Quiet  bool // docker's -q: no progress; ctl load shows none, so the results print either way
	Format string
}

// loadedItem is what load prints per image, as --format sees it.
type loadedItem struct {
	Reference string `json:"reference"` // docker's short form; empty for an image without one
	ID        string `json:"id"`        // the image ID (config digest)
	Digest    string `json:"digest"`    // the manifest digest
}

func newLoadCmd(f *Factory, runF func(*loadOptions) error) *cobra.Command {
	opts := &loadOptions{IO: f.IO, Store: f.Store}
	c := &cobra.Command{
		Use:   "load [-i PATH]",
		Short: "Load images from a docker save tar, an OCI archive or an OCI layout directory",
		Long: `Load images into the local store from a "docker save" tar (gzip'd or not),
an OCI archive (an OCI image layout in a tar, gzip'd or not) or an OCI image
layout directory. Without -i, the archive is read from standard input.
Every blob is checked against its digest; nothing appears in the store
unless the whole archive loads.`,
		Example: `  ctl load -i nginx.tar
  ctl load --input ./oci-layout
  gzip -dc app.tar.gz | ctl load`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runLoad(c.Context(), opts)
		},
	}
	c.Flags().StringVarP(&opts.Input, "input", "i", "", "archive file or OCI layout directory to read (default: standard input)")
	c.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress, results only (as docker's, the Loaded image lines still print)")
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("Reference"))
	return c
}

func runLoad(ctx context.Context, opts *loadOptions) error {
	if opts.Input == "" && opts.IO.StdinTTY {
		return usageError{errors.New("requested load from stdin, but stdin is empty (use -i PATH)")}
	}
	p, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	var loaded []store.Entry
	if opts.Input == "" {
		loaded, err = s.LoadStream(ctx, opts.IO.In, "standard input")
	} else {
		loaded, err = s.Load(ctx, opts.Input)
	}
	if err != nil {
		return err
	}
	for _, e := range loaded {
		item := loadedItem{ID: e.ID.String(), Digest: e.Digest.String()}
		if r, ok := e.Reference(); ok {
			item.Reference = familiar(r)
		}
		if err := p.Print(opts.IO.Out, item, func(w io.Writer) error {
			if item.Reference != "" {
				_, err := fmt.Fprintf(w, "Loaded image: %s\n", item.Reference)
				return err
			}
			_, err := fmt.Fprintf(w, "Loaded image ID: %s\n", item.ID)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}
