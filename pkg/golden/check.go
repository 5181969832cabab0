package golden

import (
	"fmt"

	"github.com/ctl-dev/ctl/pkg/dockerfile"
	"github.com/ctl-dev/ctl/pkg/reference"
)

// Problem kinds of a Finding.
const (
	Unapproved = "unapproved" // the base is not under an approved prefix
	Unpinned   = "unpinned"   // the base has no digest
)

// Finding is one problem with one FROM.
type Finding struct {
	File      string `json:"file"`
	Line      int    `json:"line"`
	Image     string `json:"image"`     // the image as the FROM names it, after ARG substitution
	Reference string `json:"reference"` // the normalised reference
	Problem   string `json:"problem"`   // Unapproved or Unpinned
	Detail    string `json:"detail"`    // what is wrong, for people
}

// String is the report line: "FILE:LINE: detail".
func (f Finding) String() string { return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Detail) }

// CheckOptions say what Check looks for.
type CheckOptions struct {
	// Allow, when not nil, is the list of approved bases: every other base
	// is reported.
	Allow *Allowlist
	// RequirePinned reports every base without a digest (what Pin adds).
	RequirePinned bool
	// BuildArgs override ARG defaults, as docker build --build-arg does.
	BuildArgs map[string]string
}

// Check reads the Dockerfile src (named file in reports) and returns its
// findings in line order. Stages and scratch are not bases. Every error is
// about the input (dockerfile.ErrSyntax, reference.ErrInvalid) and names
// FILE or FILE:LINE.
func Check(file string, src []byte, opts CheckOptions) ([]Finding, error) {
	bases, err := Bases(file, src, opts.BuildArgs)
	if err != nil {
		return nil, err
	}
	var out []Finding
	for _, b := range bases {
		f := Finding{File: file, Line: b.From.Line, Image: b.From.Image, Reference: b.Ref.String()}
		if opts.Allow != nil {
			if _, ok := opts.Allow.Allows(b.Ref); !ok {
				f.Problem = Unapproved
				f.Detail = fmt.Sprintf("base image %s is not approved (allowed: %s)", b.From.Image, opts.Allow)
				out = append(out, f)
			}
		}
		if opts.RequirePinned {
			if why := unpinned(b.Ref); why != "" {
				f.Problem = Unpinned
				f.Detail = fmt.Sprintf("base image %s is not pinned: %s", b.From.Image, why)
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// unpinned says why r is not pinned, or "" when it is. A digest pins: it is
// what a build pulls, whatever the tag beside it says (the tag, latest
// included, is what pin --update re-resolves). Without one, the detail
// names a missing or moving tag too.
func unpinned(r reference.Reference) string {
	if r.Digest() != "" {
		return ""
	}
	switch r.Tag() {
	case "":
		return "no tag, no digest"
	case "latest":
		return `tag "latest", no digest`
	}
	return "no digest"
}

// Base is a FROM that names an image to pull, with its parsed reference.
type Base struct {
	From dockerfile.From
	Ref  reference.Reference
}

// Bases parses src and returns its base images: every FROM that is neither
// scratch nor an earlier stage.
func Bases(file string, src []byte, buildArgs map[string]string) ([]Base, error) {
	df, err := dockerfile.Parse(src, buildArgs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return basesOf(file, df)
}

func basesOf(file string, df *dockerfile.File) ([]Base, error) {
	var out []Base
	for _, fr := range df.Froms {
		if !fr.IsBase() {
			continue
		}
		r, err := reference.Parse(fr.Image)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, fr.Line, err)
		}
		out = append(out, Base{From: fr, Ref: r})
	}
	return out, nil
}
