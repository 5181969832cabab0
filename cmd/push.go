package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ctl-dev/ctl/pkg/engine"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/ctl-dev/ctl/pkg/tagplan"
	"github.com/ctl-dev/ctl/pkg/transfer"
	"github.com/spf13/cobra"
)

type pushOptions struct {
	IO       *IOStreams
	Registry func() (*registry.Client, error)
	Store    func() (*store.Store, error)
	// WriteStore opens the store for --from-engine, which loads into it
	// (Store only reads: a push needs the images there already).
	WriteStore func() (*store.Store, error)
	Engine     func(context.Context) (*engine.Client, error)
	Ref        string
	// FromEngine pushes the container engine's image, not the store's.
	FromEngine bool
	// Platform picks what of a multi-platform image is pushed (see
	// parsePlatforms).
	Platform string
	transferFlags
	// Semver: push REPO:VERSION, then write its moving tags.
	Semver semverFlags
}

func newPushCmd(f *Factory, runF func(*pushOptions) error) *cobra.Command {
	opts := &pushOptions{IO: f.IO, Registry: f.Registry, Store: f.ReadStore, WriteStore: f.Store, Engine: f.Engine}
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

A multi-platform image is pushed whole unless --platform picks one image
out of it (OS/ARCH[/VARIANT]: that image goes up under the tag, as
"docker push --platform" does) or several (a comma list: a filtered index
of those, under a new digest), as copy and pull choose.

With --semver, REF is REPOSITORY:MAJOR.MINOR.PATCH: that tag is pushed,
then the moving tags MAJOR.MINOR, MAJOR and latest are written on the
registry as manifests only, never moving one backwards (see
"ctl tag --semver" and docs/versioned-tags.md). --dry-run prints the plan
and pushes nothing.

--referrers also sends what refers to the image in the store (what "ctl pull
--referrers" stored, under any name: digests are the same everywhere), the
way the registry lists referrers (its API, or the sha256-<hex> tag schema,
keeping the entries already there), and reads the registry's tree back: a
referrer missing there fails the push, naming it. The referrers pushed are
told on stderr, a line each and a count; stdout keeps the one result line
per tag.

With --from-engine, the image (or with --all-tags every tag of the
repository) is the container engine's, found as docker finds it
(DOCKER_HOST, the current docker context, /var/run/docker.sock): the
engine's save stream is read once into the store, as "ctl load
--from-engine REF" copies it, and pushed from there, as "ctl push REF"
then would: the same digest on the registry, the same skips and output.
The image stays in the store, as load leaves it ("ctl rmi REF" removes
it), so pushing it again from there needs no engine. The engine must have
the image under REF (docker tag image-gallery REF).`,
		Example: `  ctl push registry.local:5000/gallery/ui:v1
  ctl push --from-engine registry.local:5000/gallery/ui:v1
  ctl push --all-tags registry.local:5000/gallery/ui
  ctl push --platform linux/arm64 registry.local:5000/gallery/ui:v1
  ctl push --semver registry.local:5000/gallery/ui:2.1.106`,
		Args: func(c *cobra.Command, args []string) error {
			if (opts.Semver.NoLatest || opts.Semver.DryRun) && !opts.Semver.Semver {
				return errors.New("--no-latest and --dry-run work with --semver only")
			}
			if opts.Semver.Semver && opts.AllTags {
				return errors.New("--semver and --all-tags cannot be combined")
			}
			if opts.Semver.Semver && opts.Referrers {
				return errors.New("--semver and --referrers cannot be combined")
			}
			if opts.Semver.Semver && opts.FromEngine {
				return errors.New("--semver and --from-engine cannot be combined")
			}
			if opts.Platform != "" && (opts.Semver.Semver || opts.Referrers || opts.FromEngine) {
				return errors.New("--platform cannot be combined with --semver, --referrers or --from-engine (each pushes the image whole)")
			}
			if opts.Referrers && opts.FromEngine {
				return errors.New("--referrers and --from-engine cannot be combined (an engine keeps no referrers)")
			}
			return cobra.ExactArgs(1)(c, args)
		},
		ValidArgsFunction: completeLocalRefs(f, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if !opts.AllTags && !opts.Semver.Semver {
				interruptedLeaves(c, "nothing was tagged") // the manifest goes last
			}
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
	fl.StringVar(&opts.Platform, "platform", "", platformsFlagHelp)
	fl.BoolVar(&opts.FromEngine, "from-engine", false, "push the container engine's image (DOCKER_HOST, docker context), not the store's")
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
	platforms, err := parsePlatforms(opts.Platform)
	if err != nil {
		return err
	}
	out, c, err := opts.start(opts.Registry)
	if err != nil {
		return err
	}
	var ec *engine.Client
	if opts.FromEngine {
		if ec, err = opts.Engine(ctx); err != nil {
			return err
		}
		defer ec.Close()
	}
	r := opts.pushReport(opts.IO, out, ref)
	popts := transfer.PushOptions{AllTags: opts.AllTags, Platforms: platforms, Referrers: opts.Referrers, Progress: r.Event, Started: func() {
		if !opts.AllTags && !opts.Quiet && ref.Tag() == "" && ref.Digest() == "" {
			// As docker push and ctl pull say it (on stderr: not a result).
			fmt.Fprintln(opts.IO.ErrOut, "Using default tag: "+ref.DefaultedTag())
		}
		r.Started()
	}}
	open := opts.Store
	if ec != nil {
		open = opts.WriteStore
	}
	s, err := open()
	if err != nil {
		return err
	}
	if ec != nil {
		// The bytes copied from the engine on a terminal, as load
		// --from-engine shows them, until the push's first event.
		p := newByteProgress(opts.IO, opts.Quiet, "Copying from the engine")
		defer p.Close()
		var copied sync.Once
		event := popts.Progress
		popts.Progress = func(e registry.Event) {
			copied.Do(p.Close)
			event(e)
		}
		results, err := transfer.PushFromEngine(ctx, c, ec, s, ref, popts, p.Func())
		return r.Done(results, err)
	}
	results, pushedReferrers, err := transfer.Push(ctx, c, s, ref, popts)
	if errors.Is(err, store.ErrNotFound) && !opts.AllTags && ref.Tag() == "" && ref.Digest() == "" {
		err = otherTagsHint(s, ref, err)
	}
	if err := r.Done(results, err); err != nil {
		return err
	}
	opts.reportReferrers(opts.IO, "Pushed", pushedReferrers)
	return nil
}

// otherTagsHint adds to the "no such image" of a push without a tag (which
// means :latest, as in docker 20.10+; older docker pushed every tag) the
// tags the store has of that repository, and how to push them.
func otherTagsHint(s *store.Store, ref reference.Reference, err error) error {
	entries, terr := s.Tags(ref)
	if terr != nil {
		return err
	}
	var tags []string
	for _, e := range entries {
		if r, ok := e.Reference(); ok {
			tags = append(tags, r.Tag())
		}
	}
	if len(tags) > 5 {
		tags = append(tags[:5], fmt.Sprintf("... (%d tags)", len(entries)))
	}
	return hinted{err, fmt.Sprintf("run: ctl push --all-tags %s, or name a tag: the store has %s", ref.FamiliarName(), strings.Join(tags, ", "))}
}

// runPushSemver carries out "ctl push --semver REPO:VERSION": the version
// tag is pushed as push does, then its moving tags are written.
func runPushSemver(ctx context.Context, opts *pushOptions) error {
	repo, v, err := splitVersionRef(opts.Ref)
	if err != nil {
		return err
	}
	out, c, err := opts.start(opts.Registry)
	if err != nil {
		return err
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	r := opts.pushReport(opts.IO, out, repo)
	defer r.prog.Close() // Pushed closes it unless the push fails or is a dry run
	var printErr error
	err = transfer.PushSemver(ctx, c, s, repo, v, transfer.SemverOptions{
		Plan:   tagplan.Options{NoLatest: opts.Semver.NoLatest},
		DryRun: opts.Semver.DryRun,
		Push:   transfer.PushOptions{Progress: r.Event, Started: r.Started},
		Pushed: func(results []registry.PushResult) error { return r.Done(results, nil) },
		OnStep: func(st tagplan.Step, res *registry.VersionResult) {
			switch {
			case st.Tag == v.Tag() && !opts.Semver.DryRun:
				// Done printed it
			case printErr == nil:
				// A moving tag written is a push result like the others,
				// in the --format chosen.
				printErr = printSemverStep(opts.IO, out, repo, st, res.Size, opts.Semver.DryRun)
			}
		},
	})
	if err != nil {
		return err
	}
	return printErr
}
