// Package platform chooses the images of a multi-platform index by
// platform: it parses docker's --platform forms (OS/ARCH[/VARIANT][:OSVERSION],
// a comma list of them, or "all"), reads an image's platform from its
// config, and picks or filters an index's entries. It is the one place where
// ctl decides which children of an index a command works on: pull, copy,
// save, index create, inspect and the tag listings all call it.
//
// Matching follows ggcr's v1.Platform.Satisfies: what the request leaves
// out is not compared, so "linux/arm64" selects "linux/arm64/v8".
package platform

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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
func Default() v1.Platform {
	p := v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
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
// or "unknown" when p is nil or names no OS.
func String(p *v1.Platform) string {
	if p == nil || p.OS == "" {
		return "unknown"
	}
	return p.String()
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

// Matches reports whether an entry of platform p is selected. An entry
// without a platform is selected by All only.
func (s Selection) Matches(p *v1.Platform) bool {
	if s.all {
		return true
	}
	if p == nil {
		return false
	}
	return slices.ContainsFunc(s.list, func(want v1.Platform) bool { return p.Satisfies(want) })
}

// IsImage reports whether an index entry is an image (or an index, which
// holds images): what platform selection considers. Artifacts (signatures,
// buildkit's attestations with platform "unknown/unknown") are never picked.
func IsImage(d v1.Descriptor) bool {
	return (d.MediaType.IsImage() || d.MediaType.IsIndex() || d.MediaType == "") &&
		d.Annotations["vnd.docker.reference.type"] != "attestation-manifest"
}

// List is the platforms of an index's image entries, in index order, each
// once ("unknown" for an entry without one).
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

// Pick is the entry of im for platform want: the first image entry whose
// platform satisfies it, as docker's pull chooses. A *NotFoundError names
// the platforms im has.
func Pick(im *v1.IndexManifest, want v1.Platform) (v1.Descriptor, error) {
	for _, d := range im.Manifests {
		if IsImage(d) && d.Platform != nil && d.Platform.Satisfies(want) {
			return d, nil
		}
	}
	return v1.Descriptor{}, &NotFoundError{Missing: []string{String(&want)}, Have: List(im)}
}

// Filter is the entries of im that sel keeps, in index order: every image
// entry for All, else for each platform listed the entries satisfying it.
// Each platform listed must match at least one entry (else a
// *NotFoundError). Artifacts are never kept: a filtered index lists images
// only.
func Filter(im *v1.IndexManifest, sel Selection) ([]v1.Descriptor, error) {
	var out []v1.Descriptor
	for _, d := range im.Manifests {
		if IsImage(d) && sel.Matches(d.Platform) {
			out = append(out, d)
		}
	}
	var missing []string
	for i, want := range sel.list {
		if !slices.ContainsFunc(out, func(d v1.Descriptor) bool { return d.Platform.Satisfies(want) }) {
			missing = append(missing, String(&sel.list[i]))
		}
	}
	if len(missing) > 0 {
		return nil, &NotFoundError{Missing: missing, Have: List(im)}
	}
	return out, nil
}

// Same reports whether two entries would be the same platform in one index:
// equal OS, architecture, variant and OS version (an index may not list two
// such entries for ctl's index create).
func Same(a, b *v1.Platform) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.OS == b.OS && a.Architecture == b.Architecture && a.Variant == b.Variant && a.OSVersion == b.OSVersion
}
