package cmd

import (
	"context"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/spf13/cobra"
)

type copyOptions struct {
	IO       *IOStreams
	Registry func() (*registry.Client, error)
	Src, Dst string
	Platform string
	transferFlags
}

func newCopyCmd(f *Factory, runF func(*copyOptions) error) *cobra.Command {
	opts := &copyOptions{IO: f.IO, Registry: f.Registry}
	c := &cobra.Command{
		Use:     "copy SRC DST",
		Aliases: []string{"cp"},
		Short:   "Copy an image from one registry or repository to another",
		Long: `Copy an image, or with --all-tags every tag of a repository, from one
registry to another without the local store: blobs stream from the source
straight to the destination, blobs the destination has are skipped, and
within one registry they are mounted instead of sent. Manifests are copied
byte for byte, so digests are preserved; a multi-platform index is copied
whole unless --platform picks one image out of it (OS/ARCH[/VARIANT]) or
several (a comma list): a filtered index listing only those images (and
their buildkit attestations), each copied before it, under a new digest;
each platform must be there, and a single-platform image is only its own.
A DST named by digest takes only that manifest: a subset, or another
image, is refused (exit 2) before anything is sent.

--referrers also copies everything that refers to the image (signatures,
SBOMs, attestations, and what refers to those; for an index, the referrers of
each child too), as ctl referrers finds it, digests kept. The destination
gets them the way it supports: through its referrers API where it has one,
else in the sha256-<hex> tag schema (the index already there is kept and
added to). The source tree is read in full before anything is written, and
the destination's is read back after: a referrer missing there fails the
copy, naming it. The referrers copied are told on stderr, a line each and a
count; stdout keeps the one result line per tag.`,
		Example: `  ctl copy docker.io/library/nginx:1.25 registry.local:5000/mirror/nginx:1.25
  ctl copy -a registry.local:5000/gallery/ui registry.local:5000/archive/ui
  ctl copy --platform linux/amd64,linux/arm64 nginx:1.25 registry.local:5000/mirror/nginx:1.25
  ctl copy --referrers registry.local:5000/app:v1 mirror.local:5000/app:v1`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeLocalOrRemoteRefs(f, 2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Src, opts.Dst = args[0], args[1]
			if !opts.AllTags {
				interruptedLeaves(c, "nothing was tagged") // the manifest goes last
			}
			if runF != nil {
				return runF(opts)
			}
			return runCopy(c.Context(), opts)
		},
	}
	fl := c.Flags()
	opts.add(fl, "copy every tag of the source repository", "blobs to move at once", "Tag")
	fl.StringVar(&opts.Platform, "platform", "", platformsFlagHelp)
	return c
}

func runCopy(ctx context.Context, opts *copyOptions) error {
	src, err := reference.Parse(opts.Src)
	if err != nil {
		return err
	}
	dst, err := reference.Parse(opts.Dst)
	if err != nil {
		return err
	}
	if opts.AllTags && (src.Tag() != "" || src.Digest() != "" || dst.Tag() != "" || dst.Digest() != "") {
		return usageError{fmt.Errorf("--all-tags takes repositories, not tags or digests: %s %s", opts.Src, opts.Dst)}
	}
	platforms, err := parsePlatforms(opts.Platform)
	if err != nil {
		return err
	}
	out, c, err := opts.start(opts.Registry)
	if err != nil {
		return err
	}
	if opts.Referrers && !platforms.IsZero() {
		return usageError{fmt.Errorf("--referrers copies one image or index whole: it does not combine with --platform yet")}
	}
	var tree *registry.ReferrerTree
	ropts := registry.ReferrersOptions{Platforms: true}
	if opts.Referrers {
		// Read the whole source tree first: a broken one fails before
		// anything is written.
		if tree, err = c.Referrers(ctx, src, ropts); err != nil {
			return err
		}
	}
	r := opts.pushReport(opts.IO, out, dst)
	results, err := c.Copy(ctx, src, dst, registry.CopyOptions{AllTags: opts.AllTags, Platforms: platforms, Progress: r.Event, Pushing: r.Started})
	var copied *registry.ReferrersCopy
	if err == nil && tree != nil && len(results) == 1 {
		tree, err = c.ReferrersAt(ctx, src, tree, results[0].Digest, ropts)
	}
	if err == nil && tree != nil {
		copied, err = c.CopyReferrers(ctx, src, dst, tree, r.Event)
	}
	if err := r.Done(results, err); err != nil {
		return err
	}
	opts.reportReferrers(opts.IO, "Copied", copied)
	return nil
}
