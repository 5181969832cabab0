package cmd

import (
	"context"
	"testing"
)

func TestNewCmdTagsList(t *testing.T) {
	t.Parallel()
	parseTable(t, newTagsListCmd, func(o *tagsListOptions) tagsListOptions {
		return tagsListOptions{Repo: o.Repo, Filter: o.Filter, Format: o.Format, PageSize: o.PageSize}
	}, []parseCase[tagsListOptions]{
		{[]string{"reg/app"}, &tagsListOptions{Repo: "reg/app", Format: "text"}},
		{[]string{"--filter", "v*", "--format", "json", "--page-size", "50", "reg/app"},
			&tagsListOptions{Repo: "reg/app", Filter: []string{"v*"}, Format: "json", PageSize: 50}},
		{[]string{}, nil},
	})
}

func TestTagsListRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, f, output := registryFixture(t)

	tl := &tagsListOptions{IO: f.IO, Registry: f.Registry, Repo: host + "/app", Format: "text"}
	if err := runTagsList(ctx, tl); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != "latest\nv1\nv2\n" {
		t.Errorf("tags list: %q", out)
	}
	tl.Filter, tl.Format = []string{"v*"}, "{{.Repository}}:{{.Tag}}"
	if err := runTagsList(ctx, tl); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != host+"/app:v1\n"+host+"/app:v2\n" {
		t.Errorf("tags list template: %q", out)
	}
	tl.Filter, tl.Format = []string{"latest", "v2"}, "text" // repeated: any of them
	if err := runTagsList(ctx, tl); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != "latest\nv2\n" {
		t.Errorf("tags list with two filters: %q", out)
	}
	tl.Filter, tl.Format = []string{"nomatch"}, "json"
	if err := runTagsList(ctx, tl); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != "[]\n" {
		t.Errorf("empty json: %q", out)
	}

	// A malformed glob is bad input.
	err := runTagsList(ctx, &tagsListOptions{IO: f.IO, Registry: f.Registry, Repo: host + "/app", Filter: []string{"v*", "["}, Format: "text"})
	if code, _ := exitCode(err); code != exitUsage {
		t.Errorf("bad glob: exit %d (%v)", code, err)
	}
}
