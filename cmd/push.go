package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/spf13/cobra"
)

type pushOptions struct {
	IO       *IOStreams
	Registry func() (*registry.Client, error)
	Local    func(jobs int) (localImages, error)
	Ref      string
	transferFlags
	// Semver: push REPO:VERSION, then write its moving tags (cmd/tag_semver.go).
	Semver semverFlags
}

func newPushCmd(f *Factory, runF func(*pushOptions) error) *cobra.Command {
	opts := &pushOptions{IO: f.IO, Registry: f.Registry, Local: f.localImages}
	c := &cobra.Command{
		Use:   "push REF",
		Short: "Push an image, or every tag of a repository, from the local store",
		Long: `Push an image from the local store to its registry. Only what the registry
lacks is sent: blobs it has are skipped, blobs in another repository of the
same registry are mounted, each blob goes up once however many tags share
it, and a tag that already points at the image is left alone. The manifest
goes last, so an interrupted push leaves the tag as it was.

Without a tag, "latest" is pushed; with --all-tags, every tag of the
repository in the store.

With --semver, REF is REPOSITORY:MAJOR.MINOR.PATCH: that tag is pushed,
then the moving tags MAJOR.MINOR, MAJOR and latest are written on the
registry as manifests only, never moving one backwards (see
"ctl tag --semver" and docs/versioned-tags.md). --dry-run prints the plan
and pushes nothing.`,
		Example: `  ctl push registry.local:5000/gallery/ui:v1
  ctl push --all-tags registry.local:5000/gallery/ui
  ctl push --semver registry.local:5000/gallery/ui:2.1.106`,
		Args: func(c *cobra.Command, args []string) error {
			if (opts.Semver.NoLatest || opts.Semver.DryRun) && !opts.Semver.Semver {
				return errors.New("--no-latest and --dry-run work with --semver only")
			}
			if opts.Semver.Semver && opts.AllTags {
				return errors.New("--semver and --all-tags cannot be combined")
			}
			return cobra.ExactArgs(1)(c, args)
		},
		ValidArgsFunction: completeLocalRefs(f, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(opts)
			}
			if opts.Semver.Semver {
				return runPushSemver(c.Context(), opts)
			}
			return runPush(c.Context(), opts)
		},
	}
	fl := c.Flags()
	opts.add(fl, "push every tag of the repository", "blobs to move at once", "Tag")
	fl.BoolVar(&opts.Semver.Semver, "semver", false, semverFlagHelp)
	fl.BoolVar(&opts.Semver.NoLatest, "no-latest", false, noLatestFlagHelp)
	fl.BoolVar(&opts.Semver.DryRun, "dry-run", false, dryRunSemverHelp)
	return c
}

func runPush(ctx context.Context, opts *pushOptions) error {
	ref, err := opts.parseRef(opts.Ref)
	if err != nil {
		return err
	}
	out, c, err := opts.start(opts.Registry)
	if err != nil {
		return err
	}
	local, err := opts.Local(opts.Jobs)
	if err != nil {
		return err
	}
	tags, err := local.PushTargets(ref, opts.AllTags)
	if err != nil {
		return err
	}
	if !opts.AllTags && !opts.Quiet && ref.Tag() == "" && ref.Digest() == "" {
		// As docker push and ctl pull say it (on stderr: not a result).
		fmt.Fprintln(opts.IO.ErrOut, "Using default tag: "+ref.DefaultedTag())
	}
	return opts.sendTo(opts.IO, out, ref, func(started func(), progress registry.ProgressFunc) ([]registry.PushResult, error) {
		started() // the local images are known
		results, err := c.Push(ctx, ref, tags, registry.PushOptions{Progress: progress, Sources: local.MountSources(ref)})
		if err != nil {
			return nil, err
		}
		return results, local.Pushed(ref, results)
	})
}
