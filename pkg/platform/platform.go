// Package platform chooses the images of a multi-platform index by
// platform: it parses docker's --platform forms (OS/ARCH[/VARIANT][:OSVERSION],
// a comma list of them, or "all"), reads an image's platform from its
// config, and picks or filters an index's entries. It is the one place where
// ctl decides which children of an index a command works on: pull, copy,
// save, index create/add/remove, inspect, digest, manifest get and the tag
// listings all call it.
//
// Matching follows containerd's (github.com/containerd/platforms), which
// docker's pull uses: both sides are compared in Normalize's canonical
// form, so linux/arm64, linux/arm64/v8 and linux/aarch64 are one platform,
// and linux/arm is linux/arm/v7; a request also takes the older variants
// of its architecture that containerd's platforms.Only takes (arm/v7 takes
// v6 and v5), the best one an index has winning (see variants). OS version
// and OS features are compared only when the request gives them.
package platform

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Sentinel errors.
var (
	// ErrInvalid: a platform string that does not parse.
	ErrInvalid = errors.New("invalid platform")
	// ErrNotFound: an index has no entry for a platform asked for.
	ErrNotFound = errors.New("no such platform")
)

// NotFoundError names the platforms asked for that an index lacks and the
// platforms it has (or, Image set, the one platform of a single image). It
// matches ErrNotFound with errors.Is.
type NotFoundError struct {
	Missing []string // the platforms asked for and not found
	Have    []string // the platforms the index lists
	Image   bool     // Have is a single image's platform, not an index's
}

func (e *NotFoundError) Error() string {
	have := "none"
	if len(e.Have) > 0 {
		have = strings.Join(e.Have, ", ")
	}
	if e.Image {
		return fmt.Sprintf("no image for platform %s (the image is %s)", strings.Join(e.Missing, ", "), have)
	}
	return fmt.Sprintf("no image for platform %s (the index has: %s)", strings.Join(e.Missing, ", "), have)
}

// Is makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Parse reads OS/ARCH[/VARIANT][:OSVERSION]; OS and architecture are
// required.
func Parse(s string) (v1.Platform, error) {
	p, err := v1.ParsePlatform(s)
	if err != nil || p.OS == "" || p.Architecture == "" || strings.Count(s, ":") > 1 || strings.ContainsAny(s, " ,") {
		return v1.Platform{}, fmt.Errorf("%w %q: want OS/ARCH[/VARIANT], e.g. linux/arm64/v8", ErrInvalid, s)
	}
	return *p, nil
}

// Default is this machine's platform, as docker picks it: the machine's
// architecture (and ARM variant), and linux as the OS on macOS and
// Windows, whose containers run in a Linux VM.
func Default() v1.Platform { return defaultOf(runtime.GOOS, runtime.GOARCH) }

// defaultOf is Default on a machine of Go's goos and goarch.
func defaultOf(goos, goarch string) v1.Platform {
	p := v1.Platform{OS: goos, Architecture: goarch}
	if p.OS == "darwin" || p.OS == "windows" {
		p.OS = "linux"
	}
	switch p.Architecture {
	case "arm64":
		p.Variant = "v8"
	case "arm":
		p.Variant = "v7"
	}
	return p
}

// String is p as Parse reads it ("linux/arm64/v8", "windows/amd64:10.0.20348"),
// as the index or config wrote it; an OS or architecture it lacks is
// "unknown", so an entry without a platform is "unknown/unknown", as
// docker shows buildkit's attestations. It is the one way ctl names a
// platform.
func String(p *v1.Platform) string {
	if p == nil {
		p = &v1.Platform{}
	}
	q := *p
	if q.OS == "" {
		q.OS = "unknown"
	}
	if q.Architecture == "" {
		q.Architecture = "unknown"
	}
	return q.String()
}

// Of is the platform an image config declares (nil when it declares none).
func Of(cf *v1.ConfigFile) *v1.Platform {
	if cf == nil || cf.OS == "" && cf.Architecture == "" {
		return nil
	}
	return &v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, OSVersion: cf.OSVersion, OSFeatures: cf.OSFeatures}
}

// Selection is which platforms of an index a command keeps: all of them, or
// those matching a list. The zero Selection selects nothing in particular
// (IsZero): the caller's default applies.
type Selection struct {
	all  bool
	list []v1.Platform
}

// All selects every platform.
func All() Selection { return Selection{all: true} }

// Select is a selection of the platforms given.
func Select(ps ...v1.Platform) Selection { return Selection{list: ps} }

// ParseSelection reads "all" or a comma-separated list of platforms
// ("linux/amd64,linux/arm64"); "" is the zero Selection.
func ParseSelection(s string) (Selection, error) {
	switch strings.TrimSpace(s) {
	case "":
		return Selection{}, nil
	case "all":
		return All(), nil
	}
	var sel Selection
	for _, part := range strings.Split(s, ",") {
		p, err := Parse(strings.TrimSpace(part))
		if err != nil {
			return Selection{}, err
		}
		sel.list = append(sel.list, p)
	}
	return sel, nil
}

// IsZero reports whether the selection was left unset.
func (s Selection) IsZero() bool { return !s.all && len(s.list) == 0 }

// IsAll reports whether every platform is selected.
func (s Selection) IsAll() bool { return s.all }

// Single is the one platform listed, when exactly one is: a command that
// stores or copies that platform's image rather than an index.
func (s Selection) Single() (v1.Platform, bool) {
	if len(s.list) == 1 {
		return s.list[0], true
	}
	return v1.Platform{}, false
}

// Multi reports whether the selection asks for an index: All, or two or
// more platforms.
func (s Selection) Multi() bool { return s.all || len(s.list) > 1 }

// Platforms are the platforms listed (none for All).
func (s Selection) Platforms() []v1.Platform { return s.list }

// String is the selection as ParseSelection reads it.
func (s Selection) String() string {
	if s.all {
		return "all"
	}
	out := make([]string, len(s.list))
	for i := range s.list {
		out[i] = String(&s.list[i])
	}
	return strings.Join(out, ",")
}

// Missing is the platforms listed that a single image of platform p does
// not suit (p being neither the platform nor one of its older variants,
// see variants), as Filter finds them missing from an index: an image
// answers a list only when it suits every platform of it. All misses
// nothing; an image without a platform suits no platform listed.
func (s Selection) Missing(p *v1.Platform) []string {
	var out []string
	for i, want := range s.list {
		if rank(want, p) < 0 {
			out = append(out, String(&s.list[i]))
		}
	}
	return out
}

// IsImage reports whether an index entry is an image (or an index, which
// holds images): what platform selection considers. Artifacts (signatures,
// buildkit's attestations with platform "unknown/unknown", entries with an
// artifactType other than an image config's) are never picked.
func IsImage(d v1.Descriptor) bool {
	return (d.MediaType.IsImage() || d.MediaType.IsIndex() || d.MediaType == "") &&
		(d.ArtifactType == "" || types.MediaType(d.ArtifactType).IsConfig()) &&
		d.Annotations["vnd.docker.reference.type"] != "attestation-manifest"
}

// Add adds to ps, each once, the platform the image entry d of an index
// names (String: "unknown/unknown" for none) or, for a child index naming
// none, the platforms that index lists (of: those of its own entries).
func Add(ps []string, d v1.Descriptor, of []string) []string {
	add := []string{String(d.Platform)}
	if d.MediaType.IsIndex() && d.Platform == nil && len(of) > 0 {
		add = of
	}
	for _, p := range add {
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// List is the platforms of an index's image entries, in index order, each
// once ("unknown/unknown" for an entry without one).
func List(im *v1.IndexManifest) []string {
	var out []string
	for _, d := range im.Manifests {
		if !IsImage(d) {
			continue
		}
		if s := String(d.Platform); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Pick is the entry of im for platform want: the image entry that suits it
// best (rank), the first of those in index order, as docker's pull chooses
// with containerd's platforms.Only. A *NotFoundError names the platforms im
// has.
func Pick(im *v1.IndexManifest, want v1.Platform) (v1.Descriptor, error) {
	if i := best(im, want); len(i) > 0 {
		return im.Manifests[i[0]], nil
	}
	return v1.Descriptor{}, &NotFoundError{Missing: []string{String(&want)}, Have: List(im)}
}

// Best is the position among ps of the platform that suits want best (the
// first of those), as Pick chooses among an index's entries, or -1 when
// none suits it.
func Best(want v1.Platform, ps ...*v1.Platform) int {
	im := &v1.IndexManifest{}
	for _, p := range ps {
		im.Manifests = append(im.Manifests, v1.Descriptor{Platform: p})
	}
	if i := best(im, want); len(i) > 0 {
		return i[0]
	}
	return -1
}

// best is the positions in im of the image entries that suit want best
// (the lowest rank): the ones of want's platform when im has any, else
// those of the best older variant it has.
func best(im *v1.IndexManifest, want v1.Platform) []int {
	var out []int
	top := -1
	for i, d := range im.Manifests {
		if !IsImage(d) {
			continue
		}
		r := rank(want, d.Platform)
		if r < 0 || top >= 0 && r > top {
			continue
		}
		if r != top {
			top, out = r, nil
		}
		out = append(out, i)
	}
	return out
}

// same is the positions in im of the image entries of want's platform
// (rank 0).
func same(im *v1.IndexManifest, want v1.Platform) []int {
	var out []int
	for i, d := range im.Manifests {
		if IsImage(d) && rank(want, d.Platform) == 0 {
			out = append(out, i)
		}
	}
	return out
}

// Filter is the entries of im that sel keeps, in index order: every image
// entry for All, else for each platform listed the entries Pick chooses
// from (all of them when they differ only by what the request leaves out,
// an OS version). Each platform listed must match at least one entry (else
// a *NotFoundError). buildkit's attestation manifests go with the image
// they name (AttestationOf), as buildx's imagetools create and docker's
// platform filter keep them; other artifacts are never kept.
func Filter(im *v1.IndexManifest, sel Selection) ([]v1.Descriptor, error) {
	return filter(im, sel, best)
}

// FilterSame is Filter without older variants: for each platform listed,
// the image entries that are that platform (linux/arm64 is linux/arm64/v8
// and linux/arm is linux/arm/v7, but linux/arm/v7 is not linux/arm/v6).
// It is what index remove drops.
func FilterSame(im *v1.IndexManifest, sel Selection) ([]v1.Descriptor, error) {
	return filter(im, sel, same)
}

// filter is the entries of im at the positions choose gives for the
// platforms sel lists (or every image entry for All), in index order.
func filter(im *v1.IndexManifest, sel Selection, choose func(*v1.IndexManifest, v1.Platform) []int) ([]v1.Descriptor, error) {
	keep := make([]bool, len(im.Manifests))
	var missing []string
	for i, want := range sel.list {
		got := choose(im, want)
		if len(got) == 0 {
			missing = append(missing, String(&sel.list[i]))
		}
		for _, j := range got {
			keep[j] = true
		}
	}
	if len(missing) > 0 {
		return nil, &NotFoundError{Missing: missing, Have: List(im)}
	}
	kept := map[string]bool{}
	for i, d := range im.Manifests {
		if keep[i] = keep[i] || sel.all && IsImage(d); keep[i] {
			kept[d.Digest.String()] = true
		}
	}
	var out []v1.Descriptor
	for i, d := range im.Manifests {
		if keep[i] || kept[AttestationOf(d)] {
			out = append(out, d)
		}
	}
	return out, nil
}

// AttestationOf is the digest of the image an index entry is buildkit's
// attestation manifest of (its vnd.docker.reference.digest annotation), or
// "" when it is no attestation manifest.
func AttestationOf(d v1.Descriptor) string {
	if d.Annotations["vnd.docker.reference.type"] != "attestation-manifest" {
		return ""
	}
	return d.Annotations["vnd.docker.reference.digest"]
}

// Same reports whether two entries would be the same platform in one index:
// equal OS, architecture, variant (Normalize'd: linux/arm64 and
// linux/arm64/v8 are the same) and OS version (an index may not list two
// such entries for ctl's index create).
func Same(a, b *v1.Platform) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	x, y := Normalize(*a), Normalize(*b)
	return x.OS == y.OS && x.Architecture == y.Architecture && x.Variant == y.Variant && x.OSVersion == y.OSVersion
}
