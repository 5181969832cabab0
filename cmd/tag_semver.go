package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/ctl-dev/ctl/pkg/tagplan"
	"github.com/ctl-dev/ctl/pkg/transfer"
)

// runTagSemverLocal carries out "ctl tag --semver SOURCE REPO:VERSION" in
// the local store: written tags are printed as references on stdout (or
// as push results in another --format), kept ones with the reason on
// stderr.
func runTagSemverLocal(opts *tagOptions) error {
	repo, v, err := splitVersionRef(opts.Targets[0])
	if err != nil {
		return err
	}
	out, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	src, err := s.Resolve(opts.Source)
	if err != nil {
		return err
	}
	// Read before anything is tagged, so a failure changes nothing.
	size, err := manifestSize(s, src)
	if err != nil {
		return err
	}
	steps, err := s.TagVersion(src, repo, v, tagplan.Options{NoLatest: opts.Semver.NoLatest}, opts.Semver.DryRun)
	if err != nil {
		return err
	}
	for _, st := range steps {
		var err error
		switch {
		case opts.Semver.DryRun:
			err = printSemverStep(opts.IO, out, repo, st, size, true)
		case st.Action == tagplan.Kept:
			fmt.Fprintln(opts.IO.ErrOut, keptMessage(st))
		default:
			t, _ := repo.WithTag(st.Tag)
			item := pushedItem{Repository: repo.Name(), Tag: st.Tag, Digest: st.Digest, Size: size}
			err = out.Print(opts.IO.Out, item, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, t.Familiar())
				return err
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// manifestSize is the size in bytes of the manifest (or index) a local
// image's entry names: what a push of it reports as "size".
func manifestSize(s *store.Store, e store.Entry) (int64, error) {
	a, err := transfer.Open(s, e)
	if err != nil {
		return 0, err
	}
	raw, err := a.RawManifest()
	return int64(len(raw)), err
}

// tagRemoteSemver carries out "ctl tag --semver --remote [SOURCE] REPO:VERSION":
// with one argument the source is the exact version tag already in the
// repository. Results are printed with out.
func tagRemoteSemver(ctx context.Context, streams *IOStreams, out *printer, c *registry.Client, args []string, fl semverFlags) error {
	target := args[len(args)-1]
	repo, v, err := splitVersionRef(target)
	if err != nil {
		return err
	}
	var src reference.Reference
	if len(args) == 1 {
		src, err = repo.WithTag(v.Tag())
	} else {
		src, err = reference.Parse(args[0])
	}
	if err != nil {
		return err
	}
	var printErr error
	_, err = c.TagVersion(ctx, src, repo, v, registry.VersionOptions{
		Plan:   tagplan.Options{NoLatest: fl.NoLatest},
		DryRun: fl.DryRun,
		OnStep: func(s tagplan.Step, res *registry.VersionResult) {
			if printErr == nil {
				printErr = printSemverStep(streams, out, repo, s, res.Size, fl.DryRun)
			}
		},
	})
	if errors.Is(err, registry.ErrOtherRepository) {
		return invalidInput(err)
	}
	if len(args) == 1 && errors.Is(err, registry.ErrNotFound) {
		// The version tag itself is the source: it must be pushed first.
		return hinted{err, fmt.Sprintf("run: ctl push --semver %s (from the store), or ctl tag --semver --remote SOURCE %s", target, target)}
	}
	if err != nil {
		return err
	}
	return printErr
}
