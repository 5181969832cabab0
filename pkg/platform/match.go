package platform

import (
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Normalize is p in its canonical form, the one containerd's
// platforms.Normalize gives (github.com/containerd/platforms, database.go):
// OS, architecture and variant lowercased, "macos" as darwin, the other
// names of an architecture as Go's (aarch64 as arm64, x86_64 and x86-64 as
// amd64, i386 as 386, armhf as arm/v7, armel as arm/v6), and the variant
// every machine of an architecture has as none for arm64 (v8, 8, v8.0) and
// amd64 (v1) and as v7 for arm (none, 7). OS version and features are kept.
func Normalize(p v1.Platform) v1.Platform {
	p.OS = strings.ToLower(p.OS)
	if p.OS == "macos" {
		p.OS = "darwin"
	}
	p.Architecture, p.Variant = strings.ToLower(p.Architecture), strings.ToLower(p.Variant)
	switch p.Architecture {
	case "i386":
		p.Architecture, p.Variant = "386", ""
	case "x86_64", "x86-64", "amd64":
		p.Architecture = "amd64"
		if p.Variant == "v1" {
			p.Variant = ""
		}
	case "aarch64", "arm64":
		p.Architecture = "arm64"
		switch p.Variant {
		case "8", "v8", "v8.0":
			p.Variant = ""
		case "9", "9.0", "v9.0":
			p.Variant = "v9"
		}
	case "armhf":
		p.Architecture, p.Variant = "arm", "v7"
	case "armel":
		p.Architecture, p.Variant = "arm", "v6"
	case "arm":
		switch p.Variant {
		case "", "7":
			p.Variant = "v7"
		case "5", "6", "8":
			p.Variant = "v" + p.Variant
		}
	}
	return p
}

// variants are the variants an image of want's architecture may have to
// suit want, best first (normalised, as Normalize gives them): want's own,
// then the older ones of its architecture that containerd's platforms.Only
// also accepts (compare.go, platformVector):
//
//   - arm/vN (N > 5): vN, ..., v5 (arm/v7 accepts v7, v6, v5);
//   - arm64/v8.N: v8.N, ..., v8; arm64/v9.N: v9.N, ..., v9, then
//     v8.(N+5, at most 9), ..., v8 (containerd's table: v8.0-v8.9,
//     v9.0-v9.7);
//   - amd64/vN (N > 1): vN, ..., v2, v1 (none).
//
// Any other variant is only itself. containerd's matcher also lets amd64
// take 386 and arm64 take arm: ctl does not, as it copies the image it
// picks under the name asked for instead of running it, and an image of
// another architecture there would be a surprise.
func variants(want v1.Platform) []string {
	major, minor, ok := version(want.Variant)
	var out []string
	switch {
	case want.Architecture == "arm" && ok && major > 5 && minor < 0:
		for v := major; v >= 5; v-- {
			out = append(out, "v"+strconv.Itoa(v))
		}
	case want.Architecture == "arm64" && want.Variant == "":
		out = []string{""}
	case want.Architecture == "arm64" && ok && major == 8 && minor <= 9:
		out = arm64Variants(8, minor, out)
	case want.Architecture == "arm64" && ok && major == 9 && minor <= 7:
		out = arm64Variants(9, minor, out)
		out = arm64Variants(8, min(max(minor, 0)+5, 9), out)
	case want.Architecture == "amd64" && ok && major > 1 && minor < 0:
		for v := major; v >= 2; v-- {
			out = append(out, "v"+strconv.Itoa(v))
		}
		out = append(out, "")
	default:
		out = []string{want.Variant}
	}
	return out
}

// arm64Variants appends arm64/vMAJOR.MINOR down to vMAJOR to out, in
// Normalize's spelling (v8.0 is none, v9.0 is v9).
func arm64Variants(major, minor int, out []string) []string {
	for n := max(minor, 0); n >= 0; n-- {
		v := "v" + strconv.Itoa(major)
		if n > 0 {
			v += "." + strconv.Itoa(n)
		}
		out = append(out, Normalize(v1.Platform{Architecture: "arm64", Variant: v}).Variant)
	}
	return out
}

// version reads a variant "vMAJOR" (minor -1) or "vMAJOR.MINOR".
func version(variant string) (major, minor int, ok bool) {
	s, found := strings.CutPrefix(variant, "v")
	if !found {
		return 0, 0, false
	}
	maj, mnr, dotted := strings.Cut(s, ".")
	major, err := strconv.Atoi(maj)
	if err != nil || major < 0 {
		return 0, 0, false
	}
	if !dotted {
		return major, -1, true
	}
	if minor, err = strconv.Atoi(mnr); err != nil || minor < 0 {
		return 0, 0, false
	}
	return major, minor, true
}

// rank is how well an image of platform p suits want: 0 when it is want's
// platform, n when its variant is the n-th older one want accepts
// (variants), -1 when it does not suit want. Both are compared normalised;
// want's OS version and OS features, when it gives them, must be p's (what
// the request leaves out of those is not compared, as ggcr's
// v1.Platform.Satisfies).
func rank(want v1.Platform, p *v1.Platform) int {
	if p == nil {
		return -1
	}
	w, g := Normalize(want), Normalize(*p)
	if w.OS != g.OS || w.Architecture != g.Architecture ||
		!g.Satisfies(v1.Platform{OSVersion: w.OSVersion, OSFeatures: w.OSFeatures, Features: w.Features}) {
		return -1
	}
	for i, v := range variants(w) {
		if v == g.Variant {
			return i
		}
	}
	return -1
}
