package cmd

import (
	"context"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/spf13/cobra"
)

type tagsListOptions struct {
	IO       *IOStreams
	Registry registryFunc
	Repo     string
	Filter   []string
	Format   string
	PageSize int
	Query    tagQueryFlags
	Long     bool
	Platform string
	Jobs     int
}

// tagItem is what a --format template sees for each tag.
type tagItem struct {
	Repository string
	Tag        string
}

func newTagsCmd(f *Factory) *cobra.Command {
	c := &cobra.Command{
		Use:         "tags",
		Short:       "List the tags of a repository in a registry, or prune them",
		Annotations: map[string]string{argOfAnnotation: "list"},
	}
	c.AddCommand(newTagsListCmd(f, nil), newTagsPruneCmd(f, nil))
	return c
}

func newTagsListCmd(f *Factory, runF func(*tagsListOptions) error) *cobra.Command {
	opts := &tagsListOptions{IO: f.IO, Registry: f.Registry}
	c := &cobra.Command{
		Use:     "list REPO",
		Aliases: []string{"ls"},
		Short:   "List the tags of a repository, one per line or as a table",
		Long: `List the tags of a repository in a registry, one per line, in the
registry's order, following pagination to the end.

--filter keeps the tags that match a glob (path.Match syntax: *, ?, [a-z]),
--exclude drops them (both repeatable: any of them). --semver RANGE keeps the
versions in a range (">=2.1 <3", "~2.1", "^2", "2.x"; pre-releases only when
the range names one). --newest N keeps the N newest: the highest versions
when every tag is one, else the most recently created. --sort name|semver|
created orders them (-r reverses).

--long prints a table like a registry's tags page: TAG, DIGEST, PLATFORMS,
SIZE (compressed; an index's is the sum of its images', or one platform's
with --platform), CREATED (from the image config), and the other listed tags
on the same manifest. Each tag costs one HEAD, each distinct manifest
one GET and each image one config GET, up to -j at once.

--format json prints one JSON array: of tag names, or with --long of
objects (tag, digest, mediaType, platforms, size, created, sharedWith). A Go
template is applied to each tag, with .Repository and .Tag, and with --long
.Digest .MediaType .Platforms .Size .Created .SharedWith too.`,
		Example: `  ctl tags list registry.local:5000/gallery/ui
  ctl tags ls --filter 'v2.*' nginx
  ctl tags ls --semver '>=2.1 <3' --sort semver -r localhost:5000/app
  ctl tags ls --long --newest 10 localhost:5000/app
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
	fl := c.Flags()
	fl.StringArrayVar(&opts.Filter, "filter", nil, "only tags matching this glob (e.g. 'v1.*'; repeatable: any of them)")
	fl.StringVar(&opts.Format, "format", "text", formatFlagHelp("Tag"))
	fl.IntVar(&opts.PageSize, "page-size", 0, "entries to ask the registry for per page (default: as many as it gives)")
	opts.Query.add(fl)
	fl.BoolVarP(&opts.Long, "long", "l", false, "print digest, platforms, size and creation time of each tag")
	fl.StringVar(&opts.Platform, "platform", "", "with --long, describe an index by its image for OS/ARCH[/VARIANT]")
	fl.IntVarP(&opts.Jobs, "jobs", "j", registry.DefaultJobs, "requests to the registry at once (0: the client's default)")
	return c
}

func runTagsList(ctx context.Context, opts *tagsListOptions) error {
	p, err := listPrinter(opts.Format, opts.Filter, opts.PageSize)
	if err != nil {
		return err
	}
	q, err := opts.Query.query(opts.Filter)
	if err != nil {
		return err
	}
	platform, err := parsePlatform(opts.Platform)
	if err != nil {
		return err
	}
	if platform != nil && !opts.Long {
		return usageError{fmt.Errorf("--platform applies to --long")}
	}
	if opts.Jobs < 0 {
		return usageError{fmt.Errorf("--jobs must be positive, got %d", opts.Jobs)}
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
	tags = q.Filter(tags)
	var details []registry.TagDetail
	if opts.Long || q.NeedsCreated(tags) {
		if details, err = rc.WithJobs(opts.Jobs).TagDetails(ctx, r, tags, platform); err != nil {
			return err
		}
	} else {
		for _, t := range tags {
			details = append(details, registry.TagDetail{Tag: t})
		}
	}
	details = arrangeDetails(q, details)
	repo := r.Name()
	if opts.Long {
		return printLongTags(opts.IO.Out, p, repo, details)
	}
	names := make([]string, len(details))
	for i, d := range details {
		names[i] = d.Tag
	}
	return printList(opts.IO.Out, p, names, func(t string) any { return tagItem{Repository: repo, Tag: t} })
}
