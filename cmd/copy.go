package cmd

import (
	"context"
	"fmt"
	"io"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
whole unless --platform picks one image out of it.`,
		Example: `  ctl copy docker.io/library/nginx:1.25 registry.local:5000/mirror/nginx:1.25
  ctl copy -a registry.local:5000/gallery/ui registry.local:5000/archive/ui`,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeLocalOrRemoteRefs(f, 2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Src, opts.Dst = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return runCopy(c.Context(), opts)
		},
	}
	fl := c.Flags()
	opts.add(fl, "copy every tag of the source repository", "blobs to move at once", "Tag")
	fl.StringVar(&opts.Platform, "platform", "", "copy only this platform's image (OS/ARCH[/VARIANT]) out of an index")
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
	out, c, err := opts.start(opts.Registry)
	if err != nil {
		return err
	}
	return opts.sendTo(opts.IO, out, dst, func(started func(), progress registry.ProgressFunc) ([]registry.PushResult, error) {
		return c.Copy(ctx, src, dst, registry.CopyOptions{AllTags: opts.AllTags, Platform: platform, Progress: progress, Pushing: started})
	})
}

// defaultJobs is how many blobs push, pull and copy move at once. Against a
// registry 20 ms away each blob costs three round trips (HEAD, POST, PUT),
// so a 10-layer image goes fastest with every blob in flight together:
// measured 255 ms with 8 (two waves) against about 200 ms with 16 (one);
// on loopback the extra streams cost nothing measurable.
const defaultJobs = 16

// transferFlags are the flags push, pull and copy share.
type transferFlags struct {
	AllTags bool
	Jobs    int
	Quiet   bool
	Format  string
}

// add registers --all-tags/-a, --jobs/-j, --quiet/-q and --format, whose
// templates see formatField among the result's fields.
func (t *transferFlags) add(fl *pflag.FlagSet, allTagsHelp, jobsHelp, formatField string) {
	fl.BoolVarP(&t.AllTags, "all-tags", "a", false, allTagsHelp)
	fl.IntVarP(&t.Jobs, "jobs", "j", defaultJobs, jobsHelp)
	fl.BoolVarP(&t.Quiet, "quiet", "q", false, "print results only, no progress")
	fl.StringVar(&t.Format, "format", "text", formatFlagHelp(formatField))
}

// parseRef parses the reference of push or pull, which names a whole
// repository (no tag, no digest) with --all-tags.
func (t *transferFlags) parseRef(s string) (reference.Reference, error) {
	ref, err := reference.Parse(s)
	if err != nil {
		return ref, err
	}
	if t.AllTags && (ref.Tag() != "" || ref.Digest() != "") {
		return ref, usageError{fmt.Errorf("tag can't be used with --all-tags/-a: %s", s)}
	}
	return ref, nil
}

// start checks --format and --jobs before any work, and builds the
// registry client with its parallelism set to --jobs.
func (t *transferFlags) start(newClient func() (*registry.Client, error)) (*printer, *registry.Client, error) {
	out, err := newPrinter(t.Format)
	if err != nil {
		return nil, nil, err
	}
	if t.Jobs < 1 {
		return nil, nil, usageError{fmt.Errorf("--jobs must be at least 1, got %d", t.Jobs)}
	}
	c, err := newClient()
	if err != nil {
		return nil, nil, err
	}
	return out, c.WithJobs(t.Jobs), nil
}

// sendTo runs send (a push or copy to dst) under docker's push progress
// and prints its per-tag result lines with out, which the caller made from
// --format before any work, so that a bad one costs nothing. send calls
// started when it knows what it sends, which prints docker's "The push
// refers to repository" header: not before, so that a copy from a missing
// source reports only that.
func (t *transferFlags) sendTo(ios *IOStreams, out *printer, dst reference.Reference, send func(started func(), progress registry.ProgressFunc) ([]registry.PushResult, error)) error {
	p := newProgress(ios, t.Quiet, pushWords)
	started := func() { p.Line(fmt.Sprintf("The push refers to repository [%s]", dst.Name())) }
	results, err := send(started, p.Event)
	p.Close()
	if err != nil {
		return err
	}
	return printPushed(ios, out, dst, results)
}

// pushedItem is what push and copy print per tag, as --format sees it.
type pushedItem struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
	Size       int64  `json:"size"`
}

// printPushed prints docker's per-tag result line on stdout, or each
// result in the --format chosen.
func printPushed(ios *IOStreams, p *printer, repo reference.Reference, results []registry.PushResult) error {
	for _, r := range results {
		item := pushedItem{Repository: repo.Name(), Tag: r.Tag, Digest: r.Digest.String(), Size: r.Size}
		if err := p.Print(ios.Out, item, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "%s: digest: %s size: %d\n", escapeControl(r.Tag), r.Digest, r.Size)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}
