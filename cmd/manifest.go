package cmd

import (
	"context"
	"encoding/json"
	"io"

	"github.com/spf13/cobra"
)

func newManifestCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "manifest",
		Short: "Read manifests in a registry; make local multi-platform images",
	}
	// "manifest create" is docker's name for "index create".
	c.AddCommand(newManifestGetCmd(f, nil), newIndexCreateCmd(f, nil))
	return c
}

func newManifestGetCmd(f *Factory, runF func(*remoteRefOptions) error) *cobra.Command {
	return remoteRefCmd(f, &cobra.Command{
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
	}, "mediaType", runF, runManifestGet)
}

func runManifestGet(ctx context.Context, opts *remoteRefOptions) error {
	p, r, platform, rc, err := opts.target()
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
