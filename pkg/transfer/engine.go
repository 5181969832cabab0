package transfer

import (
	"context"
	"errors"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/engine"
	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
)

// ToEngine hands the images a pull stored to the engine's load endpoint
// (pull --to-engine), so that the engine runs them next under the pulled
// references. It returns the engine's answer ("Loaded image: REF").
func ToEngine(ctx context.Context, ec *engine.Client, s *store.Store, pulled []registry.PullResult) ([]string, error) {
	entries := make([]store.Entry, 0, len(pulled))
	for _, p := range pulled {
		e, err := s.Lookup(p.Ref)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return ec.LoadFromStore(ctx, s, entries, platform.Selection{}) // the pull chose the platforms
}

// PushFromEngine sends the engine's image ref names (latest when it has
// neither tag nor digest), or with opts.AllTags every tag of ref's
// repository the engine has, to ref's repository (push --from-engine),
// with the rules and events of Push: blobs the registry has are skipped
// after a HEAD, each blob goes up once, a manifest already there is not
// sent again. Nothing is stored: each image is read from the engine's
// save stream, again for each blob the push needs (a layer the registry
// has costs no read of it), through go-containerregistry's tarball reader
// (engine.Client.Image: its manifest.json and config bounded).
// Layers the engine keeps uncompressed are sent gzip'd, as docker push
// sends them.
func PushFromEngine(ctx context.Context, c *registry.Client, ec *engine.Client, ref reference.Reference, opts PushOptions) ([]registry.PushResult, error) {
	names, tags, err := engineTargets(ctx, ec, ref, opts.AllTags)
	if err != nil {
		return nil, err
	}
	// Announced before the engine's archives are read (each as far as its
	// manifest.json, which an engine may write last), as a push from the
	// store is before its images are compressed.
	if opts.Started != nil {
		opts.Started()
	}
	pts := make([]registry.PushTag, 0, len(names))
	for i, n := range names {
		img, err := ec.Image(ctx, n)
		if err != nil {
			if errors.Is(err, engine.ErrNotFound) || errors.Is(err, engine.ErrEngine) || errors.Is(err, engine.ErrUnreachable) || ctx.Err() != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%w: reading the engine's archive of %s: %v", engine.ErrEngine, n, err)
		}
		pts = append(pts, registry.PushTag{Tag: tags[i], Artifact: img})
	}
	return c.Push(ctx, ref, pts, registry.PushOptions{Progress: opts.Progress})
}

// EngineTagError: a push from the engine named an image by digest alone;
// the engine's images are named by tag. Push returns it with
// store.ErrInvalidInput.
type EngineTagError struct{ Ref string }

func (e *EngineTagError) Error() string {
	return e.Ref + ": a tag is needed (the engine's images are named by tag)"
}

// engineTargets are the engine's names of what to push and the tag each
// goes to: ref (latest by default), or with all every tag of ref's
// repository among the engine's images.
func engineTargets(ctx context.Context, ec *engine.Client, ref reference.Reference, all bool) (names, tags []string, err error) {
	if !all {
		ref, err := defaultTag(ref)
		if err != nil {
			return nil, nil, err
		}
		if ref.Tag() == "" {
			return nil, nil, fmt.Errorf("%w: %w", store.ErrInvalidInput, &EngineTagError{Ref: ref.Familiar()})
		}
		// Asked first, so that a missing image is reported alone, as
		// from the store, before the push is announced.
		if _, err := ec.Inspect(ctx, ref.String()); err != nil {
			return nil, nil, err
		}
		return []string{ref.String()}, []string{ref.Tag()}, nil
	}
	refs, err := ec.Tags(ctx, ref.Name())
	if err != nil {
		return nil, nil, err
	}
	for _, r := range refs {
		names, tags = append(names, r.String()), append(tags, r.Tag())
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("%w: no tag of %s", engine.ErrNotFound, ref.Familiar())
	}
	return names, tags, nil
}
