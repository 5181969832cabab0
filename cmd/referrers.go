package cmd

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/spf13/cobra"
)

type referrersOptions struct {
	IO           *IOStreams
	Registry     registryFunc
	Ref          string
	ArtifactType string
	Platforms    bool
	Format       string
}

func newReferrersCmd(f *Factory, runF func(*referrersOptions) error) *cobra.Command {
	opts := &referrersOptions{IO: f.IO, Registry: f.Registry}
	c := &cobra.Command{
		Use:     "referrers REF",
		Aliases: []string{"discover"},
		Short:   "Show the signatures, SBOMs and attestations that refer to an image",
		Long: `Show the tree of manifests that refer to REF (their subject), recursively:
a signature of an SBOM appears under the SBOM. Each line gives the artifact
type, digest and size, with the manifest's annotations beneath it.

The referrers come from the registry's OCI referrers API
(GET /v2/NAME/referrers/DIGEST) or, where the registry has none, from the
sha256-<hex> tag schema; cosign's sha256-<hex>.sig, .att and .sbom tags are
read either way. The first line says which was used. Every referrer is
fetched and checked: one that does not exist or names another subject is an
error, and so is a loop (a manifest listed among what refers to itself). A
referrer reached twice (one signature under the cosign tags of two
manifests, or listed and tagged) is shown in both places, marked "(shown
above)" (shownAbove in JSON) where it comes again; what refers to it is
under its first place.

--artifact-type keeps the direct referrers of that type (and what refers to
them). For an index, --platforms also shows the referrers of each child.
--format json prints the tree as one JSON object shaped like
'oras discover --format json' (reference, mediaType, digest, size,
artifactType, annotations, referrers, plus scheme and, with --platforms,
manifests); a Go template sees the same fields (.Reference .Digest
.Referrers .Scheme ...).`,
		Example: `  ctl referrers localhost:5000/app:v1
  ctl discover --artifact-type application/spdx+json localhost:5000/app:v1
  ctl referrers --platforms --format json localhost:5000/multi:v1`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRemoteRefs(f),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Ref = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runReferrers(c.Context(), opts)
		},
	}
	c.Flags().StringVar(&opts.ArtifactType, "artifact-type", "", "show only the direct referrers of this artifact type")
	c.Flags().BoolVar(&opts.Platforms, "platforms", false, "for an index, also show the referrers of each child manifest")
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("Digest"))
	return c
}

func runReferrers(ctx context.Context, opts *referrersOptions) error {
	p, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	r, err := reference.Parse(opts.Ref)
	if err != nil {
		return err
	}
	rc, err := opts.Registry()
	if err != nil {
		return err
	}
	tree, err := rc.Referrers(ctx, r, registry.ReferrersOptions{ArtifactType: opts.ArtifactType, Platforms: opts.Platforms})
	if err != nil {
		return err
	}
	return p.Print(opts.IO.Out, tree, func(w io.Writer) error { return printReferrerTree(w, tree) })
}

// schemeWords name a referrers scheme on the tree's first line.
var schemeWords = map[registry.ReferrersScheme]string{
	registry.ReferrersAPI:       "referrers API",
	registry.ReferrersTagSchema: "referrers tag schema",
}

// printReferrerTree draws the tree the way `oras discover` does, one
// referrer per branch, annotations under it:
//
//	HOST/REPO@sha256:… (referrers API)
//	├── application/spdx+json sha256:… 762 B
//	│     org.opencontainers.image.created=…
//	│   └── application/vnd.dev.cosign.artifact.sig.v1+json sha256:… 805 B
//	└── …
func printReferrerTree(w io.Writer, t *registry.ReferrerTree) error {
	fmt.Fprintf(w, "%s (%s)\n", escapeControl(t.Reference), schemeWords[t.Scheme])
	branches := referrerBranches(t.Referrers)
	for _, m := range t.Manifests {
		// A child of the index subject, shown by its platform.
		branches = append(branches, branch{fmt.Sprintf("[%s] %s %s", orDash(m.Platform), m.Digest, humanSize(m.Size)), m})
	}
	return printBranches(w, branches, "")
}

// branch is one line of the tree and what hangs under it.
type branch struct {
	line string
	n    registry.Referrer
}

func referrerBranches(nodes []registry.Referrer) []branch {
	bs := make([]branch, 0, len(nodes))
	for _, n := range nodes {
		line := fmt.Sprintf("%s %s %s", orDash(n.ArtifactType), n.Digest, humanSize(n.Size))
		if n.Tag != "" {
			line += " (tag " + n.Tag + ")"
		}
		if n.ShownAbove {
			line += " (shown above)"
		}
		bs = append(bs, branch{line, n})
	}
	return bs
}

func printBranches(w io.Writer, bs []branch, indent string) error {
	for i, b := range bs {
		fork, next := "├── ", "│   "
		if i == len(bs)-1 {
			fork, next = "└── ", "    "
		}
		if _, err := fmt.Fprintf(w, "%s%s%s\n", indent, fork, escapeControl(b.line)); err != nil {
			return err
		}
		keys := make([]string, 0, len(b.n.Annotations))
		for k := range b.n.Annotations {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		bar := "  "
		if len(b.n.Referrers) > 0 {
			bar = "│ "
		}
		for _, k := range keys {
			fmt.Fprintf(w, "%s%s%s  %s=%s\n", indent, next, bar, escapeControl(k), escapeControl(b.n.Annotations[k]))
		}
		if err := printBranches(w, referrerBranches(b.n.Referrers), indent+next); err != nil {
			return err
		}
	}
	return nil
}
