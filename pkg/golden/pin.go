package golden

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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
)

// Change is what Pin did to one base image.
type Change struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Old    string `json:"old"` // the image operand as written
	New    string `json:"new"` // the operand after pinning (== Old unless Action is "pinned")
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
}

// Pin rewrites every base image of the Dockerfile src to IMAGE:TAG@DIGEST,
// the digest resolved now (no tag means "latest", which is written out).
// Only the image operand changes: formatting, comments and everything else
// stay byte for byte. Already pinned bases are kept unless opts.Update;
// bases written with build arguments are kept (the ARG decides them) and
// so are digest-only ones (there is no tag to resolve). Running Pin on its
// own output changes nothing.
func Pin(ctx context.Context, file string, src []byte, res Resolver, opts PinOptions) ([]byte, []Change, error) {
	bases, err := Bases(file, src, opts.BuildArgs)
	if err != nil {
		return nil, nil, err
	}
	var changes []Change
	var out strings.Builder
	last := 0
	for _, b := range bases {
		c := Change{File: file, Line: b.From.Line, Old: b.From.Raw, New: b.From.Raw, Action: PinKept}
		switch {
		case b.From.HasVariables():
			c.Reason = "written with build arguments: pin the ARG default instead"
		case !b.From.Contiguous:
			c.Reason = "the image is split by a line continuation"
		case b.Ref.Digest() != "" && b.Ref.Tag() == "":
			c.Reason = "pinned to a digest without a tag"
		case b.Ref.Digest() != "" && !opts.Update:
			c.Reason = "already pinned (--update re-resolves)"
		default:
			tagged, err := reference.Parse(b.Ref.Name() + ":" + b.Ref.DefaultedTag())
			if err != nil {
				return nil, nil, fmt.Errorf("%s:%d: %w", file, b.From.Line, err)
			}
			d, err := res.Digest(ctx, tagged)
			if err != nil {
				return nil, nil, fmt.Errorf("%s:%d: resolving %s: %w", file, b.From.Line, b.From.Raw, err)
			}
			written, _, _ := strings.Cut(b.From.Raw, "@")
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
			out.Write(src[last:b.From.Start])
			out.WriteString(c.New)
			last = b.From.End
		}
	}
	out.Write(src[last:])
	return []byte(out.String()), changes, nil
}

// WriteFileAtomic replaces path with data: written to a temporary file in
// the same directory with path's permissions, synced, then renamed over
// path, so a reader (or a crash) sees the old file or the new, never half.
func WriteFileAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
