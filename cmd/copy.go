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
	AllTags  bool
	Platform string
	Jobs     int
	Quiet    bool
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
whole unless --platform picks one image out of it.`,
		Example: `  ctl copy docker.io/library/nginx:1.25 registry.local:5000/mirror/nginx:1.25
  ctl copy -a registry.local:5000/gallery/ui registry.local:5000/archive/ui`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Src, opts.Dst = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return runCopy(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.BoolVarP(&opts.AllTags, "all-tags", "a", false, "copy every tag of the source repository")
	fl.StringVar(&opts.Platform, "platform", "", "copy only this platform's image (OS/ARCH[/VARIANT]) out of an index")
	fl.IntVarP(&opts.Jobs, "jobs", "j", defaultJobs, "blobs to move at once")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "print results only, no progress")
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
	platform, err := parsePlatform(opts.Platform)
	if err != nil {
		return err
	}
	c, err := clientWithJobs(opts.Registry, opts.Jobs)
	if err != nil {
		return err
	}
	p := newProgress(opts.IO, opts.Quiet, pushWords)
	if !opts.Quiet {
		fmt.Fprintf(opts.IO.ErrOut, "The push refers to repository [%s]\n", dst.Name())
	}
	results, err := c.Copy(ctx, src, dst, registry.CopyOptions{AllTags: opts.AllTags, Platform: platform, Progress: p.Event})
	p.Close()
	if err != nil {
		return err
	}
	printPushed(opts.IO, results)
	return nil
}

// defaultJobs is how many blobs push, pull and copy move at once. Against a
// registry 20 ms away each blob costs three round trips (HEAD, POST, PUT),
// so a 10-layer image goes fastest with every blob in flight together:
// measured 255 ms with 8 (two waves) against about 200 ms with 16 (one);
// on loopback the extra streams cost nothing measurable.
const defaultJobs = 16

// clientWithJobs builds the registry client and sets its parallelism.
func clientWithJobs(newClient func() (*registry.Client, error), jobs int) (*registry.Client, error) {
	if jobs < 1 {
		return nil, usageError{fmt.Errorf("--jobs must be at least 1, got %d", jobs)}
	}
	c, err := newClient()
	if err != nil {
		return nil, err
	}
	return c.WithJobs(jobs), nil
}

// printPushed prints docker's per-tag result line on stdout.
func printPushed(ios *IOStreams, results []registry.PushResult) {
	for _, r := range results {
		fmt.Fprintf(ios.Out, "%s: digest: %s size: %d\n", escapeControl(r.Tag), r.Digest, r.Size)
	}
}
