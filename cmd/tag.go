package cmd

import (
	"errors"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/spf13/cobra"
)

type tagOptions struct {
	Store   func() (*store.Store, error)
	Source  string
	Targets []string

	// --semver: versioned tags (tag_semver.go); Remote works on the
	// registry through Registry instead of the store.
	Semver   semverFlags
	Remote   bool
	Format   string // --format of the --semver results
	Registry func() (*registry.Client, error)
	IO       *IOStreams
	Args     []string
}

func newTagCmd(f *Factory, runF func(*tagOptions) error) *cobra.Command {
	opts := &tagOptions{Store: f.ReadStore, Registry: f.Registry, IO: f.IO}
	c := &cobra.Command{
		Use:   "tag SOURCE TARGET...",
		Short: "Give a local image more references",
		Long: `Give an image of the local store new references; nothing is copied.
SOURCE is a reference (familiar or full, with a tag or a digest), an image ID
or a unique prefix of one. Each TARGET is a reference with a tag (":latest"
when none is given); a digest cannot be a target.

With --semver the single TARGET is REPOSITORY:MAJOR.MINOR.PATCH and the
moving tags users pin to are written too: MAJOR.MINOR, MAJOR and latest
(--no-latest to skip it; a pre-release gets only its own tag; a leading "v"
is kept: v2.1.106 writes v2.1.106, v2.1, v2, latest). A moving tag never
goes backwards: it moves only when the version is at least the newest
release already tagged in its line; kept tags are reported on stderr.

With --semver --remote the tags are written on the registry, manifests
only, nothing downloaded: "ctl tag --semver --remote REPO:VERSION" tags
what REPO:VERSION already names there; "ctl tag --semver --remote SOURCE
REPO:VERSION" tags SOURCE (a tag or digest of the same repository).

--format prints each written tag (repository, tag, digest, size) as JSON
or through a template; with --dry-run, each step of the plan (repository,
tag, digest, action, reason). Without --semver, tag prints nothing.
See docs/versioned-tags.md.`,
		Example: `  ctl tag image-gallery user/image-gallery:v1
  ctl tag 4a1b2c3d registry.local:5000/gallery/ui:v1 registry.local:5000/gallery/ui:latest
  ctl tag --semver app-build registry.local:5000/app:2.1.106
  ctl tag --semver --remote registry.local:5000/app:2.1.106
  ctl tag --semver --remote --dry-run registry.local:5000/app:build-7 registry.local:5000/app:2.2.0`,
		Args: func(c *cobra.Command, args []string) error {
			switch {
			case opts.Remote && !opts.Semver.Semver:
				return errors.New("--remote works with --semver only")
			case (opts.Semver.NoLatest || opts.Semver.DryRun) && !opts.Semver.Semver:
				return errors.New("--no-latest and --dry-run work with --semver only")
			case opts.Format != "text" && !opts.Semver.Semver:
				return errors.New("--format works with --semver only: tag prints nothing otherwise")
			case opts.Remote:
				return cobra.RangeArgs(1, 2)(c, args)
			case opts.Semver.Semver:
				return cobra.ExactArgs(2)(c, args)
			}
			return cobra.MinimumNArgs(2)(c, args)
		},
		ValidArgsFunction: completeLocalRefs(f, 0),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Args = args
			opts.Source, opts.Targets = args[0], args[1:]
			if runF != nil {
				return runF(opts)
			}
			if opts.Remote {
				cl, err := opts.Registry()
				if err != nil {
					return err
				}
				out, err := newPrinter(opts.Format)
				if err != nil {
					return err
				}
				return tagRemoteSemver(c.Context(), opts.IO, out, cl, args, opts.Semver)
			}
			if opts.Semver.Semver {
				return runTagSemverLocal(opts)
			}
			return runTag(opts)
		},
	}
	c.Flags().BoolVar(&opts.Semver.Semver, "semver", false, semverFlagHelp)
	c.Flags().BoolVar(&opts.Remote, "remote", false, "with --semver, tag on the registry (manifests only) instead of the local store")
	c.Flags().BoolVar(&opts.Semver.NoLatest, "no-latest", false, noLatestFlagHelp)
	c.Flags().BoolVar(&opts.Semver.DryRun, "dry-run", false, dryRunSemverHelp)
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("Tag")+", with --semver")
	return c
}

func runTag(opts *tagOptions) error {
	targets := make([]reference.Reference, len(opts.Targets))
	for i, t := range opts.Targets {
		r, err := reference.Parse(t)
		if err != nil {
			return err
		}
		targets[i] = r
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	src, err := s.Resolve(opts.Source)
	if err != nil {
		return err
	}
	return s.Tag(src, targets...)
}
