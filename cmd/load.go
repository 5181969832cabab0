package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/spf13/cobra"
)

type loadOptions struct {
	IO    *IOStreams
	Store func() (*store.Store, error)
	Input string
	Quiet bool
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
	c.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing")
	return c
}

func runLoad(ctx context.Context, opts *loadOptions) error {
	if opts.Input == "" && opts.IO.StdinTTY {
		return usageError{errors.New("requested load from stdin, but stdin is empty (use -i PATH)")}
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
	if opts.Quiet {
		return nil
	}
	for _, e := range loaded {
		if r, ok := e.Reference(); ok {
			fmt.Fprintf(opts.IO.Out, "Loaded image: %s\n", familiar(r))
		} else {
			fmt.Fprintf(opts.IO.Out, "Loaded image ID: %s\n", e.ID)
		}
	}
	return nil
}

// familiar is docker's short form of a stored reference.
func familiar(r reference.Reference) string { return r.Familiar() }
