package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestNewCmdTagsList(t *testing.T) {
	t.Parallel()
	parseTable(t, newTagsListCmd, func(o *tagsListOptions) tagsListOptions {
		return tagsListOptions{Repo: o.Repo, Filter: o.Filter, Format: o.Format, PageSize: o.PageSize,
			Query: o.Query, Long: o.Long, Platform: o.Platform, Jobs: o.Jobs}
	}, []parseCase[tagsListOptions]{
		{[]string{"reg/app"}, &tagsListOptions{Repo: "reg/app", Format: "text", Jobs: registry.DefaultJobs}},
		{[]string{"--filter", "v*", "--format", "json", "--page-size", "50", "reg/app"},
			&tagsListOptions{Repo: "reg/app", Filter: []string{"v*"}, Format: "json", PageSize: 50, Jobs: registry.DefaultJobs}},
		{[]string{"-l", "--semver", "^2", "--sort", "semver", "-r", "--newest", "3", "--exclude", "*-rc*", "--exclude", "x", "--platform", "linux/arm64", "-j", "7", "reg/app"},
			&tagsListOptions{Repo: "reg/app", Format: "text", Long: true, Platform: "linux/arm64", Jobs: 7,
				Query: tagQueryFlags{Semver: "^2", Sort: "semver", Reverse: true, Newest: 3, Exclude: []string{"*-rc*", "x"}}}},
		{[]string{}, nil},
		{[]string{"--newest", "x", "reg/app"}, nil},
	})
}

func TestNewCmdTagsPrune(t *testing.T) {
	t.Parallel()
	parseTable(t, newTagsPruneCmd, func(o *tagsPruneOptions) tagsPruneOptions {
		return tagsPruneOptions{Repo: o.Repo, KeepLast: o.KeepLast, Keep: o.Keep, SemverLatest: o.SemverLatest,
			OlderThan: o.OlderThan, Force: o.Force, Format: o.Format, Jobs: o.Jobs}
	}, []parseCase[tagsPruneOptions]{
		{[]string{"--keep-last", "5", "reg/app"}, &tagsPruneOptions{Repo: "reg/app", KeepLast: 5, Format: "text", Jobs: registry.DefaultJobs}},
		{[]string{"--keep-last", "5", "--keep", "release-*", "--keep", "stable", "--keep-semver-latest", "--older-than", "30d", "--force", "--format", "json", "-j", "2", "reg/app"},
			&tagsPruneOptions{Repo: "reg/app", KeepLast: 5, Keep: []string{"release-*", "stable"}, SemverLatest: true, OlderThan: "30d", Force: true, Format: "json", Jobs: 2}},
		{[]string{"reg/app", "other"}, nil},
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

// TestTagsPruneAgainstInProcessRegistry checks the exact plan and the
// --force report on an in-process registry: v1, v2 and latest share one
// image, old is another.
func TestTagsPruneAgainstInProcessRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, f, output := registryFixture(t)
	old, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(mustName(t, host+"/app:old"), old); err != nil {
		t.Fatal(err)
	}
	shared, err := remote.Head(mustName(t, host+"/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	gone, _ := old.Digest()
	sd, od := shared.Digest.Hex[:12], gone.Hex[:12]
	opts := &tagsPruneOptions{IO: f.IO, Registry: f.Registry, Repo: host + "/app", Keep: []string{"v2"}, Format: "text", Now: time.Now}
	if err := runTagsPrune(ctx, opts); err != nil {
		t.Fatal(err)
	}
	size, _ := old.Size()
	cfg, _ := old.RawConfigFile()
	layers, _ := old.Layers()
	freed := size + int64(len(cfg))
	for _, l := range layers {
		n, _ := l.Size()
		freed += n
	}
	want := "ACTION    TAG       DIGEST         RULE\n" +
		"KEEP      latest    " + sd + "   shared manifest: same as v2\n" +
		"DELETE    old       " + od + "   no keep rule: name matches no kept name\n" +
		"KEEP      v1        " + sd + "   shared manifest: same as v2\n" +
		"KEEP      v2        " + sd + "   --keep: name matches v2\n" +
		"1 of 4 tags to delete; the registry's garbage collection could then reclaim " + humanSize(freed) + " (run with --force to delete)\n"
	if out, errOut := output(); out != want || errOut != "" {
		t.Errorf("plan:\n%s\nwant:\n%s\nstderr %q", out, want, errOut)
	}
	opts.Force = true
	if err := runTagsPrune(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != "Untagged: "+host+"/app:old\n" {
		t.Errorf("--force: %q", out)
	}
	if err := runTagsPrune(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != "" {
		t.Errorf("--force again: %q", out)
	}
}

func mustName(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
