package cmd

import (
	"encoding/json"

	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/spf13/cobra"
)

type imageInspectOptions struct {
	IO       *IOStreams
	Store    func() (*store.Store, error)
	Refs     []string
	Format   string
	Platform string
}

func newImageInspectCmd(f *Factory, runF func(*imageInspectOptions) error) *cobra.Command {
	opts := &imageInspectOptions{IO: f.IO, Store: f.ReadStore}
	c := &cobra.Command{
		Use:   "inspect IMAGE...",
		Short: "Show local images in detail (docker image inspect's JSON)",
		Long: `Show images of the local store as docker image inspect does: a JSON array
with Id, RepoTags, RepoDigests, Created, Architecture, Os, Size, Config,
RootFS... With --format, a Go template is applied to each image instead.
For a multi-platform image (an index), Manifests lists every entry
(platform, digest, size, whether the store holds it) and the other fields
describe this machine's platform's image, or --platform's.
For a registry's copy of an image, use "ctl inspect".`,
		Example: `  ctl image inspect nginx
  ctl image inspect --format '{{.Architecture}}' nginx:1.25
  ctl image inspect --platform linux/arm64 --format '{{.Id}}' app:v1`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeLocalRefs(f, 0),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Refs = args
			if runF != nil {
				return runF(opts)
			}
			return runImageInspect(opts)
		},
	}
	c.Flags().StringVar(&opts.Format, "format", "", "Go template applied to each image, or json (the default)")
	c.Flags().StringVar(&opts.Platform, "platform", "", "describe this platform's image of a multi-platform image (OS/ARCH[/VARIANT])")
	return c
}

func runImageInspect(opts *imageInspectOptions) error {
	var p *printer
	if opts.Format != "" && opts.Format != "json" {
		var err error
		if p, err = newPrinter(opts.Format); err != nil {
			return err
		}
	}
	want, err := parsePlatform(opts.Platform)
	if err != nil {
		return err
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	infos := []*store.ImageInfo{}
	for _, src := range opts.Refs {
		e, err := s.Resolve(src)
		if err != nil {
			return err
		}
		info, err := s.Inspect(e, want)
		if err != nil {
			return err
		}
		infos = append(infos, info)
	}
	if p != nil {
		for _, info := range infos {
			if err := p.Print(opts.IO.Out, info, nil); err != nil {
				return err
			}
		}
		return nil
	}
	enc := json.NewEncoder(opts.IO.Out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	return enc.Encode(infos)
}
