package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ctl-dev/ctl/pkg/engine"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/spf13/cobra"
)

type loadOptions struct {
	IO     *IOStreams
	Store  func() (*store.Store, error)
	Engine func(context.Context) (*engine.Client, error)
	Input  string
	// FromEngine: Names are images of the container engine to copy.
	FromEngine bool
	Names      []string
	Quiet      bool // docker's -q: no progress; ctl load shows none, so the results print either way
	Format     string
}

// loadedItem is what load prints per image, as --format sees it.
type loadedItem struct {
	Reference string `json:"reference"` // docker's short form; empty for an image without one
	ID        string `json:"id"`        // the image ID (config digest; an artifact's manifest digest)
	Digest    string `json:"digest"`    // the manifest digest
	// ArtifactType is set when what was loaded is an artifact (a
	// signature, an SBOM), not an image.
	ArtifactType string `json:"artifactType,omitempty"`
}

func newLoadCmd(f *Factory, runF func(*loadOptions) error) *cobra.Command {
	opts := &loadOptions{IO: f.IO, Store: f.Store, Engine: f.Engine}
	c := &cobra.Command{
		Use:   "load [-i PATH] | load --from-engine IMAGE...",
		Short: "Load images from a docker save tar, an OCI archive, an OCI layout directory or a container engine",
		Long: `Load images into the local store from a "docker save" tar, an OCI archive
(an OCI image layout in a tar) or an OCI image layout directory. A tar may
be compressed with gzip, bzip2 or zstd, as docker load reads them (found by
its first bytes); an xz one is refused: decompress it first. Without -i (or with -i -), the archive is read from
standard input, in one pass (large members are spooled to the store's
temp directory, never held in memory).
Every blob is checked against its digest; nothing appears in the store
unless the whole archive loads. Each reference loaded prints "Loaded image:
REF" ("Loaded artifact: REF" for a signature, an SBOM...).

With --from-engine, the images named are copied from the container engine
(Docker, or Podman's Docker-compatible service) found as docker finds it:
DOCKER_HOST, else the current docker context, else /var/run/docker.sock.
A repository name alone takes every tag of it the engine has, as docker
save does. The engine's save stream goes straight into the store, with the
names the engine gives the images (Podman names a local build
localhost/NAME).`,
		Example: `  ctl load -i nginx.tar
  ctl load --input ./oci-layout
  gzip -dc app.tar.gz | ctl load
  ctl load -i - < nginx.tar
  docker build -t image-gallery . && ctl load --from-engine image-gallery`,
		Args: func(c *cobra.Command, args []string) error {
			switch {
			case opts.FromEngine && len(args) == 0:
				return usageError{errors.New("--from-engine needs the names of the engine's images to load")}
			case opts.FromEngine && opts.Input != "":
				return usageError{errors.New("--from-engine and --input cannot be used together")}
			case !opts.FromEngine && len(args) > 0:
				return usageError{fmt.Errorf("unexpected argument %q: load reads an archive with -i or standard input (or images of the engine with --from-engine)", args[0])}
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Names = args
			interruptedLeaves(c, "nothing was loaded")
			if runF != nil {
				return runF(opts)
			}
			return runLoad(c.Context(), opts)
		},
	}
	c.Flags().StringVarP(&opts.Input, "input", "i", "", "archive file or OCI layout directory to read (\"-\" or none: standard input)")
	c.Flags().BoolVar(&opts.FromEngine, "from-engine", false, "copy the named images from the container engine (DOCKER_HOST, docker context)")
	c.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress bar (as docker's, the Loaded image lines still print)")
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("Reference"))
	return c
}

func runLoad(ctx context.Context, opts *loadOptions) error {
	stdin := opts.Input == "" || opts.Input == "-" // a file named "-" is ./-
	if stdin && !opts.FromEngine && opts.IO.StdinTTY {
		return usageError{errors.New("requested load from stdin, but stdin is empty (use -i PATH)")}
	}
	p, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	var loaded []store.Entry
	switch {
	case opts.FromEngine:
		loaded, err = loadFromEngine(ctx, opts, s)
	case stdin:
		loaded, err = s.LoadStream(ctx, opts.IO.In, "standard input")
	default:
		p := newFileProgress(opts.IO, opts.Quiet, "Loading "+filepath.Base(opts.Input))
		loaded, err = s.LoadWithProgress(ctx, opts.Input, p.Func())
		p.Close()
	}
	if err != nil {
		return err
	}
	for _, e := range loaded {
		item := loadedItem{ID: e.ID.String(), Digest: e.Digest.String(), ArtifactType: e.ArtifactType}
		if r, ok := e.Reference(); ok {
			item.Reference = familiar(r)
		}
		kind := e.Kind() // docker's "Loaded image", or "Loaded artifact"
		if err := p.Print(opts.IO.Out, item, func(w io.Writer) error {
			if item.Reference != "" {
				_, err := fmt.Fprintf(w, "Loaded %s: %s\n", kind, item.Reference)
				return err
			}
			_, err := fmt.Fprintf(w, "Loaded %s ID: %s\n", kind, item.ID)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// loadFromEngine streams the engine's archive of opts.Names into s, with a
// byte count on a terminal.
func loadFromEngine(ctx context.Context, opts *loadOptions, s *store.Store) ([]store.Entry, error) {
	c, err := opts.Engine(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	p := newByteProgress(opts.IO, opts.Quiet, "Copying from the engine")
	defer p.Close()
	return c.SaveToStore(ctx, s, opts.Names, p.Func())
}
