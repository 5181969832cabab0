package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/golden"
	"github.com/spf13/cobra"
)

type pinOptions struct {
	IO        *IOStreams
	Files     []string
	DryRun    bool
	Update    bool
	BuildArgs []string
	// Resolver finds digests; built from the registry client when nil.
	Resolver golden.Resolver
}

func newPinCmd(f *Factory, runF func(*pinOptions) error) *cobra.Command {
	opts := &pinOptions{IO: f.IO}
	c := &cobra.Command{
		Use:   "pin [FILE...]",
		Short: "Pin every FROM of Dockerfiles to the digest its tag has now",
		Long: `Rewrite each FROM of the Dockerfiles (default ./Dockerfile) to
IMAGE:TAG@sha256:..., with the digest resolved from the image's registry
(credentials from docker's config, as every ctl command). A FROM without a
tag is pinned as IMAGE:latest@sha256:.... For a multi-platform image the
digest is the index's, as "ctl digest" and "crane digest" print it.

Only the image operand changes; comments, spacing and line continuations
stay as they were, and the file is replaced atomically. FROM lines that
already carry a digest are kept (so pin is idempotent) unless --update
re-resolves their tag. Stages, scratch, and images written with build
arguments ($VAR) are left alone; pin the ARG default by hand.

--dry-run prints a unified diff on stdout and changes nothing. Otherwise
each pinned FROM is reported as "FILE:LINE: OLD -> NEW" on stdout, and
FROM lines left alone are reported with the reason on stderr.`,
		Example: `  ctl pin
  ctl pin --dry-run services/*/Dockerfile
  ctl pin --update Dockerfile`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Files = args
			if len(opts.Files) == 0 {
				opts.Files = []string{"Dockerfile"}
			}
			if runF != nil {
				return runF(opts)
			}
			if opts.Resolver == nil {
				r, err := f.digestResolver()
				if err != nil {
					return err
				}
				opts.Resolver = r
			}
			return runPin(c.Context(), opts)
		},
	}
	c.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print a unified diff of the changes and write nothing")
	c.Flags().BoolVar(&opts.Update, "update", false, "re-resolve FROM lines that are already pinned")
	c.Flags().StringArrayVar(&opts.BuildArgs, "build-arg", nil, "KEY=VALUE overriding an ARG default (repeatable)")
	return c
}

func runPin(ctx context.Context, opts *pinOptions) error {
	buildArgs, err := parseBuildArgs(opts.BuildArgs)
	if err != nil {
		return err
	}
	po := golden.PinOptions{Update: opts.Update, BuildArgs: buildArgs}
	// Read and check every file before resolving anything, so a typo in the
	// last file does not leave the first ones rewritten.
	srcs := make([][]byte, len(opts.Files))
	for i, file := range opts.Files {
		if file == "-" {
			return invalidInput(errors.New(`pin rewrites files in place: "-" (standard input) is not supported`))
		}
		if srcs[i], err = readDockerfile(opts.IO, file); err != nil {
			return invalidInput(err)
		}
		if _, err := golden.Bases(file, srcs[i], buildArgs); err != nil {
			return invalidInput(err)
		}
	}
	for i, file := range opts.Files {
		out, changes, err := golden.Pin(ctx, file, srcs[i], opts.Resolver, po)
		if err != nil {
			return err
		}
		for _, c := range changes {
			switch {
			case c.Action == golden.PinKept:
				fmt.Fprintf(opts.IO.ErrOut, "%s:%d: kept %s: %s\n", c.File, c.Line, c.Old, c.Reason)
			case c.Action == golden.PinPinned && !opts.DryRun:
				fmt.Fprintf(opts.IO.Out, "%s:%d: %s -> %s\n", c.File, c.Line, c.Old, c.New)
			}
		}
		if opts.DryRun {
			fmt.Fprint(opts.IO.Out, golden.UnifiedDiff(file, srcs[i], out))
			continue
		}
		if string(out) != string(srcs[i]) {
			if err := golden.WriteFileAtomic(file, out); err != nil {
				return fmt.Errorf("writing %s: %w", file, err)
			}
		}
	}
	return nil
}
