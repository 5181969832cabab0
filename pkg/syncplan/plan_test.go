package syncplan

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		want       string // error text, "" for none
		check      func(*testing.T, *Plan)
	}{
		{name: "full entry", body: `sync:
  - source: registry.example/team/app
    destination: mirror.example/team/app
    tags: ["v*"]
    exclude: ["*-rc*"]
    regex: '^v[0-9]'
    semver: ">=2.1 <3"
    newest: 2
    digests: [sha256:0000000000000000000000000000000000000000000000000000000000000000]
    referrers: true
    moving: false
`, check: func(t *testing.T, p *Plan) {
			e := p.Entries[0]
			if e.Line != 2 || e.Moving || !e.Referrers || e.Newest != 2 || e.Range == nil || e.Regex == nil || e.Glob != "" ||
				e.Source != "registry.example/team/app" || e.Destination != "mirror.example/team/app" || len(e.Digests) != 1 {
				t.Errorf("entry %+v", e)
			}
		}},
		{name: "moving by default, docker hub normalised", body: "sync:\n- source: alpine\n  destination: m.example/alpine\n", check: func(t *testing.T, p *Plan) {
			if e := p.Entries[0]; !e.Moving || e.Source != "docker.io/library/alpine" {
				t.Errorf("entry %+v", e)
			}
		}},
		{name: "glob source", body: "sync:\n- source: r.example:5000/team/*\n  destination: m.example/mirror\n", check: func(t *testing.T, p *Plan) {
			e := p.Entries[0]
			if e.Source != "r.example:5000" || e.Glob != "team/*" || e.DestinationOf("team/app") != "m.example/mirror/app" {
				t.Errorf("entry %+v -> %s", e, e.DestinationOf("team/app"))
			}
		}},
		{name: "unknown key", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  newst: 3\n", want: `plan.yaml:4: unknown key "newst" (an entry takes source, destination, tags, exclude, regex, semver, newest, digests, platforms, referrers, moving)`},
		{name: "unknown top key", body: "mirror:\n- source: a.example/a\n", want: `plan.yaml:1: unknown key "mirror" (a plan is a list of entries under "sync")`},
		{name: "newest a word", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  newest: many\n", want: `plan.yaml:4: newest: must be a positive integer, got "many"`},
		{name: "newest zero", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  newest: 0\n", want: "newest: must be a positive integer, got 0"},
		{name: "newest negative", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  newest: -2\n", want: "newest: must be a positive integer, got -2"},
		{name: "newest a fraction", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  newest: 2.5\n", want: "plan.yaml:4: newest: must be a positive integer, got 2.5"},
		{name: "newest quoted", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  newest: \"3\"\n", want: `plan.yaml:4: newest: must be a positive integer, got "3"`},
		{name: "newest a list", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  newest: [3]\n", want: "plan.yaml:4: newest: must be a positive integer, got a seq"},
		{name: "no destination", body: "sync:\n- source: a.example/a\n", want: "plan.yaml:2: an entry needs a source and a destination"},
		{name: "bad regex", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  regex: '('\n", want: "plan.yaml:4: regex: error parsing regexp"},
		{name: "bad glob", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  tags: ['[']\n", want: `plan.yaml:4: tags: glob "["`},
		{name: "bad digest", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  digests: [sha256:xyz]\n", want: `plan.yaml:4: digests: "sha256:xyz"`},
		{name: "pattern without registry", body: "sync:\n- source: team/*\n  destination: b.example/a\n", want: `plan.yaml:2: source: "team/*": a repository pattern needs its registry`},
		{name: "bad digest in a list", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  digests:\n    - sha256:0000000000000000000000000000000000000000000000000000000000000000\n    - sha256:xyz\n", want: `plan.yaml:6: digests: "sha256:xyz"`},
		{name: "bad exclude glob in a list", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  exclude:\n  - ok\n  - '['\n", want: `plan.yaml:6: exclude: glob "["`},
		{name: "bad semver", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n- source: a.example/b\n  destination: b.example/b\n  semver: banana\n", want: "plan.yaml:6: semver: invalid semver range"},
		{name: "bad destination", body: "sync:\n- source: a.example/a\n  destination: B.example/UPPER\n", want: "plan.yaml:3: destination: "},
		{name: "layout destination", body: "sync:\n- source: a.example/a\n\n  destination: oci:/tmp/x\n", want: "plan.yaml:4: destination: an OCI layout"},
		{name: "tags not a list", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  tags: v1\n", want: "plan.yaml:4: tags: must be a list of strings, got v1"},
		{name: "tags a mapping", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  tags:\n    semver: '>=1'\n", want: "plan.yaml:5: tags: must be a list of strings, got a map"},
		{name: "referrers not a bool", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  referrers: maybe\n", want: "plan.yaml:4: referrers: must be true or false, got maybe"},
		{name: "source a list", body: "sync:\n- source: [a.example/a]\n  destination: b.example/a\n", want: "plan.yaml:2: source: must be a string, got a seq"},
		{name: "sync not a list", body: "sync: everything\n", want: "plan.yaml:1: sync: must be a list of entries, got everything"},
		{name: "empty", body: "", want: "plan.yaml: empty plan"},
		{name: "not UTF-8", body: "sync:\n- source: a.example/a\n  destination: b.example/\xe9t\xff\n", want: "plan.yaml:3: column 26: not UTF-8"},
		{name: "larger than the bound", body: "sync: []\n" + strings.Repeat("#", MaxPlanSize), want: "plan.yaml: the plan is larger than the limit of 16 MiB"},
		{name: "no entries", body: "sync: []\n", want: "plan.yaml:1: no entries"},
		{name: "platforms", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  platforms: [linux/amd64, linux/arm64]\n", check: func(t *testing.T, p *Plan) {
			if s := p.Entries[0].Select; !s.Multi() || len(s.Platforms()) != 2 {
				t.Errorf("selection %v", s)
			}
		}},
		{name: "bad platform", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  platforms: [linux]\n", want: "plan.yaml:4: platforms: invalid platform"},
		{name: "referrers of a subset not yet", body: "sync:\n- source: a.example/a\n  destination: b.example/a\n  platforms: [linux/amd64]\n  referrers: true\n", want: "plan.yaml:5: referrers: not supported yet with a platform subset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("plan.yaml", strings.NewReader(tc.body))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, p)
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidPlan) {
				t.Errorf("error %v, want an ErrInvalidPlan containing %q", err, tc.want)
			}
		})
	}
}

func TestNewEntryNamesFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f    Filters
		want string
	}{
		{Filters{Newest: -1}, "--newest: must be a positive integer, got -1"},
		{Filters{Digests: []string{"sha256:xyz"}}, `--digest: "sha256:xyz"`},
		{Filters{Semver: "banana"}, "--semver: invalid semver range"},
		{Filters{Platforms: []string{"linux/amd64"}, Referrers: true}, "--referrers: not supported yet with a platform subset"},
	} {
		if _, err := NewEntry("a.example/a", "b.example/a", tc.f); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("NewEntry(%+v): %v, want %q", tc.f, err, tc.want)
		}
	}
	if _, err := NewEntry("a.example/a", "b.example/a", Filters{Platforms: []string{"linux/amd64"}, Referrers: true}); !errors.Is(err, ErrNotYet) {
		t.Errorf("referrers of a subset: %v, want ErrNotYet", err)
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	listed := []string{"latest", "v1.0.0", "v2.0.0", "v2.1.0-rc1", "v2.1.0", "v3.0.0", "dev"}
	for _, tc := range []struct {
		name string
		f    Filters
		want []string
	}{
		{"none keeps all", Filters{}, listed},
		{"glob", Filters{Tags: []string{"v2*"}}, []string{"v2.0.0", "v2.1.0-rc1", "v2.1.0"}},
		{"exclude", Filters{Tags: []string{"v*"}, Exclude: []string{"*-rc*"}}, []string{"v1.0.0", "v2.0.0", "v2.1.0", "v3.0.0"}},
		{"semver drops the rest", Filters{Semver: ">=2 <3"}, []string{"v2.0.0", "v2.1.0"}},
		{"semver hyphen range", Filters{Semver: "1 - 2.0"}, []string{"v1.0.0", "v2.0.0"}},
		{"regex", Filters{Regex: `^v\d+\.0\.0$`}, []string{"v1.0.0", "v2.0.0", "v3.0.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEntry("a.example/a", "b.example/a", tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Filter(slices.Clone(listed)); !slices.Equal(got, tc.want) {
				t.Errorf("Filter = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src, dst string
		moving   bool
		want     Action
	}{
		{"sha256:a", "", true, Copy}, // the mirror lacks it
		{"sha256:a", "sha256:a", true, UpToDate},
		{"sha256:a", "sha256:b", true, Copy}, // moved upstream
		{"sha256:a", "sha256:b", false, Pinned},
		{"sha256:a", "", false, Copy}, // pinned, but never copied yet
		{"", "", true, Refused},       // the source lacks it
	} {
		if got := Decide(tc.src, tc.dst, tc.moving); got != tc.want {
			t.Errorf("Decide(%q, %q, %v) = %q, want %q", tc.src, tc.dst, tc.moving, got, tc.want)
		}
	}
	if got := Dropped([]string{"a", "b", "c"}, []string{"b"}); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("Dropped = %v", got)
	}
}
