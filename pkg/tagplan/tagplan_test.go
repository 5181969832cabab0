package tagplan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/semver"
)

func TestPlan(t *testing.T) {
	t.Parallel()
	const d = "sha256:new"
	tests := []struct {
		name     string
		version  string            // the version being tagged
		existing map[string]string // the repository's tags before
		opts     Options
		want     string // "tag action digest" per step, ";"-separated
	}{
		{
			name:    "empty repository gets every tag",
			version: "2.1.106",
			want:    "2.1.106 created new; 2.1 created new; 2 created new; latest created new",
		},
		{
			name:    "v prefix is kept on every tag but latest",
			version: "v2.1.106",
			want:    "v2.1.106 created new; v2.1 created new; v2 created new; latest created new",
		},
		{
			name:    "no latest",
			version: "2.1.106",
			opts:    Options{NoLatest: true},
			want:    "2.1.106 created new; 2.1 created new; 2 created new",
		},
		{
			name:    "pre-release gets only its own tag",
			version: "2.2.0-rc.1",
			existing: map[string]string{
				"2.1.106": "sha256:a", "2.1": "sha256:a", "2": "sha256:a", "latest": "sha256:a",
			},
			want: "2.2.0-rc.1 created new",
		},
		{
			name:    "newer release moves everything",
			version: "2.1.114",
			existing: map[string]string{
				"2.1.106": "sha256:a", "2.1": "sha256:a", "2": "sha256:a", "latest": "sha256:a",
			},
			want: "2.1.114 created new; 2.1 moved new; 2 moved new; latest moved new",
		},
		{
			name:    "older patch never moves a tag backwards",
			version: "2.1.106",
			existing: map[string]string{
				"2.1.114": "sha256:b", "2.1": "sha256:b", "2": "sha256:b", "latest": "sha256:b",
			},
			want: "2.1.106 created new; 2.1 kept b; 2 kept b; latest kept b",
		},
		{
			name:    "patch of an older minor line moves only its minor tag",
			version: "2.0.9",
			existing: map[string]string{
				"2.0.8": "sha256:a", "2.0": "sha256:a", "2.1.0": "sha256:b", "2": "sha256:b", "latest": "sha256:b",
			},
			want: "2.0.9 created new; 2.0 moved new; 2 kept b; latest kept b",
		},
		{
			name:    "patch of an older major line moves its minor and major tags",
			version: "1.4.2",
			existing: map[string]string{
				"1.4.1": "sha256:a", "1.4": "sha256:a", "1": "sha256:a", "2.0.0": "sha256:b", "2": "sha256:b", "latest": "sha256:b",
			},
			want: "1.4.2 created new; 1.4 moved new; 1 moved new; latest kept b",
		},
		{
			name:    "a newer version in the line keeps a tag that does not exist absent",
			version: "2.1.106",
			existing: map[string]string{
				"2.1.114": "sha256:b",
			},
			want: "2.1.106 created new; 2.1 kept ; 2 kept ; latest kept ",
		},
		{
			name:    "existing versions count with or without the v prefix",
			version: "2.1.106",
			existing: map[string]string{
				"v2.1.114": "sha256:b", "2.1": "sha256:a",
			},
			want: "2.1.106 created new; 2.1 kept a; 2 kept ; latest kept ",
		},
		{
			name:    "existing pre-releases do not hold tags back",
			version: "2.1.0",
			existing: map[string]string{
				"2.2.0-rc.1": "sha256:rc", "3.0.0-alpha": "sha256:alpha", "latest": "sha256:a",
			},
			want: "2.1.0 created new; 2.1 created new; 2 created new; latest moved new",
		},
		{
			name:    "release equal to the newest (rebuilt) moves the tags",
			version: "2.1.114",
			existing: map[string]string{
				"2.1.114": "sha256:b", "2.1": "sha256:b", "2": "sha256:b", "latest": "sha256:b",
			},
			want: "2.1.114 moved new; 2.1 moved new; 2 moved new; latest moved new",
		},
		{
			name:    "re-running the same plan changes nothing",
			version: "2.1.114",
			existing: map[string]string{
				"2.1.114": "sha256:new", "2.1": "sha256:new", "2": "sha256:new", "latest": "sha256:new",
			},
			want: "2.1.114 unchanged new; 2.1 unchanged new; 2 unchanged new; latest unchanged new",
		},
		{
			name:    "build metadata is spelled with _ and does not count",
			version: "2.1.114+build.7",
			existing: map[string]string{
				"2.1.114_build.6": "sha256:b", "2.1": "sha256:b",
			},
			want: "2.1.114_build.7 created new; 2.1 moved new; 2 created new; latest created new",
		},
		{
			name:    "tags that are not versions are ignored",
			version: "1.0.0",
			existing: map[string]string{
				"stable": "sha256:s", "2.1": "sha256:x", "main-abc123": "sha256:m",
			},
			want: "1.0.0 created new; 1.0 created new; 1 created new; latest created new",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := semver.Parse(tt.version)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range Plan(v, tt.existing, d, tt.opts) {
				got = append(got, fmt.Sprintf("%s %s %s", s.Tag, s.Action, strings.TrimPrefix(s.Digest, "sha256:")))
				if s.Action == Kept && !strings.Contains(s.Reason, "is newer") {
					t.Errorf("kept step %s has reason %q", s.Tag, s.Reason)
				}
				if s.Writes() != (s.Digest == d) {
					t.Errorf("step %+v: Writes() = %v", s, s.Writes())
				}
			}
			if g := strings.Join(got, "; "); g != tt.want {
				t.Errorf("plan:\n got  %s\n want %s", g, tt.want)
			}
		})
	}
}

func TestPlanKeptReason(t *testing.T) {
	t.Parallel()
	v, _ := semver.Parse("2.1.106")
	steps := Plan(v, map[string]string{"2.1.114": "sha256:b", "2.1": "sha256:b"}, "sha256:new", Options{})
	if got := steps[1].Reason; got != "2.1.114 is newer than 2.1.106" {
		t.Errorf("reason = %q", got)
	}
}
