package semver

import (
	"errors"
	"strings"
	"testing"
)

func TestRangeContains(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rng string   // the range as typed
		in  []string // versions in it
		out []string // versions not in it
	}{
		{rng: ">=2.1 <3", in: []string{"2.1.0", "2.9.9", "v2.4.0"}, out: []string{"2.0.9", "3.0.0", "2.5.0-rc.1", "3.0.0-rc.1"}},
		{rng: ">= 2.1 < 3", in: []string{"2.1.0"}, out: []string{"3.0.0"}},
		{rng: "~2.1", in: []string{"2.1.0", "2.1.99"}, out: []string{"2.2.0", "2.0.9"}},
		{rng: "~2.1.3", in: []string{"2.1.3", "2.1.4"}, out: []string{"2.1.2", "2.2.0"}},
		{rng: "~2", in: []string{"2.0.0", "2.9.0"}, out: []string{"3.0.0", "1.9.9"}},
		{rng: "^2", in: []string{"2.0.0", "2.9.9"}, out: []string{"3.0.0", "1.0.0"}},
		{rng: "^2.1.3", in: []string{"2.1.3", "2.9.0"}, out: []string{"2.1.2", "3.0.0"}},
		{rng: "^0.2.3", in: []string{"0.2.3", "0.2.9"}, out: []string{"0.3.0", "0.2.2"}},
		{rng: "^0.0.3", in: []string{"0.0.3"}, out: []string{"0.0.4", "0.0.2"}},
		{rng: "^0", in: []string{"0.0.0", "0.9.9"}, out: []string{"1.0.0"}},
		{rng: "^0.0", in: []string{"0.0.9"}, out: []string{"0.1.0"}},
		{rng: "2", in: []string{"2.0.0", "2.5.1"}, out: []string{"3.0.0", "1.0.0"}},
		{rng: "2.1", in: []string{"2.1.0", "2.1.7"}, out: []string{"2.2.0"}},
		{rng: "2.1.x", in: []string{"2.1.0", "2.1.7"}, out: []string{"2.2.0"}},
		{rng: "2.*", in: []string{"2.0.0"}, out: []string{"3.0.0"}},
		{rng: "=2.1.3", in: []string{"2.1.3", "v2.1.3", "2.1.3+build.1"}, out: []string{"2.1.4"}},
		{rng: "2.1.3", in: []string{"2.1.3"}, out: []string{"2.1.4"}},
		{rng: ">2.1", in: []string{"2.2.0"}, out: []string{"2.1.9"}},
		{rng: ">2", in: []string{"3.0.0"}, out: []string{"2.9.9"}},
		{rng: ">2.1.3", in: []string{"2.1.4"}, out: []string{"2.1.3"}},
		{rng: "<=2.1", in: []string{"2.1.9"}, out: []string{"2.2.0"}},
		{rng: "<=2", in: []string{"2.9.9"}, out: []string{"3.0.0"}},
		{rng: "<=2.1.3", in: []string{"2.1.3"}, out: []string{"2.1.4"}},
		{rng: "<2.1", in: []string{"2.0.9"}, out: []string{"2.1.0"}},
		{rng: "*", in: []string{"0.0.0", "9.9.9"}, out: []string{"1.0.0-rc.1"}},
		{rng: "", in: []string{"1.2.3"}, out: []string{"1.2.3-alpha"}},
		{rng: "<2 || >=3.1", in: []string{"1.9.0", "3.1.0"}, out: []string{"2.0.0", "3.0.5"}},
		{rng: "v2", in: []string{"2.3.0"}, out: []string{"3.0.0"}},
		// Pre-releases only where the range names one, on the same version.
		{rng: ">=2.2.0-rc.1", in: []string{"2.2.0-rc.1", "2.2.0-rc.2", "2.2.0", "3.0.0"}, out: []string{"2.2.0-beta", "2.3.0-rc.1"}},
		{rng: ">=2.2.0-rc.1 <3", in: []string{"2.2.0-rc.10"}, out: []string{"3.0.0-rc.1", "3.0.0"}},
		{rng: "2.2.0-rc.1", in: []string{"2.2.0-rc.1"}, out: []string{"2.2.0-rc.2", "2.2.0"}},
		{rng: "^2.2.0-rc.1", in: []string{"2.2.0-rc.2", "2.5.0"}, out: []string{"2.5.0-rc.1"}},
		// Hyphen ranges: inclusive ends, a partial upper end all it names.
		{rng: "1.2 - 1.4", in: []string{"1.2.0", "1.3.9", "1.4.0", "1.4.99"}, out: []string{"1.1.9", "1.5.0", "1.4.1-rc.1"}},
		{rng: "1.2.3 - 2.3.4", in: []string{"1.2.3", "2.0.0", "2.3.4"}, out: []string{"1.2.2", "2.3.5"}},
		{rng: "1.2.3 - 2", in: []string{"2.9.9"}, out: []string{"3.0.0", "1.2.2"}},
		{rng: "v1 - v2.1", in: []string{"1.0.0", "2.1.7"}, out: []string{"2.2.0", "0.9.0"}},
		{rng: "1.x - 2.x", in: []string{"1.0.0", "2.9.9"}, out: []string{"3.0.0", "0.9.9"}},
		{rng: "* - 1.4", in: []string{"0.0.1", "1.4.2"}, out: []string{"1.5.0"}},
		{rng: "1.2 - *", in: []string{"1.2.0", "9.0.0"}, out: []string{"1.1.0"}},
		{rng: "1.2.3-rc.1 - 1.2.3", in: []string{"1.2.3-rc.1", "1.2.3-rc.2", "1.2.3"}, out: []string{"1.2.4", "1.2.2"}},
		{rng: "1.0 - 1.1 || 3.0 - 3.1", in: []string{"1.1.5", "3.1.0"}, out: []string{"2.0.0", "3.2.0"}},
		{rng: "  1.2   -   1.4  ", in: []string{"1.3.0"}, out: []string{"1.5.0"}},
	}
	for _, tt := range tests {
		r, err := ParseRange(tt.rng)
		if err != nil {
			t.Errorf("ParseRange(%q): %v", tt.rng, err)
			continue
		}
		for _, s := range tt.in {
			if !r.Contains(mustParse(t, s)) {
				t.Errorf("%q does not contain %s", tt.rng, s)
			}
		}
		for _, s := range tt.out {
			if r.Contains(mustParse(t, s)) {
				t.Errorf("%q contains %s", tt.rng, s)
			}
		}
	}
}

func TestParseRangeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		rng    string // the range as typed
		offset int    // where the error points
		msg    string // part of the message
	}{
		{rng: ">=2.1 <x3", offset: 7, msg: "major"},
		{rng: ">=2.1 <", offset: 6, msg: `"<" needs a version`},
		{rng: "^2.1.3.4", offset: 1, msg: "more than MAJOR.MINOR.PATCH"},
		{rng: "2.1-rc.1", offset: 0, msg: "pre-release needs MAJOR.MINOR.PATCH"},
		{rng: ">=2.1.0-rc..1", offset: 8, msg: "empty identifier"},
		{rng: "2.x.1", offset: 4, msg: "number after a wildcard"},
		{rng: ">*", offset: 0, msg: "matches nothing"},
		{rng: "~2.01", offset: 3, msg: "leading zero"},
		{rng: "latest", offset: 0, msg: "not a number"},
		{rng: ">=2.1<3", offset: 4, msg: "minor"},
		{rng: "1.2 - 1.4 <1.3", offset: 4, msg: "a hyphen range is LOW - HIGH"},
		{rng: "- 1.4", offset: 0, msg: "a hyphen range is LOW - HIGH"},
		{rng: "1.2 -", offset: 4, msg: "a hyphen range is LOW - HIGH"},
		{rng: ">=1.2 - 1.4", offset: 0, msg: `">=" in a hyphen range`},
		{rng: "1.2 - 1.x4", offset: 8, msg: "minor"},
	}
	for _, tt := range tests {
		_, err := ParseRange(tt.rng)
		var re *RangeError
		if !errors.As(err, &re) || !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseRange(%q) error = %v, want a *RangeError", tt.rng, err)
			continue
		}
		if re.Offset != tt.offset || !strings.Contains(re.Msg, tt.msg) {
			t.Errorf("ParseRange(%q): offset %d %q, want %d with %q", tt.rng, re.Offset, re.Msg, tt.offset, tt.msg)
		}
	}
}

func mustParse(t *testing.T, s string) Version {
	t.Helper()
	v, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{">=2.1 <3", "~2.1", "^2", "1.2.3-rc.1 || 2.x", "*", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		var re *RangeError
		if err != nil {
			if !errors.As(err, &re) || re.Offset < 0 || re.Offset > len(s) {
				t.Fatalf("ParseRange(%q): %v", s, err)
			}
			return
		}
		r.Contains(Version{Major: 1})
	})
}
