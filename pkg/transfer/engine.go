package transfer

import (
	"context"
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
	// Held from before the references resolve: an rmi and a prune in
	// between would leave them naming what is gone.
	release, err := s.Hold()
	if err != nil {
		return nil, err
	}
	defer release()
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
// repository the engine has, to ref's repository (push --from-engine):
// what "load --from-engine" and then a push of those tags send. The
// engine's save stream of them is read once, into s
// (engine.Client.SaveToStore, within the store loader's bounds), and the
// push goes from there as Push sends: layers gzip'd as docker push sends
// them, under the same digests as a push of the loaded image, each blob
// once, blobs the registry has skipped, others mounted. The images stay
// in s, as load leaves them. read, when not nil, is told the bytes of the
// engine's archive read so far.
func PushFromEngine(ctx context.Context, c *registry.Client, ec *engine.Client, s *store.Store, ref reference.Reference, opts PushOptions, read func(int64)) ([]registry.PushResult, error) {
	names, tags, err := engineTargets(ctx, ec, ref, opts.AllTags)
	if err != nil {
		return nil, err
	}
	// Announced before the engine's archive is read (Podman writes it
	// whole to a file before its first byte), as a push from the store
	// is before its images are compressed.
	if opts.Started != nil {
		opts.Started()
	}
	opts.Started = nil
	release, err := s.Hold() // see pushLocal
	if err != nil {
		return nil, err
	}
	defer release()
	if _, err := ec.SaveToStore(ctx, s, names, read); err != nil {
		return nil, err
	}
	targets := make([]pushTarget, 0, len(tags))
	for _, tag := range tags {
		r, err := ref.WithTag(tag)
		if err != nil {
			return nil, err
		}
		e, err := s.Lookup(r)
		if err != nil {
			return nil, err
		}
		targets = append(targets, pushTarget{tag, e})
	}
	results, _, err := pushLocal(ctx, c, s, ref, targets, opts)
	return results, err
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
