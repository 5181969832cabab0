package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/pkg/registry"
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

func TestTagsFlagsToOptions(t *testing.T) {
	t.Parallel()
	io, _, _ := TestIO("")
	f := &Factory{IO: io, Opts: &GlobalOptions{}}
	var tl *tagsListOptions
	c := newTagsListCmd(f, func(o *tagsListOptions) error { tl = o; return nil })
	c.SetArgs([]string{"-l", "--semver", "^2", "--sort", "semver", "-r", "--newest", "3", "--exclude", "*-rc*", "--exclude", "x", "--platform", "linux/arm64", "-j", "7", "reg/app"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	q := tl.Query
	if !tl.Long || q.Semver != "^2" || q.Sort != "semver" || !q.Reverse || q.Newest != 3 || strings.Join(q.Exclude, ",") != "*-rc*,x" || tl.Platform != "linux/arm64" || tl.Jobs != 7 {
		t.Errorf("tags list options: %+v", tl)
	}
	var tp *tagsPruneOptions
	c = newTagsPruneCmd(f, func(o *tagsPruneOptions) error { tp = o; return nil })
	c.SetArgs([]string{"--keep-last", "5", "--keep", "release-*", "--keep", "stable", "--keep-semver-latest", "--older-than", "30d", "--force", "--format", "json", "reg/app"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if tp.KeepLast != 5 || strings.Join(tp.Keep, ",") != "release-*,stable" || !tp.SemverLatest || tp.OlderThan != "30d" || !tp.Force || tp.Format != "json" || tp.Jobs != registry.DefaultJobs {
		t.Errorf("tags prune options: %+v", tp)
	}
}

// TestTagsBadInput: every bad flag value is exit 2, with what is wrong,
// before any request (the registry function fails the test if called).
func TestTagsBadInput(t *testing.T) {
	t.Parallel()
	noRegistry := func() (*registry.Client, error) { return nil, errors.New("no request expected") }
	io, _, _ := TestIO("")
	list := func(mod func(*tagsListOptions)) error {
		o := &tagsListOptions{IO: io, Registry: noRegistry, Repo: "reg/app", Format: "text"}
		mod(o)
		return runTagsList(context.Background(), o)
	}
	prune := func(mod func(*tagsPruneOptions)) error {
		o := &tagsPruneOptions{IO: io, Registry: noRegistry, Repo: "reg/app", Format: "text", Now: time.Now, KeepLast: 1}
		mod(o)
		return runTagsPrune(context.Background(), o)
	}
	tests := []struct {
		name string
		err  error
		want string // part of the message
	}{
		{"range", list(func(o *tagsListOptions) { o.Query.Semver = ">=2.1 <x3" }), "invalid --semver \">=2.1 <x3\": major \"x3\" is not a number\n  >=2.1 <x3\n         ^"},
		{"sort", list(func(o *tagsListOptions) { o.Query.Sort = "size" }), "invalid --sort"},
		{"newest", list(func(o *tagsListOptions) { o.Query.Newest = -1 }), "invalid --newest"},
		{"exclude", list(func(o *tagsListOptions) { o.Query.Exclude = []string{"["} }), "invalid --exclude"},
		{"platform without long", list(func(o *tagsListOptions) { o.Platform = "linux/amd64" }), "--platform applies to --long"},
		{"no rule", prune(func(o *tagsPruneOptions) { o.KeepLast = 0 }), "no keep rule"},
		{"keep-last", prune(func(o *tagsPruneOptions) { o.KeepLast = -2 }), "invalid --keep-last"},
		{"keep glob", prune(func(o *tagsPruneOptions) { o.Keep = []string{"[a"} }), "invalid --keep"},
		{"age", prune(func(o *tagsPruneOptions) { o.OlderThan = "30 days" }), "invalid --older-than"},
		{"negative age", prune(func(o *tagsPruneOptions) { o.OlderThan = "-3d" }), "invalid --older-than"},
	}
	for _, tt := range tests {
		if code, _ := exitCode(tt.err); code != exitUsage || !strings.Contains(tt.err.Error(), tt.want) {
			t.Errorf("%s: exit %d: %v, want 2 with %q", tt.name, code, tt.err, tt.want)
		}
	}
}

func TestParseAge(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"30d": 30 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "1d12h": 36 * time.Hour, "90m": 90 * time.Minute,
	} {
		if got, err := parseAge(in); err != nil || got != want {
			t.Errorf("parseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0d", "d", "3x", "1.5d", "-1w"} {
		if _, err := parseAge(in); err == nil {
			t.Errorf("parseAge(%q): no error", in)
		}
	}
}
