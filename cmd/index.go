package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/ctl-dev/ctl/pkg/transfer"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
)

type indexOptions struct {
	IO *IOStreams
	// Store opens the store to find the sources and the target in: made
	// nowhere it is not already (a mistyped --store holds no image).
	// WriteStore opens it, making it if need be, for a source pulled in.
	Store       func() (*store.Store, error)
	WriteStore  func() (*store.Store, error)
	Registry    func() (*registry.Client, error)
	Target      string
	Sources     []string // create, add: images and indexes; remove: platforms
	Platforms   []string // --platform SOURCE=OS/ARCH[/VARIANT]
	Annotations []string // --annotation KEY=VALUE
	Replace     bool
	Amend       bool // create: add to the index TARGET names
	Format      string
}

// indexItem is what the index commands print, as --format sees it.
type indexItem struct {
	Reference string   `json:"reference"` // canonical
	Digest    string   `json:"digest"`    // the new index's
	MediaType string   `json:"mediaType"`
	Platforms []string `json:"platforms"`
}

func newIndexCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "index",
		Short: "Make and edit multi-platform images (indexes) in the local store",
		Long: `Make a multi-platform image out of single-platform images of the local
store, as "docker manifest create" does but without a registry: build or
load one image per platform, combine them with "ctl index create", then
"ctl push" sends the images by digest and the index by tag.`,
	}
	c.AddCommand(newIndexCreateCmd(f, nil), newIndexAddCmd(f, nil), newIndexRemoveCmd(f, nil))
	return c
}

const indexSourcesHelp = `Each SOURCE is a local image (a reference, an image ID or a unique prefix
of one) or a local index, whose images all join (with their buildkit
attestations; an image removed or replaced takes its own along). An
image's platform comes from its config (os, architecture, variant,
os.version); --platform SOURCE=OS/ARCH[/VARIANT] gives it where the config
has none or says unknown/unknown, as buildkit's attestations do (or
overrides it). A SOURCE that names its registry
(registry.local:5000/app:amd64, docker.io/library/nginx:1.25) and is not
in the store is pulled into it first, whole (as "ctl pull --platform all";
NAME:TAG@DIGEST by its digest alone, leaving the local tag as it is). An
image loaded from a docker save archive joins as "ctl push" sends it, its
layers gzip'd. The index is an OCI index when any image it lists is OCI or
it has annotations (a docker manifest list has none), else a docker
manifest list. Two entries of one platform are refused, naming both,
unless --replace (the later source wins); the same image twice is one
entry. A source that is an artifact, or an index listing indexes, is
refused, and TARGET is left as it was (a source pulled for it stays in the
store, as after "ctl pull").`

func indexCmd(f *Factory, c *cobra.Command, runF func(*indexOptions) error, run func(context.Context, *indexOptions) error, sources bool) (*cobra.Command, *indexOptions) {
	opts := &indexOptions{IO: f.IO, Store: f.ReadStore, WriteStore: f.Store, Registry: f.Registry}
	c.Args = cobra.MinimumNArgs(2)
	c.ValidArgsFunction = completeLocalRefs(f, 0)
	c.RunE = func(c *cobra.Command, args []string) error {
		opts.Target, opts.Sources = args[0], args[1:]
		if runF != nil {
			return runF(opts)
		}
		return run(c.Context(), opts)
	}
	fl := c.Flags()
	if sources {
		fl.StringArrayVar(&opts.Platforms, "platform", nil, "SOURCE=OS/ARCH[/VARIANT]: the platform of an image whose config names none (repeatable)")
		fl.StringArrayVar(&opts.Annotations, "annotation", nil, "KEY=VALUE annotation of the index (repeatable)")
		fl.BoolVar(&opts.Replace, "replace", false, "let a source replace an entry of the same platform")
	}
	fl.StringVar(&opts.Format, "format", "text", formatFlagHelp("Digest"))
	return c, opts
}

func newIndexCreateCmd(f *Factory, runF func(*indexOptions) error) *cobra.Command {
	c, opts := indexCmd(f, &cobra.Command{
		Use:   "create TARGET SOURCE...",
		Short: "Make a local multi-platform image from local images",
		Long: `Make TARGET a new index of the SOURCE images in the local store. When
TARGET already names an index of the store, create refuses (exit 2), as
"docker manifest create" does: --amend adds the SOURCE images to it, as
"ctl index add" does, and "ctl index add" and "ctl index remove" edit it.
A TARGET naming a single image is retagged to the new index.

` + indexSourcesHelp,
		Example: `  ctl load -i app-amd64.tar; ctl load -i app-arm64.tar
  ctl index create registry.local:5000/app:v1 app:amd64 app:arm64
  ctl push registry.local:5000/app:v1
  ctl index create --amend registry.local:5000/app:v1 app:s390x
  ctl index create --platform app:bare=linux/riscv64 --annotation org.opencontainers.image.version=1 app:v1 app:amd64 app:bare`,
	}, runF, runIndexCreate, true)
	c.Flags().BoolVarP(&opts.Amend, "amend", "a", false, "add the sources to the index TARGET names instead of refusing")
	return c
}

func newIndexAddCmd(f *Factory, runF func(*indexOptions) error) *cobra.Command {
	c, _ := indexCmd(f, &cobra.Command{
		Use:   "add TARGET SOURCE...",
		Short: "Add images to a local multi-platform image",
		Long: "Make TARGET a new index: the one it names plus the SOURCE images. The\n" +
			"new index has a new digest; the old one stays, untagged, until \"ctl image\nprune\".\n\n" + indexSourcesHelp,
		Example: `  ctl index add app:v1 app:s390x
  ctl index add --replace app:v1 app:amd64-fixed`,
	}, runF, runIndexAdd, true)
	return c
}

func newIndexRemoveCmd(f *Factory, runF func(*indexOptions) error) *cobra.Command {
	c, _ := indexCmd(f, &cobra.Command{
		Use:     "remove TARGET PLATFORM...",
		Aliases: []string{"rm"},
		Short:   "Remove platforms from a local multi-platform image",
		Long: `Make TARGET a new index without the entries of each PLATFORM
(OS/ARCH[/VARIANT], compared as docker does: linux/arm64 is linux/arm64/v8
and linux/aarch64, linux/arm is linux/arm/v7; unlike pull, no older
variant stands in, so linux/arm/v7 never removes arm/v6) and their
attestations; the other images keep theirs. A platform the index lacks is
not found (exit 3); removing every entry is refused. The old index and its
images stay, untagged, until "ctl image prune".`,
		Example: `  ctl index remove app:v1 linux/s390x`,
	}, runF, runIndexRemove, false)
	return c
}

func runIndexCreate(ctx context.Context, opts *indexOptions) error {
	return opts.edit(ctx, false, func(s *store.Store, target reference.Reference, srcs []store.IndexSource, io store.IndexOptions) (store.Entry, error) {
		return s.CreateIndex(ctx, target, srcs, io)
	})
}

func runIndexAdd(ctx context.Context, opts *indexOptions) error {
	return opts.edit(ctx, true, func(s *store.Store, target reference.Reference, srcs []store.IndexSource, io store.IndexOptions) (store.Entry, error) {
		return s.AddToIndex(ctx, target, srcs, io)
	})
}

func runIndexRemove(ctx context.Context, opts *indexOptions) error {
	var ps []v1.Platform
	for _, a := range opts.Sources {
		p, err := platform.Parse(a)
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	opts.Sources = nil
	return opts.edit(ctx, true, func(s *store.Store, target reference.Reference, _ []store.IndexSource, _ store.IndexOptions) (store.Entry, error) {
		return s.RemoveFromIndex(ctx, target, ps)
	})
}

// edit checks the flags, resolves the sources in the store, runs do and
// prints the new index. With existing, TARGET must be in the store
// already (add, remove): it is looked up before any source is pulled, so
// that a store lacking it is neither made nor filled.
func (o *indexOptions) edit(ctx context.Context, existing bool, do func(*store.Store, reference.Reference, []store.IndexSource, store.IndexOptions) (store.Entry, error)) error {
	p, err := newPrinter(o.Format)
	if err != nil {
		return err
	}
	target, err := reference.Parse(o.Target)
	if err != nil {
		return err
	}
	if target.Tag() == "" && target.Digest() == "" {
		if target, err = target.WithTag(target.DefaultedTag()); err != nil {
			return err
		}
	}
	iopts := store.IndexOptions{Replace: o.Replace, Amend: o.Amend, Annotations: map[string]string{}}
	for _, a := range o.Annotations {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return usageError{fmt.Errorf("invalid --annotation %q: want KEY=VALUE", a)}
		}
		iopts.Annotations[k] = v
	}
	given := map[string]*v1.Platform{}
	for _, a := range o.Platforms {
		src, ps, ok := strings.Cut(a, "=")
		if !ok {
			return usageError{fmt.Errorf("invalid --platform %q: want SOURCE=OS/ARCH[/VARIANT]", a)}
		}
		pl, err := platform.Parse(ps)
		if err != nil {
			return err
		}
		if !slices.Contains(o.Sources, src) {
			return usageError{fmt.Errorf("--platform %s: %s is not one of the sources", a, src)}
		}
		given[src] = &pl
	}
	s, err := o.Store()
	if err != nil {
		return err
	}
	// The store is held from before the target and the sources resolve
	// until the index is written (as push holds it): an rmi + image
	// prune meanwhile waits, and takes no source from under the edit.
	// Holding (the directory lock) comes before the writers' and the
	// index's locks the edit takes, in the order prune takes them.
	release, err := s.Hold()
	if err != nil {
		return err
	}
	defer func() { release() }()
	if existing {
		if _, err := s.Lookup(target); err != nil {
			return err
		}
	}
	srcs := make([]store.IndexSource, 0, len(o.Sources))
	for _, name := range o.Sources {
		e, err := s.Resolve(name)
		if errors.Is(err, store.ErrNotFound) {
			e, s, err = o.fetch(ctx, name, err)
			if err == nil { // the store pulled into, made if need be, is held too
				var more func()
				if more, err = s.Hold(); err == nil {
					prev := release
					release = func() { more(); prev() }
				}
			}
		}
		if err != nil {
			return err
		}
		srcs = append(srcs, store.IndexSource{Name: name, Entry: e, Platform: given[name]})
	}
	e, err := do(s, target, srcs, iopts)
	if err != nil {
		return err
	}
	item := indexItem{Reference: target.String(), Digest: e.Digest.String(), MediaType: string(e.MediaType), Platforms: e.Platforms}
	return p.Print(o.IO.Out, item, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s: digest: %s platforms: %s\n", target.Familiar(), e.Digest, strings.Join(e.Platforms, ","))
		return err
	})
}

// fetch pulls a source missing from the store when it names its registry
// (reference.NamesRegistry: docker's rule for a domain), whole, under its
// own reference (by digest alone when it names a tag and a digest); else
// notFound stands. A familiar name ("app:amd64") is
// never looked up on Docker Hub: it is a local image the user expected to
// have. The store it pulls into is opened with WriteStore, made if it is
// not yet (as "ctl pull" makes it), and returned for the rest of the edit.
func (o *indexOptions) fetch(ctx context.Context, name string, notFound error) (store.Entry, *store.Store, error) {
	if !reference.NamesRegistry(name) {
		return store.Entry{}, nil, notFound
	}
	r, err := reference.Parse(name)
	if err != nil {
		return store.Entry{}, nil, notFound
	}
	if r.Tag() != "" && r.Digest() != "" {
		// Pulled by its digest alone, as docker pulls NAME:TAG@DIGEST:
		// the tag, which the store may have at another image, is left
		// as it is.
		if r, err = reference.Parse(r.Name() + "@" + r.Digest()); err != nil {
			return store.Entry{}, nil, err
		}
	}
	c, err := o.Registry()
	if err != nil {
		return store.Entry{}, nil, err
	}
	s, err := o.WriteStore()
	if err != nil {
		return store.Entry{}, nil, err
	}
	fmt.Fprintf(o.IO.ErrOut, "Pulling %s into the store\n", r.Familiar())
	res, _, err := transfer.Pull(ctx, c, s, r, transfer.PullOptions{Platforms: platform.All()})
	if err != nil {
		return store.Entry{}, nil, err
	}
	e, err := s.Lookup(res[0].Ref)
	return e, s, err
}
