package cmd

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/spf13/cobra"
)

type refOptions struct {
	IO      *IOStreams
	Mirrors func() (registry.Mirrors, error)
	Refs    []string
	Format  string
}

// refInfo is one explained reference; the JSON keys are the contract's.
type refInfo struct {
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
	Canonical  string `json:"canonical"`
	Familiar   string `json:"familiar"`
	// Mirrors are where the reference is read from before its registry,
	// in order (HOST/REPOSITORY); absent when it has none.
	Mirrors []string `json:"mirrors,omitempty"`
	Account string   `json:"-"`
	Input   string   `json:"-"`
}

func newRefCmd(f *Factory, runF func(*refOptions) error) *cobra.Command {
	opts := &refOptions{IO: f.IO, Mirrors: f.Mirrors}
	c := &cobra.Command{
		Use:   "ref REF...",
		Short: "Explain image references: registry, account, repository, tag, digest",
		Long: `Explain image references the way docker reads them: "diamol/golang" is
docker.io/diamol/golang:latest. Defaults are filled in: the registry
docker.io, "library/" for single-name Docker Hub images, and the tag "latest"
when neither tag nor digest is given. Mirrors lists, in order, where reads of
the reference go before its registry (registry-mirrors, mirrors,
--registry-mirror).`,
		Example: `  ctl ref diamol/golang
  ctl ref --format json registry.local:5000/gallery/ui:v1
  ctl ref --format '{{.Canonical}}' nginx`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Refs = args
			if runF != nil {
				return runF(opts)
			}
			return runRef(opts)
		},
	}
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("Tag"))
	return c
}

func runRef(opts *refOptions) error {
	p, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	mirrors, err := opts.Mirrors()
	if err != nil {
		return err
	}
	// Parse everything first: invalid input prints nothing on stdout.
	infos := make([]refInfo, len(opts.Refs))
	for i, s := range opts.Refs {
		r, err := reference.Parse(s)
		if err != nil {
			return err
		}
		infos[i] = refInfo{
			Registry: r.Registry(), Repository: r.Repository(), Account: r.Account(),
			Tag: r.DefaultedTag(), Digest: r.Digest(),
			Canonical: r.Canonical(), Familiar: r.Familiar(), Input: s,
		}
		for _, src := range mirrors.Sources(r) {
			if src.IsMirror() {
				infos[i].Mirrors = append(infos[i].Mirrors, src.String())
			}
		}
	}
	for i, info := range infos {
		err := p.Print(opts.IO.Out, info, func(w io.Writer) error {
			if i > 0 {
				fmt.Fprintln(w)
			}
			tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
			for _, kv := range [][2]string{
				{"Reference", info.Input}, {"Registry", info.Registry}, {"Account", info.Account},
				{"Repository", info.Repository}, {"Tag", info.Tag}, {"Digest", info.Digest},
				{"Canonical", info.Canonical}, {"Familiar", info.Familiar},
			} {
				fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
			}
			if len(info.Mirrors) > 0 {
				fmt.Fprintf(tw, "Mirrors:\t%s (then %s)\n", strings.Join(info.Mirrors, ", "), info.Registry)
			}
			return tw.Flush()
		})
		if err != nil {
			return err
		}
	}
	return nil
}
