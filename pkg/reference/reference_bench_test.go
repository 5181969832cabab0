package reference

import (
	"testing"

	dref "github.com/distribution/reference"
)

// benchInputs is a mix of familiar names, full names with ports and
// references with digests, all valid.
var benchInputs = []struct{ name, in string }{
	{"familiar", "nginx"},
	{"familiar-tag", "nginx:1.25"},
	{"account", "diamol/golang"},
	{"hub-full", "docker.io/library/nginx:1.25"},
	{"port", "registry.local:5000/team/app:v1"},
	{"ipv6", "[2001:db8::1]:5000/a/b:c"},
	{"digest", "nginx@" + sha256},
	{"tag-digest", "gcr.io/distroless/static-debian12:nonroot@" + sha256},
}

var sinkRef Reference
var sinkNamed dref.Named

// BenchmarkParse measures Parse on each input and on the whole mix.
func BenchmarkParse(b *testing.B) {
	for _, in := range benchInputs {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := Parse(in.in)
				if err != nil {
					b.Fatal(err)
				}
				sinkRef = r
			}
		})
	}
	b.Run("mixed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, in := range benchInputs {
				sinkRef, _ = Parse(in.in)
			}
		}
	})
}

// BenchmarkDistribution measures distribution/reference's
// ParseNormalizedNamed followed by TagNameOnly on the same inputs.
func BenchmarkDistribution(b *testing.B) {
	for _, in := range benchInputs {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n, err := dref.ParseNormalizedNamed(in.in)
				if err != nil {
					b.Fatal(err)
				}
				sinkNamed = dref.TagNameOnly(n)
			}
		})
	}
	b.Run("mixed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, in := range benchInputs {
				n, _ := dref.ParseNormalizedNamed(in.in)
				sinkNamed = dref.TagNameOnly(n)
			}
		}
	})
}

// BenchmarkParseCanonical measures Parse plus Canonical(), the closest
// like-for-like comparison with ParseNormalizedNamed+TagNameOnly+String.
func BenchmarkParseCanonical(b *testing.B) {
	var s string
	b.ReportAllocs()
	for b.Loop() {
		for _, in := range benchInputs {
			r, _ := Parse(in.in)
			s = r.Canonical()
		}
	}
	_ = s
}

// BenchmarkDistributionCanonical is BenchmarkParseCanonical's counterpart.
func BenchmarkDistributionCanonical(b *testing.B) {
	var s string
	b.ReportAllocs()
	for b.Loop() {
		for _, in := range benchInputs {
			n, _ := dref.ParseNormalizedNamed(in.in)
			s = dref.TagNameOnly(n).String()
		}
	}
	_ = s
}
