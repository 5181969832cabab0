package cmd

import (
	"context"
	"fmt"
	"io"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
)

type digestOptions struct {
	IO       *IOStreams
	Registry registryFunc
	Ref      string
	Platform string
	Format   string
}

// digestItem is what --format json or a template sees.
type digestItem struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
}

const platformFlagHelp = "resolve an index to this platform's manifest (OS/ARCH[/VARIANT])"

func newDigestCmd(f *Factory, runF func(*digestOptions) error) *cobra.Command {
	opts := &digestOptions{IO: f.IO, Registry: f.Registry}
	c := &cobra.Command{
		Use:   "digest REF",
		Short: "Print the digest of an image's manifest in a registry",
		Long: `Print the digest of the manifest REF names, and nothing else. One HEAD
request that accepts every manifest media type (Docker v2, Docker list, OCI
manifest, OCI index), so a multi-arch tag gives the index's digest; a GET
when the registry omits Docker-Content-Digest. --platform gives the digest of
that platform's manifest inside an index.`,
		Example: `  ctl digest localhost:5000/gallery/ui:v1
  ctl digest --platform linux/arm64 nginx:1.25
  ctl digest --format json localhost:5000/gallery/ui:v1`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRemoteRefs(f),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runDigest(c.Context(), opts)
		},
	}
	c.Flags().StringVar(&opts.Platform, "platform", "", platformFlagHelp)
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("Digest"))
	return c
}

func runDigest(ctx context.Context, opts *digestOptions) error {
	p, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	r, platform, rc, err := remoteTarget(opts.Ref, opts.Platform, opts.Registry)
	if err != nil {
		return err
	}
	d, err := rc.Digest(ctx, r, platform)
	if err != nil {
		return err
	}
	item := digestItem{Reference: r.Canonical(), Digest: d.String()}
	return p.Print(opts.IO.Out, item, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, item.Digest)
		return err
	})
}

// remoteTarget is what the commands reading one remote reference start
// with: the parsed reference, its --platform, and a registry client.
func remoteTarget(ref, platform string, newClient registryFunc) (reference.Reference, *v1.Platform, *registry.Client, error) {
	r, err := reference.Parse(ref)
	if err != nil {
		return reference.Reference{}, nil, nil, err
	}
	p, err := parsePlatform(platform)
	if err != nil {
		return reference.Reference{}, nil, nil, err
	}
	rc, err := newClient()
	return r, p, rc, err
}

// parsePlatform reads --platform ("" means none) with
// registry.ParsePlatform; a bad one is invalid input (exit 2).
func parsePlatform(s string) (*v1.Platform, error) {
	if s == "" {
		return nil, nil
	}
	p, err := registry.ParsePlatform(s)
	if err != nil {
		return nil, invalidInput(fmt.Errorf("invalid --platform %q: want OS/ARCH[/VARIANT], e.g. linux/arm64/v8", s))
	}
	return p, nil
}
