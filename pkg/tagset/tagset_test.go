package tagset

import (
	"slices"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/pkg/semver"
)

func mustRange(t *testing.T, s string) *semver.Range {
	t.Helper()
	r, err := semver.ParseRange(s)
	if err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestFilter(t *testing.T) {
	t.Parallel()
	names := []string{"latest", "2", "2.1", "1.9.0", "2.0.0", "v2.1.3", "2.2.0-rc.1", "2.2.0", "3.0.0", "build-7", "2.1.4_linux"}
	tests := []struct {
		name  string
		query Query    // the selection
		rng   string   // Range, if not ""
		want  []string // names kept, in order
	}{
		{name: "zero keeps all", want: names},
		{name: "include", query: Query{Include: []string{"2*"}}, want: []string{"2", "2.1", "2.0.0", "2.2.0-rc.1", "2.2.0", "2.1.4_linux"}},
		{name: "include any", query: Query{Include: []string{"latest", "b*"}}, want: []string{"latest", "build-7"}},
		{name: "exclude", query: Query{Exclude: []string{"*-rc.*", "2*"}}, want: []string{"latest", "1.9.0", "v2.1.3", "3.0.0", "build-7"}},
		{name: "include and exclude", query: Query{Include: []string{"2.*"}, Exclude: []string{"2.2*"}}, want: []string{"2.1", "2.0.0", "2.1.4_linux"}},
		{name: "range drops non-versions and pre-releases", rng: ">=2.1 <3", want: []string{"v2.1.3", "2.2.0", "2.1.4_linux"}},
		{name: "range naming a pre-release", rng: ">=2.2.0-rc.1", want: []string{"2.2.0-rc.1", "2.2.0", "3.0.0"}},
		{name: "caret", rng: "^2", want: []string{"2.0.0", "v2.1.3", "2.2.0", "2.1.4_linux"}},
		{name: "tilde with exclude", rng: "~2.1", query: Query{Exclude: []string{"*_*"}}, want: []string{"v2.1.3"}},
	}
	for _, tt := range tests {
		q := tt.query
		if tt.rng != "" {
			q.Range = mustRange(t, tt.rng)
		}
		if got := q.Filter(names); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestArrange(t *testing.T) {
	t.Parallel()
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	versions := []Tag{{"1.10.0", day(3)}, {"1.9.0", day(5)}, {"v2.0.0", day(1)}, {"2.0.0-rc.1", day(4)}, {"1.2.3", day(2)}}
	mixed := []Tag{{"latest", day(5)}, {"build-2", day(2)}, {"1.0.0", day(5)}, {"build-1", day(1)}, {"unknown", time.Time{}}, {"1.1.0", day(3)}}
	tests := []struct {
		name  string
		tags  []Tag
		query Query
		want  []string
	}{
		{name: "registry order", tags: versions, want: []string{"1.10.0", "1.9.0", "v2.0.0", "2.0.0-rc.1", "1.2.3"}},
		{name: "registry order reversed", tags: versions, query: Query{Reverse: true}, want: []string{"1.2.3", "2.0.0-rc.1", "v2.0.0", "1.9.0", "1.10.0"}},
		{name: "name", tags: versions, query: Query{Order: ByName}, want: []string{"1.10.0", "1.2.3", "1.9.0", "2.0.0-rc.1", "v2.0.0"}},
		{name: "semver", tags: versions, query: Query{Order: BySemver}, want: []string{"1.2.3", "1.9.0", "1.10.0", "2.0.0-rc.1", "v2.0.0"}},
		{name: "semver, others after", tags: mixed, query: Query{Order: BySemver}, want: []string{"1.0.0", "1.1.0", "build-1", "build-2", "latest", "unknown"}},
		{name: "created", tags: versions, query: Query{Order: ByCreated}, want: []string{"v2.0.0", "1.2.3", "1.10.0", "2.0.0-rc.1", "1.9.0"}},
		{name: "created reversed, unknown oldest", tags: mixed, query: Query{Order: ByCreated, Reverse: true}, want: []string{"latest", "1.0.0", "1.1.0", "build-2", "build-1", "unknown"}},
		{name: "newest versions by precedence, registry order", tags: versions, query: Query{Newest: 2}, want: []string{"v2.0.0", "2.0.0-rc.1"}},
		{name: "newest versions, semver order", tags: versions, query: Query{Newest: 3, Order: BySemver, Reverse: true}, want: []string{"v2.0.0", "2.0.0-rc.1", "1.10.0"}},
		{name: "newest mixed by created, ties by version then name", tags: mixed, query: Query{Newest: 3, Order: ByName}, want: []string{"1.0.0", "1.1.0", "latest"}},
		{name: "newest more than there are", tags: versions, query: Query{Newest: 10}, want: []string{"1.10.0", "1.9.0", "v2.0.0", "2.0.0-rc.1", "1.2.3"}},
	}
	for _, tt := range tests {
		var got []string
		for _, tag := range tt.query.Arrange(tt.tags) {
			got = append(got, tag.Name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNeedsCreated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query Query
		names []string
		want  bool
	}{
		{Query{}, []string{"latest"}, false},
		{Query{Order: ByCreated}, []string{"1.0.0"}, true},
		{Query{Newest: 1}, []string{"1.0.0", "v2.0.0_b1"}, false},
		{Query{Newest: 1}, []string{"1.0.0", "latest"}, true},
		{Query{Order: BySemver, Newest: 1}, []string{"1.0.0", "1.1"}, true},
	}
	for _, tt := range tests {
		if got := tt.query.NeedsCreated(tt.names); got != tt.want {
			t.Errorf("%+v NeedsCreated(%v) = %v", tt.query, tt.names, got)
		}
	}
}

func TestFirstMatch(t *testing.T) {
	t.Parallel()
	globs := []string{"v1.*", "v*", "[", "release-*"}
	for _, tc := range []struct {
		name, glob string
		ok         bool
	}{
		{"v1.2", "v1.*", true},
		{"v2.0", "v*", true},
		{"release-7", "release-*", true}, // after a malformed glob
		{"latest", "", false},
	} {
		g, ok := FirstMatch(globs, tc.name)
		if g != tc.glob || ok != tc.ok || MatchAny(globs, tc.name) != tc.ok {
			t.Errorf("%s: %q %v, want %q %v", tc.name, g, ok, tc.glob, tc.ok)
		}
	}
	if g, ok := FirstMatch([]string{"x*", ""}, "anything"); g != "" || !ok {
		t.Errorf("empty glob: %q %v", g, ok)
	}
}
