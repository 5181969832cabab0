package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ctl-dev/ctl/pkg/atomicfile"
	"github.com/ctl-dev/ctl/pkg/engine"
	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/spf13/cobra"
)

type saveOptions struct {
	IO     *IOStreams
	Store  func() (*store.Store, error)
	Engine func(context.Context) (*engine.Client, error)
	Output string
	Format string
	// ToEngine hands the images to the container engine's load endpoint
	// instead of writing an archive.
	ToEngine bool
	Refs     []string
	Platform string
}

func newSaveCmd(f *Factory, runF func(*saveOptions) error) *cobra.Command {
	opts := &saveOptions{IO: f.IO, Store: f.ReadStore, Engine: f.Engine}
	c := &cobra.Command{
		Use:   "save [-o FILE | --to-engine] IMAGE...",
		Short: "Save local images to a tar archive that docker load can read",
		Long: `Save images of the local store to a tar archive. The docker format (the
default) is what docker 25 and later write, an OCI layout with docker's
manifest.json: every "docker load" and crane read it. The oci format is a
plain OCI image layout in a tar. A repository name without a tag saves every
tag of that repository, as docker save does. Without -o, the archive goes to
standard output, which must not be a terminal.

A multi-platform image is saved as its index with every image the store
holds, and loads back with the same digest; docker's manifest.json lists
one image of it (this machine's platform's, else the first), as docker 25+
writes it. As "docker save --platform" does, --platform OS/ARCH[/VARIANT]
saves that platform's image alone, under the index's name; a comma list
saves only those platforms' images, the index unchanged.

With --to-engine, the archive (docker format) is streamed to the load
endpoint of the container engine found as docker finds it (DOCKER_HOST,
the current docker context, /var/run/docker.sock), so that "docker run
IMAGE" works next; the engine's "Loaded image" lines are printed. An
engine that keeps one image per tag (Podman, Docker without the containerd
image store) takes the one manifest.json lists: this machine's platform's,
else the first; --platform picks it.`,
		Example: `  ctl save -o nginx.tar nginx:1.25
  ctl save --format oci -o app.tar user/app:v1 user/app:v2
  ctl save --platform linux/arm64 -o app-arm64.tar user/app:v1
  ctl save --to-engine user/app:v1`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeLocalRefs(f, 0),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Refs = args
			if runF != nil {
				return runF(opts)
			}
			return runSave(c.Context(), opts)
		},
	}
	c.Flags().StringVarP(&opts.Output, "output", "o", "", "file to write (default: standard output)")
	c.Flags().StringVar(&opts.Format, "format", store.FormatDocker, `archive format: "docker" or "oci"`)
	c.Flags().StringVar(&opts.Platform, "platform", "", "save only these platforms' images of a multi-platform image (OS/ARCH[/VARIANT], comma-separated)")
	c.Flags().BoolVar(&opts.ToEngine, "to-engine", false, "load the images into the container engine (DOCKER_HOST, docker context) instead of writing an archive")
	return c
}

func runSave(ctx context.Context, opts *saveOptions) error {
	if opts.Format != store.FormatDocker && opts.Format != store.FormatOCI {
		return usageError{fmt.Errorf("invalid --format %q: use docker or oci", opts.Format)}
	}
	switch {
	case opts.ToEngine && opts.Output != "":
		return usageError{errors.New("--to-engine and --output cannot be used together")}
	case opts.ToEngine && opts.Format != store.FormatDocker:
		return usageError{errors.New("--to-engine sends docker's format: --format oci does not apply")}
	}
	if opts.Output == "" && !opts.ToEngine && opts.IO.StdoutTTY {
		return usageError{errors.New("refusing to write an archive to a terminal: use -o FILE or redirect standard output")}
	}
	sel, err := parsePlatforms(opts.Platform)
	if err != nil {
		return err
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	// Held from before the references resolve until the archive is
	// written (as push holds it): an rmi + image prune meanwhile waits,
	// and takes nothing they name from under the save.
	release, err := s.Hold()
	if err != nil {
		return err
	}
	defer release()
	var entries []store.Entry
	for _, src := range opts.Refs {
		es, err := saveEntries(s, src)
		if err != nil {
			return err
		}
		entries = append(entries, es...)
	}
	if opts.ToEngine {
		return loadIntoEngine(ctx, opts.IO, opts.Engine, s, entries, sel)
	}
	if opts.Output == "" {
		return s.Save(ctx, opts.IO.Out, entries, opts.Format, sel)
	}
	return writeOutput(opts.Output, func(w io.Writer) error { return s.Save(ctx, w, entries, opts.Format, sel) })
}

// loadIntoEngine hands entries of s to the engine's load endpoint and
// prints what the engine answers ("Loaded image: REF").
func loadIntoEngine(ctx context.Context, ios *IOStreams, open func(context.Context) (*engine.Client, error), s *store.Store, entries []store.Entry, sel platform.Selection) error {
	c, err := open(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	lines, err := c.LoadFromStore(ctx, s, entries, sel)
	if err != nil {
		return err
	}
	for _, l := range lines {
		fmt.Fprintln(ios.Out, escapeControl(l))
	}
	return nil
}

// saveEntries is what docker save does with one argument: a repository
// name alone means all its tags; anything else names one image.
func saveEntries(s *store.Store, src string) ([]store.Entry, error) {
	if r, err := reference.Parse(src); err == nil && r.Tag() == "" && r.Digest() == "" {
		if tags, err := s.Tags(r); err == nil {
			return tags, nil
		}
	}
	e, err := s.Resolve(src)
	if err != nil {
		return nil, err
	}
	return []store.Entry{e}, nil
}

// writeOutput replaces the file at path with what write writes, through
// atomicfile: an interrupted save never leaves a truncated archive under
// the final name. A file that cannot be created (a missing directory, one
// not writable) is the user's to fix: exit 2, as an unreadable file is.
func writeOutput(path string, write func(io.Writer) error) error {
	err := atomicfile.Write(path, write)
	var ce *atomicfile.CreateError
	if errors.As(err, &ce) {
		return invalidInput(err)
	}
	return err
}
