package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"github.com/ctl-dev/ctl/pkg/engine"
	"github.com/ctl-dev/ctl/pkg/store"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
)

type imagesOptions struct {
	IO     *IOStreams
	Store  func() (*store.Store, error)
	Engine func(context.Context) (*engine.Client, error)
	// FromEngine lists the container engine's images instead of the store's.
	FromEngine bool
	Repo       string
	Filters    []string
	All        bool
	Quiet      bool
	Digests    bool
	NoTrunc    bool
	Format     string
	Now        func() time.Time
}

func newImagesCmd(f *Factory, runF func(*imagesOptions) error) *cobra.Command {
	opts := &imagesOptions{IO: f.IO, Store: f.ReadStore, Engine: f.Engine, Now: time.Now}
	c := &cobra.Command{
		Use:     "images [REPOSITORY[:TAG]]",
		Aliases: []string{"list"},
		Short:   "List the images of the local store",
		Long: `List the images of the local store as docker images does: one row per
reference, plus dangling images as <none>: the untagged ones that "ctl
image prune" removes. An untagged image that a tagged index lists (its
tag removed by "ctl rmi") is that index's child, which prune keeps: like
docker's intermediate images it is listed with -a only. REPOSITORY[:TAG]
and --filter reference=PATTERN select by reference with shell-style
wildcards matched against the familiar name and name:tag
("*/image-gallery", "image-gallery"); several are OR'ed. --filter
dangling=true|false keeps only the dangling or only the tagged images.
Listing reads the store's index, and the tagged indexes' manifests only
when there are untagged images.

With --engine, the images of the container engine (found as docker finds
it: DOCKER_HOST, the current docker context, /var/run/docker.sock) are
listed instead, in the same table and with the same filters.

--format takes "table" (the default), "json" (one object per line, docker's
keys) or a Go template over .Repository .Tag .Digest .ID .CreatedAt
.CreatedSince .Size .Platforms .ArtifactType; "table TEMPLATE" adds a header row.
An artifact (a signature, an SBOM pulled by digest: a manifest with an
artifactType, a config that is not an image config, or layers that are not
image layers, as cosign's signatures) shows "artifact" as CREATED and its
type as .ArtifactType (empty for images); its IMAGE ID is its manifest
digest, as artifacts mostly share one empty config.

A multi-platform image (an index) is one row, SIZE counting all its images
the store holds; when one is listed, the table gains a PLATFORMS column
(its platforms; N/A for images whose config names none).`,
		Example: `  ctl images
  ctl images --filter reference=image-gallery --filter 'reference=*/image-gallery'
  ctl images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
  ctl images -q nginx
  ctl images --engine --filter 'reference=*/image-gallery'`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeLocalRefs(f, 1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Repo = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return runImages(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringArrayVarP(&opts.Filters, "filter", "f", nil, "filter: reference=PATTERN or dangling=true|false (repeatable)")
	fl.BoolVarP(&opts.All, "all", "a", false, "show all images: also the untagged ones a tagged index lists (with --engine, the engine's intermediate ones)")
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "print image IDs only, each once")
	fl.BoolVar(&opts.Digests, "digests", false, "show digests (of a tag pulled out of an index: the index digest)")
	fl.BoolVar(&opts.NoTrunc, "no-trunc", false, "show full image IDs")
	fl.BoolVar(&opts.FromEngine, "engine", false, "list the container engine's images (DOCKER_HOST, docker context) instead of the store's")
	fl.StringVar(&opts.Format, "format", "", `"table", "json" or a Go template, e.g. '{{.Repository}}:{{.Tag}}'`)
	return c
}

// imageRow is one listed image; the JSON keys are docker's.
type imageRow struct {
	ArtifactType string `json:"ArtifactType,omitempty"` // not docker's: set for an artifact
	Containers   string `json:"Containers"`
	CreatedAt    string `json:"CreatedAt"`
	CreatedSince string `json:"CreatedSince"`
	Digest       string `json:"Digest"`
	ID           string `json:"ID"`
	Platforms    string `json:"Platforms"` // comma-separated; "N/A" when unknown
	Repository   string `json:"Repository"`
	SharedSize   string `json:"SharedSize"`
	Size         string `json:"Size"`
	Tag          string `json:"Tag"`
	UniqueSize   string `json:"UniqueSize"`
	VirtualSize  string `json:"VirtualSize"`
}

func runImages(ctx context.Context, opts *imagesOptions) error {
	patterns, dangling, err := parseImageFilters(opts.Filters)
	if err != nil {
		return err
	}
	if opts.Repo != "" {
		patterns = append(patterns, opts.Repo)
	}
	tmpl, table, err := imagesTemplate(opts, false)
	if err != nil {
		return err
	}
	all, err := listImages(ctx, opts, dangling != nil)
	if err != nil {
		return err
	}
	entries, err := store.Filter(all, patterns, dangling)
	if err != nil {
		return err
	}
	// Newest first, as docker lists them.
	slices.SortStableFunc(entries, func(a, b store.Entry) int { return b.Created.Compare(a.Created) })
	if slices.ContainsFunc(entries, store.Entry.IsIndex) {
		// The default table gains PLATFORMS when a multi-platform image
		// is listed; otherwise it stays docker's five columns.
		if tmpl, table, err = imagesTemplate(opts, true); err != nil {
			return err
		}
	}
	out := opts.IO.Out
	if opts.Quiet {
		seen := map[string]bool{}
		for _, e := range entries {
			id := imageID(e, opts.NoTrunc)
			if !seen[id] {
				seen[id] = true
				fmt.Fprintln(out, id)
			}
		}
		return nil
	}
	now := opts.Now()
	if opts.Format == "json" {
		enc := json.NewEncoder(out)
		enc.SetEscapeHTML(false)
		for _, e := range entries {
			if err := enc.Encode(newImageRow(e, opts.NoTrunc, now)); err != nil {
				return err
			}
		}
		return nil
	}
	var w io.Writer = out
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)
		w = tw
		if err := execTemplate(tmpl, w, imagesHeader); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if err := execTemplate(tmpl, w, newImageRow(e, opts.NoTrunc, now)); err != nil {
			return err
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// listImages reads the store's index, or asks the engine with --engine.
// The store's untagged images that a tagged index lists (store.Held: its
// children, kept by image prune, so not dangling) are left out, as docker
// leaves out intermediate images, unless -a asks for all with no dangling
// filter.
func listImages(ctx context.Context, opts *imagesOptions, dangling bool) ([]store.Entry, error) {
	if opts.FromEngine {
		c, err := opts.Engine(ctx)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		imgs, err := c.List(ctx, opts.All)
		if err != nil {
			return nil, err
		}
		return engine.Entries(imgs), nil
	}
	s, err := opts.Store()
	if err != nil {
		return nil, err
	}
	all, err := s.List()
	if err != nil || opts.All && !dangling {
		return all, err
	}
	held := s.Held(all)
	return slices.DeleteFunc(all, func(e store.Entry) bool { return e.Ref == "" && held[e.Digest] }), nil
}

var imagesHeader = map[string]string{
	"Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
	"CreatedAt": "CREATED AT", "CreatedSince": "CREATED", "Size": "SIZE",
	"Platforms":  "PLATFORMS",
	"Containers": "CONTAINERS", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE", "VirtualSize": "SIZE",
}

// imagesTemplate turns --format into a template and whether it is a table
// (header row, tab-aligned columns); the default table has a PLATFORMS
// column when platforms is set.
func imagesTemplate(opts *imagesOptions, platforms bool) (*template.Template, bool, error) {
	format, table := opts.Format, false
	switch {
	case format == "" || format == "table":
		table = true
		format = "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
		if opts.Digests {
			format = "{{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
		}
		if platforms {
			format += "\t{{.Platforms}}"
		}
	case format == "json":
		return nil, false, nil
	case strings.HasPrefix(format, "table "):
		table, format = true, strings.TrimPrefix(format, "table ")
	case !strings.Contains(format, "{{"):
		return nil, false, usageError{fmt.Errorf("invalid --format %q: use table, json or a Go template", format)}
	}
	t, err := parseTemplate(format, "missingkey=error")
	if err != nil {
		return nil, false, err
	}
	return t, table, nil
}

func parseImageFilters(filters []string) (patterns []string, dangling *bool, err error) {
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		switch {
		case ok && k == "reference":
			patterns = append(patterns, v)
		case ok && k == "dangling" && (v == "true" || v == "1" || v == "false" || v == "0"):
			b := v == "true" || v == "1"
			dangling = &b
		default:
			return nil, nil, usageError{fmt.Errorf("invalid filter %q (supported: reference=PATTERN, dangling=true|false)", f)}
		}
	}
	return patterns, dangling, nil
}

func imageID(e store.Entry, noTrunc bool) string {
	if noTrunc {
		return e.ID.String()
	}
	return e.ID.Hex[:12]
}

func newImageRow(e store.Entry, noTrunc bool, now time.Time) imageRow {
	row := imageRow{
		Containers: "N/A", SharedSize: "N/A", UniqueSize: "N/A",
		Repository: "<none>", Tag: "<none>", Digest: "<none>",
		ID: imageID(e, noTrunc), Size: humanSize(e.Size), VirtualSize: humanSize(e.Size),
		CreatedSince: "N/A", Platforms: "N/A",
	}
	if len(e.Platforms) > 0 {
		row.Platforms = strings.Join(e.Platforms, ",")
	}
	if d := e.RegistryDigest(); d != (v1.Hash{}) { // zero: an engine's image it has no repo digest for
		row.Digest = d.String()
	}
	if r, ok := e.Reference(); ok {
		row.Repository = r.FamiliarName()
		if r.Tag() != "" {
			row.Tag = r.Tag()
		}
	}
	if !e.Created.IsZero() {
		row.CreatedAt = e.Created.Local().Format("2006-01-02 15:04:05 -0700 MST")
		row.CreatedSince = humanDuration(now.Sub(e.Created)) + " ago"
	}
	if e.ArtifactType != "" {
		// An artifact has no image config to date it; the table marks it
		// where the creation time would be.
		row.ArtifactType, row.CreatedSince = e.ArtifactType, "artifact"
	}
	return row
}
