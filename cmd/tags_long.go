package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ctl-dev/ctl/pkg/registry"
)

// tagLongItem is what tags list --long prints per tag, as --format sees it.
type tagLongItem struct {
	Repository string `json:"-"`
	registry.TagDetail
	// SharedWith are the other listed tags on the same manifest (an empty
	// list, never absent, as platforms).
	SharedWith []string `json:"sharedWith"`
}

// printLongTags prints details as a table, one JSON array, or through the
// template per tag.
func printLongTags(w io.Writer, p *printer, repo string, details []registry.TagDetail) error {
	byDigest := map[string][]string{}
	for _, d := range details {
		byDigest[d.Digest] = append(byDigest[d.Digest], d.Tag)
	}
	items := make([]tagLongItem, len(details))
	for i, d := range details {
		if d.Platforms == nil {
			d.Platforms = []string{}
		}
		others := slices.DeleteFunc(slices.Clone(byDigest[d.Digest]), func(t string) bool { return t == d.Tag })
		slices.Sort(others)
		items[i] = tagLongItem{Repository: repo, TagDetail: d, SharedWith: others}
	}
	if p.JSON() {
		return json.NewEncoder(w).Encode(items)
	}
	bw := newLineWriter(w)
	if !p.Text() {
		for _, it := range items {
			if err := p.Print(bw, it, nil); err != nil {
				return err
			}
		}
		return bw.Flush()
	}
	if len(items) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(bw, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "TAG\tDIGEST\tPLATFORMS\tSIZE\tCREATED\tSAME MANIFEST AS")
	now := time.Now()
	for _, it := range items {
		platforms, created, size := "-", "N/A", "-"
		if len(it.Platforms) > 0 {
			platforms = strings.Join(it.Platforms, ",")
		}
		if !it.Created.IsZero() {
			created = humanDuration(now.Sub(it.Created)) + " ago"
		}
		if it.Size > 0 {
			size = humanSize(it.Size)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", escapeControl(it.Tag), shortDigest(it.Digest), escapeControl(platforms), size, created,
			escapeControl(strings.Join(it.SharedWith, ",")))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}
