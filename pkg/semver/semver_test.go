package semver

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string // version as typed
		want    string // String() of the result; "" when invalid
		errText string // part of the error for invalid input
	}{
		{in: "2.1.106", want: "2.1.106"},
		{in: "v2.1.106", want: "v2.1.106"},
		{in: "0.0.0", want: "0.0.0"},
		{in: "2.2.0-rc.1", want: "2.2.0-rc.1"},
		{in: "1.0.0-alpha-beta.0.x-y", want: "1.0.0-alpha-beta.0.x-y"},
		{in: "1.0.0+build.007", want: "1.0.0+build.007"},
		{in: "1.0.0-rc.1+exp.sha.5114f85", want: "1.0.0-rc.1+exp.sha.5114f85"},
		{in: "1.0.0-0A.is.legal", want: "1.0.0-0A.is.legal"},
		{in: "18446744073709551615.0.0", want: "18446744073709551615.0.0"},
		{in: "2.1", errText: "want MAJOR.MINOR.PATCH"},
		{in: "2", errText: "want MAJOR.MINOR.PATCH"},
		{in: "latest", errText: "want MAJOR.MINOR.PATCH"},
		{in: "", errText: "want MAJOR.MINOR.PATCH"},
		{in: "V2.1.0", errText: "major"},
		{in: "01.2.3", errText: "leading zero"},
		{in: "1.02.3", errText: "leading zero"},
		{in: "1.2.3-01", errText: "leading zero"},
		{in: "1.2.3-", errText: "empty identifier"},
		{in: "1.2.3-a..b", errText: "empty identifier"},
		{in: "1.2.3+", errText: "empty identifier"},
		{in: "1.2.3-a_b", errText: "only [0-9A-Za-z-]"},
		{in: "1.2.3.4", errText: "want MAJOR.MINOR.PATCH"},
		{in: "1.2.x", errText: "not a number"},
		{in: "1.2.-3", errText: "patch is empty"},
		{in: "18446744073709551616.0.0", errText: "too large"},
		{in: "vv1.2.3", errText: "not a number"},
	}
	for _, tt := range tests {
		v, err := Parse(tt.in)
		if tt.want != "" {
			if err != nil {
				t.Errorf("Parse(%q): %v", tt.in, err)
			} else if v.String() != tt.want {
				t.Errorf("Parse(%q) = %q", tt.in, v.String())
			}
			continue
		}
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.errText) {
			t.Errorf("Parse(%q) error = %v, want ErrInvalid with %q", tt.in, err, tt.errText)
		}
	}
}

func TestTags(t *testing.T) {
	t.Parallel()
	v, err := Parse("v2.1.106+build.5")
	if err != nil {
		t.Fatal(err)
	}
	if got := []string{v.Tag(), v.MinorTag(), v.MajorTag()}; !slices.Equal(got, []string{"v2.1.106_build.5", "v2.1", "v2"}) {
		t.Errorf("tags = %q", got)
	}
	back, err := ParseTag(v.Tag())
	if err != nil || back.String() != v.String() {
		t.Errorf("ParseTag(%q) = %v, %v", v.Tag(), back, err)
	}
}

func TestComparePrecedence(t *testing.T) {
	t.Parallel()
	// semver.org §11's example, in ascending order, plus prefix and build
	// metadata, which do not count.
	ordered := []string{
		"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0-0", "2.0.0-99999999999999999999", "2.0.0-a",
	}
	vs := make([]Version, len(ordered))
	for i, s := range ordered {
		v, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		vs[i] = v
	}
	for i := range vs {
		for j := range vs {
			want := cmpUint(uint64(i), uint64(j))
			if got := Compare(vs[i], vs[j]); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", vs[i], vs[j], got, want)
			}
		}
	}
	a, _ := Parse("v1.0.0+build.1")
	b, _ := Parse("1.0.0+build.2")
	if Compare(a, b) != 0 {
		t.Errorf("prefix or build metadata changed precedence: %s vs %s", a, b)
	}
}

// FuzzParse checks that whatever Parse accepts prints back as given and
// orders consistently, and that it never panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"2.1.106", "v2.1.106", "1.0.0-rc.1+b.2", "01.0.0", "1.0.0-", "1.2", "v", "1.0.0-0.a.99999999999999999999", "1.0.0+0.0"} {
		f.Add(s, "1.0.0")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, err := Parse(a)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalid", a, err)
			}
			return
		}
		if va.String() != a {
			t.Fatalf("Parse(%q).String() = %q", a, va.String())
		}
		again, err := ParseTag(va.Tag())
		if err != nil || again.String() != a {
			t.Fatalf("ParseTag(%q) = %q, %v", va.Tag(), again, err)
		}
		if Compare(va, va) != 0 {
			t.Fatalf("Compare(%s, itself) != 0", a)
		}
		if vb, err := Parse(b); err == nil && Compare(va, vb) != -Compare(vb, va) {
			t.Fatalf("Compare(%s, %s) not antisymmetric", a, b)
		}
	})
}
