package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/spf13/cobra"
)

type tagsListOptions struct {
	IO       *IOStreams
	Registry registryFunc
	Repo     string
	Filter   []string
	Format   string
	PageSize int
}

// tagItem is what a --format template sees for each tag.
type tagItem struct {
	Repository string
	Tag        string
}

func newTagsCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:         "tags",
		Short:       "List the tags of a repository in a registry",
		Annotations: map[string]string{argOfAnnotation: "list"},
	}
	c.AddCommand(newTagsListCmd(f, nil))
	return c
}

func newTagsListCmd(f *Factory, runF func(*tagsListOptions) error) *cobra.Command {
	opts := &tagsListOptions{IO: f.IO, Registry: f.Registry}
	c := &cobra.Command{
		Use:     "list REPO",
		Aliases: []string{"ls"},
		Short:   "List every tag of a repository, one per line",
		Long: `List every tag of a repository in a registry, one per line, in the
registry's order, following pagination to the end. --filter keeps the tags
that match a glob (path.Match syntax: *, ?, [a-z]); repeated, the tags that
match any of them. --format json prints one JSON array of tag names; a Go
template is applied to each tag, with the fields .Repository and .Tag.`,
		Example: `  ctl tags list registry.local:5000/gallery/ui
  ctl tags ls --filter 'v2.*' nginx
  ctl tags ls --format '{{.Repository}}:{{.Tag}}' localhost:5000/app`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRepositories(f),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runTagsList(c.Context(), opts)
		},
	}
	c.Flags().StringArrayVar(&opts.Filter, "filter", nil, "only tags matching this glob (e.g. 'v1.*'; repeatable: any of them)")
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("Tag"))
	c.Flags().IntVar(&opts.PageSize, "page-size", 0, "entries to ask the registry for per page (default: as many as it gives)")
	return c
}

func runTagsList(ctx context.Context, opts *tagsListOptions) error {
	p, err := listPrinter(opts.Format, opts.Filter, opts.PageSize)
	if err != nil {
		return err
	}
	r, err := reference.ParseRepository(opts.Repo)
	if err != nil {
		return err
	}
	rc, err := opts.Registry()
	if err != nil {
		return err
	}
	tags, err := rc.ListTags(ctx, r, opts.PageSize)
	if err != nil {
		return err
	}
	tags = filterGlob(tags, opts.Filter)
	repo := r.Name()
	return printList(opts.IO.Out, p, tags, func(t string) any { return tagItem{Repository: repo, Tag: t} })
}

// listPrinter checks the flags shared by the commands that list names from a
// registry (--format, --filter, --page-size) and returns the printer.
func listPrinter(format string, filters []string, pageSize int) (*printer, error) {
	if pageSize < 0 {
		return nil, invalidInput(fmt.Errorf("invalid --page-size %d: must be positive", pageSize))
	}
	for _, glob := range filters {
		if err := checkGlob(glob); err != nil {
			return nil, err
		}
	}
	return newPrinter(format)
}

// checkGlob rejects a malformed --filter before any request.
func checkGlob(glob string) error {
	if _, err := path.Match(glob, ""); err != nil {
		return invalidInput(fmt.Errorf("invalid --filter %q: %w", glob, err))
	}
	return nil
}

// filterGlob keeps the names that match any of globs (none keeps all; an
// empty glob matches everything).
func filterGlob(names []string, globs []string) []string {
	if len(globs) == 0 {
		return names
	}
	out := names[:0:0]
	for _, n := range names {
		for _, g := range globs {
			if ok, _ := path.Match(g, n); ok || g == "" {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// printList prints names one per line (escaped: they come from a server),
// as one JSON array, or through the template per item.
func printList(w io.Writer, p *printer, names []string, item func(string) any) error {
	if p.JSON() {
		if names == nil {
			names = []string{}
		}
		return json.NewEncoder(w).Encode(names)
	}
	bw := newLineWriter(w)
	for _, n := range names {
		err := p.Print(bw, item(n), func(w io.Writer) error {
			_, err := fmt.Fprintln(w, escapeControl(n))
			return err
		})
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}
