package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/spf13/cobra"
)

type catalogOptions struct {
	IO       *IOStreams
	Registry registryFunc
	Host     string
	Filter   []string
	Format   string
	PageSize int
}

// registryFunc builds the registry client (Factory.Registry in ctl).
type registryFunc func() (*registry.Client, error)

// catalogItem is what a --format template sees for each repository.
type catalogItem struct {
	Registry   string
	Repository string
}

func newCatalogCmd(f *Factory, runF func(*catalogOptions) error) *cobra.Command {
	opts := &catalogOptions{IO: f.IO, Registry: f.Registry}
	c := &cobra.Command{
		Use:   "catalog REGISTRY",
		Short: "List the repositories of a registry, one per line",
		Long: `List every repository of a registry (HOST[:PORT]) with the catalog API,
one per line, following pagination to the end. Registries that do not offer
the catalog API (Docker Hub among them) answer "not found" (exit 3) or
"unauthorized" (exit 4). --filter keeps repositories matching a glob (any
of them, repeated);
--format json prints one JSON array; a Go template is applied to each
repository, with the fields .Registry and .Repository.`,
		Example: `  ctl catalog registry.local:5000
  ctl catalog --filter 'gallery/*' localhost:5000`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: func(c *cobra.Command, args []string) error {
			opts.Host = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runCatalog(c.Context(), opts)
		},
	}
	c.Flags().StringArrayVar(&opts.Filter, "filter", nil, "only repositories matching this glob (e.g. 'gallery/*'; repeatable: any of them)")
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("Repository"))
	c.Flags().IntVar(&opts.PageSize, "page-size", 0, "entries to ask the registry for per page (default: 1000)")
	return c
}

func runCatalog(ctx context.Context, opts *catalogOptions) error {
	if host, _, ok := strings.Cut(opts.Host, "/"); ok && host != "" && !strings.Contains(opts.Host, "://") {
		// A repository where the registry goes: say what catalog takes,
		// and which command lists a repository.
		err := usageError{fmt.Errorf("%q is not a registry: catalog takes HOST[:PORT], without a repository", opts.Host)}
		return hinted{err, fmt.Sprintf("run: ctl catalog %s (or ctl tags list %s for that repository's tags)", host, opts.Host)}
	}
	p, err := listPrinter(opts.Format, opts.Filter, opts.PageSize)
	if err != nil {
		return err
	}
	rc, err := opts.Registry()
	if err != nil {
		return err
	}
	repos, err := rc.Catalog(ctx, opts.Host, opts.PageSize)
	if err != nil {
		return err
	}
	repos = filterGlob(repos, opts.Filter)
	return printList(opts.IO.Out, p, repos, func(r string) any { return catalogItem{Registry: opts.Host, Repository: r} })
}
