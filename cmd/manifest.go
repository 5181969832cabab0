package cmd

import (
	"context"
	"encoding/json"
	"io"

	"github.com/spf13/cobra"
)

type manifestGetOptions struct {
	IO       *IOStreams
	Registry registryFunc
	Ref      string
	Platform string
	Format   string
}

func newManifestCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "manifest",
		Short: "Read manifests in a registry",
	}
	c.AddCommand(newManifestGetCmd(f, nil))
	return c
}

func newManifestGetCmd(f *Factory, runF func(*manifestGetOptions) error) *cobra.Command {
	opts := &manifestGetOptions{IO: f.IO, Registry: f.Registry}
	c := &cobra.Command{
		Use:   "get REF",
		Short: "Print a manifest exactly as the registry stored it",
		Long: `Print the manifest REF names byte for byte as the registry stored it
(no newline added), after checking it against its digest. --platform follows
an index to that platform's manifest. The manifest is JSON already: --format
json prints the same bytes; a Go template sees the manifest's own fields
('{{.mediaType}}', '{{json .config}}').`,
		Example: `  ctl manifest get localhost:5000/gallery/ui:v1 | jq .
  ctl manifest get --platform linux/amd64 nginx:1.25
  ctl manifest get --format '{{range .layers}}{{println .digest}}{{end}}' nginx:1.25`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRemoteRefs(f),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runManifestGet(c.Context(), opts)
		},
	}
	c.Flags().StringVar(&opts.Platform, "platform", "", platformFlagHelp)
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("mediaType"))
	return c
}

func runManifestGet(ctx context.Context, opts *manifestGetOptions) error {
	p, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	r, platform, rc, err := remoteTarget(opts.Ref, opts.Platform, opts.Registry)
	if err != nil {
		return err
	}
	m, err := rc.GetManifest(ctx, r, platform)
	if err != nil {
		return err
	}
	raw := func(w io.Writer) error {
		_, err := w.Write(m.Bytes)
		return err
	}
	if p.tmpl == nil {
		return raw(opts.IO.Out) // text and json alike: the stored bytes
	}
	var doc any
	if err := json.Unmarshal(m.Bytes, &doc); err != nil {
		return err
	}
	return p.Print(opts.IO.Out, doc, raw)
}
