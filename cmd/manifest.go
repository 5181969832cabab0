package cmd

import (
	"context"
	"encoding/json"
	"io"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
)

func newManifestCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:   "manifest",
		Short: "Read manifests in a registry; make local multi-platform images",
	}
	// "manifest create" is docker's name for "index create", "manifest
	// inspect" its name for "manifest get".
	c.AddCommand(newManifestGetCmd(f, nil), newIndexCreateCmd(f, nil))
	return c
}

func newManifestGetCmd(f *Factory, runF func(*remoteRefOptions) error) *cobra.Command {
	return remoteRefCmd(f, &cobra.Command{
		Use:     "get REF",
		Aliases: []string{"inspect"},
		Short:   "Print a manifest exactly as the registry (or the store) stored it",
		Long: `Print the manifest REF names byte for byte as the registry stored it
(no newline added), after checking it against its digest. --platform follows
an index to that platform's manifest (exit 3, naming the platforms it has,
when it has none of that platform). The manifest is JSON already: --format
json prints the same bytes; a Go template sees the manifest's own fields
('{{.mediaType}}', '{{json .config}}').

A REF written without a registry that names a local image (made in the
store by load, tag or index create, never pulled or pushed: app:v1 after
"ctl manifest create") prints the store's bytes, as docker
manifest inspect shows a list it created (stderr says so). Write the
registry (docker.io/library/app:v1) to read the registry's.`,
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
	b, err := manifestBytes(ctx, opts, r, platform, rc)
	if err != nil {
		return err
	}
	raw := func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}
	if p.tmpl == nil {
		return raw(opts.IO.Out) // text and json alike: the stored bytes
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		return err
	}
	return p.Print(opts.IO.Out, doc, raw)
}

// manifestBytes reads the manifest r names, in the local store or on its
// registry (remoteRefOptions.local).
func manifestBytes(ctx context.Context, opts *remoteRefOptions, r reference.Reference, platform *v1.Platform, rc *registry.Client) ([]byte, error) {
	if s, e, ok := opts.local(r); ok {
		b, _, err := s.Manifest(e, platform)
		return b, err
	}
	m, err := rc.GetManifest(ctx, r, platform)
	if err != nil {
		return nil, opts.notPushed(err)
	}
	return m.Bytes, nil
}
