package golden

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/ctl-dev/ctl/pkg/dockerfile"
	"github.com/ctl-dev/ctl/pkg/reference"
)

// Resolver finds the digest a reference's tag points to now, as the
// registry answers a HEAD of its manifest: for a multi-platform image, the
// digest of the index (what crane digest and docker pull print).
type Resolver interface {
	Digest(ctx context.Context, r reference.Reference) (string, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ctx context.Context, r reference.Reference) (string, error)

// Digest calls f.
func (f ResolverFunc) Digest(ctx context.Context, r reference.Reference) (string, error) {
	return f(ctx, r)
}

// PinOptions adjust Pin.
type PinOptions struct {
	// Update re-resolves FROM lines that already carry a digest (when they
	// also have a tag); without it they are left as they are.
	Update bool
	// BuildArgs override ARG defaults, as docker build --build-arg does.
	BuildArgs map[string]string
}

// Pin actions of a Change.
const (
	PinPinned    = "pinned"    // a digest was added or replaced
	PinUnchanged = "unchanged" // already pinned to the digest the tag has now (with Update)
	PinKept      = "kept"      // left as it is; Reason says why
	PinFailed    = "failed"    // its digest could not be resolved; Reason and Err say why
)

// ReasonPinned is the Reason of a base kept because it has a digest
// already (PinOptions.Update re-resolves it).
const ReasonPinned = "already pinned"

// Change is what Pin did to one base image.
type Change struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Old    string `json:"old"` // the image operand as written
	New    string `json:"new"` // the operand after pinning (== Old unless Action is "pinned")
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
	Err    error  `json:"-"` // what the resolver said, when Action is PinFailed
}

// Pin rewrites every base image of the Dockerfile src to IMAGE:TAG@DIGEST,
// the digest resolved now (no tag means "latest", which is written out, so
// that --update knows what to re-resolve). Only the image operand changes:
// formatting, comments and everything else stay byte for byte. Already
// pinned bases are kept unless opts.Update, and so are digest-only ones
// (there is no tag to resolve). A FROM that is just "$NAME" or "${NAME}" is
// pinned by rewriting the default of its global ARG (when the default is
// plain and not overridden); one whose repository uses build arguments
// ("$REG/golden/sdk:3.0") gets the digest resolved with the ARG defaults
// appended, the variables kept; one whose tag does is kept (a digest would
// hold for one value of it only). Running Pin on its own output changes
// nothing.
//
// A base whose digest cannot be resolved (an unreachable registry, a
// missing tag) does not stop the others: it is reported as PinFailed and
// left as it is. Only a cancelled ctx ends Pin early, with its error.
// Changes come in line order.
func Pin(ctx context.Context, file string, src []byte, res Resolver, opts PinOptions) ([]byte, []Change, error) {
	df, err := dockerfile.Parse(src, opts.BuildArgs)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	bases, err := basesOf(file, df)
	if err != nil {
		return nil, nil, err
	}
	type edit struct{ start, end int }
	edits := map[edit]string{}
	var changes []Change
	for _, b := range bases {
		// The operand to rewrite: the FROM's own image, or the default of
		// the ARG it consists of.
		c := Change{File: file, Line: b.From.Line, Old: b.From.Raw, New: b.From.Raw, Action: PinKept}
		span, contiguous := edit{b.From.Start, b.From.End}, b.From.Contiguous
		if b.From.HasVariables() {
			if _, one := oneArg(b.From.Raw); one {
				a, why := argOperand(df, b.From)
				if why != "" {
					c.Reason = why
					changes = append(changes, c)
					continue
				}
				c.Line, c.Old, c.New = a.Line, a.Default, a.Default
				span, contiguous = edit{a.Start, a.End}, a.Contiguous
				if _, done := edits[span]; done {
					continue // another FROM already pinned this ARG
				}
			} else if why := variablesOutsideName(b.From.Raw); why != "" {
				c.Reason = why
				changes = append(changes, c)
				continue
			}
		}
		switch {
		case !contiguous:
			c.Reason = "the image is split by a line continuation"
		case b.Ref.Digest() != "" && b.Ref.Tag() == "":
			c.Reason = "pinned to a digest without a tag"
		case b.Ref.Digest() != "" && !opts.Update:
			c.Reason = ReasonPinned
		default:
			tagged, err := reference.Parse(b.Ref.Name() + ":" + b.Ref.DefaultedTag())
			if err != nil {
				return nil, nil, fmt.Errorf("%s:%d: %w", file, b.From.Line, err)
			}
			d, err := res.Digest(ctx, tagged)
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			if err != nil {
				c.Action, c.Err = PinFailed, err
				c.Reason = err.Error()
				break
			}
			written, _, _ := strings.Cut(c.Old, "@")
			if b.Ref.Tag() == "" {
				written += ":latest"
			}
			c.New = written + "@" + d
			c.Action = PinPinned
			if c.New == c.Old {
				c.Action = PinUnchanged
			}
		}
		changes = append(changes, c)
		if c.New != c.Old {
			edits[span] = c.New
		}
	}
	// A FROM pinned through its ARG reports the ARG's line, above it.
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Line < changes[j].Line })
	spans := make([]edit, 0, len(edits))
	for e := range edits {
		spans = append(spans, e)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var out strings.Builder
	last := 0
	for _, e := range spans {
		out.Write(src[last:e.start])
		out.WriteString(edits[e])
		last = e.end
	}
	out.Write(src[last:])
	return []byte(out.String()), changes, nil
}

// oneArg reports whether an image operand is exactly one build argument,
// "$NAME" or "${NAME}", and its name.
func oneArg(raw string) (string, bool) {
	name, ok := strings.CutPrefix(raw, "$")
	if !ok {
		return "", false
	}
	if n, braced := strings.CutPrefix(name, "{"); braced {
		if name, ok = strings.CutSuffix(n, "}"); !ok {
			return "", false
		}
	}
	if name == "" || strings.ContainsAny(name, "${}:/@") {
		return "", false
	}
	return name, true
}

// variablesOutsideName says why an operand written with build arguments
// cannot take a digest, or "" when the arguments are in its repository
// name only: the tag and digest after the last "/" are literal, and there
// is no quoting.
func variablesOutsideName(raw string) string {
	if strings.ContainsAny(raw, "\"'") {
		return "written with quotes: pin it by hand"
	}
	last := raw[strings.LastIndexByte(raw, '/')+1:]
	if i := strings.IndexAny(last, ":@"); i >= 0 && strings.Contains(last[i:], "$") {
		return "its tag or digest is a build argument (a digest would hold for one value of it): pin the ARG default instead"
	}
	return ""
}

// argOperand finds the global ARG whose default a FROM written as "$NAME"
// or "${NAME}" stands for, or says why there is none to pin.
func argOperand(df *dockerfile.File, fr dockerfile.From) (dockerfile.Arg, string) {
	const why = "written as a build argument whose default cannot be pinned (overridden, empty, or not a plain reference)"
	name, _ := oneArg(fr.Raw)
	for i := len(df.Args) - 1; i >= 0; i-- {
		a := df.Args[i]
		if a.Name != name {
			continue
		}
		if a.Overridden || a.Default == "" || strings.ContainsAny(a.Default, "$\"'`\\") || a.Start > fr.Start {
			return dockerfile.Arg{}, why
		}
		return a, ""
	}
	return dockerfile.Arg{}, "written as a build argument with no global ARG default"
}

// ResolveOnce returns a Resolver that asks r about each distinct reference
// once and answers repeats (errors included) from memory, so that 300 FROMs
// naming 3 images cost 3 requests. It is safe for concurrent use.
func ResolveOnce(r Resolver) Resolver {
	var mu sync.Mutex
	type answer struct {
		digest string
		err    error
	}
	seen := map[string]answer{}
	return ResolverFunc(func(ctx context.Context, ref reference.Reference) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		key := ref.String()
		if a, ok := seen[key]; ok {
			return a.digest, a.err
		}
		d, err := r.Digest(ctx, ref)
		if ctx.Err() == nil { // an interrupted answer is no answer
			seen[key] = answer{d, err}
		}
		return d, err
	})
}
