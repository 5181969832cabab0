package cmd

import (
	"errors"
	"fmt"
	"io"

	"github.com/ctl-dev/ctl/pkg/golden"
	"github.com/spf13/cobra"
)

// newCheckCmd is the "ctl check" group: policy checks made to run in CI.
func newCheckCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "check",
		Short: "Check files against image policies (made to run in CI)",
	}
	c.AddCommand(newCheckDockerfileCmd(f, nil))
	return c
}

type checkDockerfileOptions struct {
	IO            *IOStreams
	Files         []string
	Allow         []string
	RequirePinned bool
	BuildArgs     []string
	Format        string
}

func newCheckDockerfileCmd(f *Factory, runF func(*checkDockerfileOptions) error) *cobra.Command {
	opts := &checkDockerfileOptions{IO: f.IO}
	c := &cobra.Command{
		Use:   "dockerfile [FILE...]",
		Short: "Report FROM lines that are not approved golden bases or not pinned",
		Long: `Read Dockerfiles (default ./Dockerfile; "-" reads standard input) and report,
one "FILE:LINE: ..." line each on stdout, every FROM whose base image is not
under an --allow prefix and, with --require-pinned, every base without a
digest (a digest pins, whatever the tag beside it: what "ctl pin" writes
passes).

Prefixes are normalised like references ("golden/x" is "docker.io/golden/x")
and match whole path components: "golden/" approves golden/aspnet-core but
not goldenx/app; "registry.local:5000/" approves a whole registry;
"golden/aspnet-core:3.0" approves that tag only. Stages named with AS and
"scratch" are not bases. ARG defaults before the first FROM are substituted
(override them with --build-arg).

Exit status: 0 when nothing is reported, 1 when something is, 2 when a
file cannot be read, is not a Dockerfile (no FROM, or an instruction
before the first FROM other than ARG) or names an invalid reference.`,
		Example: `  ctl check dockerfile --allow golden/ --allow registry.local:5000/golden/
  ctl check dockerfile --require-pinned build/*/Dockerfile
  ctl check dockerfile --allow golden/ --format json`,
		Args: cobra.ArbitraryArgs,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Files = args
			if len(opts.Files) == 0 {
				opts.Files = []string{"Dockerfile"}
			}
			if runF != nil {
				return runF(opts)
			}
			return runCheckDockerfile(opts)
		},
	}
	c.Flags().StringSliceVar(&opts.Allow, "allow", nil, "approved base image prefix (repeatable or comma-separated)")
	c.Flags().BoolVar(&opts.RequirePinned, "require-pinned", false, "also report bases without a digest")
	c.Flags().StringArrayVar(&opts.BuildArgs, "build-arg", nil, "KEY=VALUE overriding an ARG default (repeatable)")
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("Reference"))
	return c
}

func runCheckDockerfile(opts *checkDockerfileOptions) error {
	p, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	if len(opts.Allow) == 0 && !opts.RequirePinned {
		return invalidInput(errors.New("nothing to check: give --allow PREFIX and/or --require-pinned"))
	}
	co := golden.CheckOptions{RequirePinned: opts.RequirePinned}
	if len(opts.Allow) > 0 {
		if co.Allow, err = golden.ParseAllowlist(opts.Allow); err != nil {
			return err
		}
	}
	if co.BuildArgs, err = parseBuildArgs(opts.BuildArgs); err != nil {
		return err
	}
	// Check every file even after a bad one: CI should see all problems at
	// once. Unreadable input still decides the exit code (2).
	var bad []error
	found := 0
	for _, file := range opts.Files {
		src, err := readDockerfile(opts.IO, file)
		if err == nil {
			var fs []golden.Finding
			fs, err = golden.Check(file, src, co)
			for _, fd := range fs {
				found++
				if err := p.Print(opts.IO.Out, fd, func(w io.Writer) error {
					_, err := fmt.Fprintln(w, escapeControl(fd.String()))
					return err
				}); err != nil {
					return err
				}
			}
		}
		if err != nil {
			bad = append(bad, err)
		}
	}
	if len(bad) > 0 {
		return invalidInput(errors.Join(bad...))
	}
	if found > 0 {
		if found == 1 {
			return errors.New("1 problem found")
		}
		return fmt.Errorf("%d problems found", found)
	}
	return nil
}
