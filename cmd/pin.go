package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ctl-dev/ctl/pkg/atomicfile"
	"github.com/ctl-dev/ctl/pkg/golden"
	"github.com/spf13/cobra"
)

type pinOptions struct {
	IO        *IOStreams
	Files     []string
	DryRun    bool
	Update    bool
	BuildArgs []string
	Format    string
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
tag is pinned as IMAGE:latest@sha256:..., which "ctl check dockerfile
--require-pinned" accepts: a digest pins. For a multi-platform image the
digest is the index's, as "ctl digest" and "crane digest" print it.

Only the image operand changes; comments, spacing and line continuations
stay as they were, and the file is replaced atomically. FROM lines that
already carry a digest are kept (so pin is idempotent) unless --update
re-resolves their tag. Stages and scratch are left alone. A FROM that is one
build argument ($BASE) is pinned in its ARG default; one whose registry or
repository is a build argument ($REG/golden/sdk:3.0) gets the digest
resolved with the ARG defaults appended, the variable kept; one whose tag is
a build argument is left alone.

--dry-run prints a unified diff on stdout and changes nothing. Otherwise
each pinned FROM is reported as "FILE:LINE: OLD -> NEW" on stdout, in line
order, and FROM lines left alone are reported with the reason on stderr.
A base whose digest cannot be resolved (an unreachable registry, a missing
tag) is reported on stderr; the others are still pinned, and pin exits 1.

--format json (or a Go template) prints each pinned FROM as one object
(file, line, old, new, dryRun); with --dry-run too, in place of the diff,
for each FROM that would be pinned.`,
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
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("New"))
	return c
}

// pinnedItem is what pin prints per pinned FROM, as --format sees it.
type pinnedItem struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Old    string `json:"old"`    // the image operand as written
	New    string `json:"new"`    // IMAGE:TAG@DIGEST
	DryRun bool   `json:"dryRun"` // the file was not changed
}

func runPin(ctx context.Context, opts *pinOptions) error {
	buildArgs, err := parseBuildArgs(opts.BuildArgs)
	if err != nil {
		return err
	}
	printer, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	// A dry run shows a diff as text; in another format, the items of
	// what would be pinned.
	diff := opts.DryRun && printer.Text()
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
	failed := 0
	for i, file := range opts.Files {
		out, changes, err := golden.Pin(ctx, file, srcs[i], opts.Resolver, po)
		if err != nil {
			return err
		}
		for _, c := range changes {
			switch {
			case c.Action == golden.PinFailed:
				failed++
				fmt.Fprintf(opts.IO.ErrOut, "%s:%d: not pinned: %s\n", c.File, c.Line, escapeControl(c.Reason))
			case c.Action == golden.PinKept:
				fmt.Fprintf(opts.IO.ErrOut, "%s:%d: kept %s: %s\n", c.File, c.Line, c.Old, reasonText(c.Reason))
			case c.Action == golden.PinPinned && !diff:
				item := pinnedItem{File: c.File, Line: c.Line, Old: c.Old, New: c.New, DryRun: opts.DryRun}
				if err := printer.Print(opts.IO.Out, item, func(w io.Writer) error {
					_, err := fmt.Fprintf(w, "%s:%d: %s -> %s\n", c.File, c.Line, c.Old, c.New)
					return err
				}); err != nil {
					return err
				}
			}
		}
		if diff {
			fmt.Fprint(opts.IO.Out, golden.UnifiedDiff(file, srcs[i], out))
		}
		if opts.DryRun {
			continue
		}
		if string(out) != string(srcs[i]) {
			if err := atomicfile.WriteFile(file, out); err != nil {
				return err // "writing FILE: ..."
			}
		}
	}
	if failed > 0 {
		if failed == 1 {
			return errors.New("1 base image could not be resolved (above); the others were pinned")
		}
		return fmt.Errorf("%d base images could not be resolved (above); the others were pinned", failed)
	}
	return nil
}
