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
	Source    string `json:"source"`           // "mirror" or "upstream"
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
that platform's manifest inside an index. --format json adds "source"
("mirror" when one of the registry's mirrors answered, else "upstream") and
"mirror".`,
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
	d, src, err := rc.Digest(ctx, r, platform)
	if err != nil {
		return err
	}
	item := digestItem{Reference: r.Canonical(), Digest: d.String(), Source: src.Kind(), Mirror: src.Mirror}
	return p.Print(opts.IO.Out, item, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, item.Digest)
		return err
	})
}
