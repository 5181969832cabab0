package cmd

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// digestItem is what --format json or a template sees.
type digestItem struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
	Source    string `json:"source"`           // "mirror", "upstream" or "local"
	Mirror    string `json:"mirror,omitempty"` // the mirror that answered
}

func newDigestCmd(f *Factory, runF func(*remoteRefOptions) error) *cobra.Command {
	return remoteRefCmd(f, &cobra.Command{
		Use:   "digest REF",
		Short: "Print the digest of an image's manifest in a registry",
		Long: `Print the digest of the manifest REF names, and nothing else. One HEAD
request that accepts every manifest media type (Docker v2, Docker list, OCI
manifest, OCI index), so a multi-arch tag gives the index's digest; a GET
when the registry omits Docker-Content-Digest. --platform gives the digest of
that platform's manifest inside an index (exit 3, naming the platforms it
has, when it has none of that platform). --format json adds "source"
("mirror" when one of the registry's mirrors answered, else "upstream") and
"mirror".

A REF written without a registry that names a local image (made in the
store by load, tag or index create, never pulled or pushed: app:v1 after
"ctl index create") is answered by the store, with source "local" (stderr
says so): the digest "ctl images --digests" shows, or with --platform that
platform's manifest's. Write the registry
(docker.io/library/app:v1) to ask the registry.`,
		Example: `  ctl digest localhost:5000/gallery/ui:v1
  ctl digest --platform linux/arm64 nginx:1.25
  ctl digest --format json localhost:5000/gallery/ui:v1`,
	}, "Digest", runF, runDigest)
}

func runDigest(ctx context.Context, opts *remoteRefOptions) error {
	p, r, platform, rc, err := opts.target()
	if err != nil {
		return err
	}
	item := digestItem{Reference: r.Canonical()}
	if s, e, ok := opts.local(r); ok {
		// The digest the reference names, as images --digests shows it:
		// of an image pulled from an index, the index's; with a
		// platform, that platform's manifest.
		d := e.RegistryDigest()
		if platform != nil {
			_, desc, err := s.Manifest(e, platform)
			if err != nil {
				return err
			}
			d = desc.Digest
		}
		item.Digest, item.Source = d.String(), sourceLocal
	} else {
		d, src, err := rc.Digest(ctx, r, platform)
		if err != nil {
			return opts.notPushed(err)
		}
		item.Digest, item.Source, item.Mirror = d.String(), src.Kind(), src.Mirror
	}
	return p.Print(opts.IO.Out, item, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, item.Digest)
		return err
	})
}
