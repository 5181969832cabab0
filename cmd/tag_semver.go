package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/semver"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/ctl-dev/ctl/pkg/tagplan"
)

// semverFlags are the flags tag and push share for versioned tags.
type semverFlags struct {
	Semver   bool // --semver: write MAJOR.MINOR.PATCH, MAJOR.MINOR, MAJOR and latest
	NoLatest bool // --no-latest
	DryRun   bool // --dry-run: print the plan, change nothing
}

const (
	semverFlagHelp   = "also write the moving tags MAJOR.MINOR, MAJOR and latest of a MAJOR.MINOR.PATCH target, never moving one backwards"
	noLatestFlagHelp = "with --semver, leave latest alone"
	dryRunSemverHelp = "with --semver, print the plan (tag -> digest, created/moved/kept) and change nothing"
)

// splitVersionRef splits "REPO:VERSION" into the repository and the version.
// It is split by hand rather than parsed as a reference because a semver
// may carry build metadata ("+build.5"), which no tag can hold.
func splitVersionRef(s string) (reference.Reference, semver.Version, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.IndexByte(s[i:], '/') >= 0 || strings.Contains(s, "@") {
		return reference.Reference{}, semver.Version{}, invalidInput(
			fmt.Errorf("--semver target %q must be REPOSITORY:MAJOR.MINOR.PATCH (e.g. registry.local:5000/app:2.1.106)", s))
	}
	repo, err := reference.ParseRepository(s[:i])
	if err != nil {
		return reference.Reference{}, semver.Version{}, err
	}
	v, err := semver.Parse(s[i+1:])
	if err != nil {
		return reference.Reference{}, semver.Version{}, invalidInput(err)
	}
	for _, t := range []string{v.Tag(), v.MinorTag(), v.MajorTag()} {
		if !reference.ValidTag(t) {
			return reference.Reference{}, semver.Version{}, invalidInput(fmt.Errorf("version %s makes the invalid tag %q (tags are at most 128 characters)", v, t))
		}
	}
	return repo, v, nil
}

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
	a, err := localArtifact(s, e)
	if err != nil {
		return 0, err
	}
	raw, err := a.RawManifest()
	return int64(len(raw)), err
}

// runPushSemver carries out "ctl push --semver REPO:VERSION": the version
// tag is pushed from the store as push does, then the moving tags are
// written on the registry from the same manifest bytes (no GET needed).
func runPushSemver(ctx context.Context, opts *pushOptions) error {
	repo, v, err := splitVersionRef(opts.Ref)
	if err != nil {
		return err
	}
	out, c, err := opts.start(opts.Registry)
	if err != nil {
		return err
	}
	exact, err := repo.WithTag(v.Tag())
	if err != nil {
		return err
	}
	local, err := opts.Local(opts.Jobs)
	if err != nil {
		return err
	}
	tags, err := local.PushTargets(exact, false)
	if err != nil {
		return err
	}
	if len(tags) != 1 {
		return fmt.Errorf("push --semver: %d local images answer to %s", len(tags), exact.Familiar())
	}
	m, err := artifactManifest(tags[0].Artifact)
	if err != nil {
		return err
	}
	if !opts.Semver.DryRun {
		err := opts.sendTo(opts.IO, out, repo, func(started func(), progress registry.ProgressFunc) ([]registry.PushResult, error) {
			started() // the local image is known
			results, err := c.Push(ctx, exact, tags, registry.PushOptions{Progress: progress, Sources: local.MountSources(exact)})
			if err != nil {
				return nil, err
			}
			return results, local.Pushed(exact, results)
		})
		if err != nil {
			return err
		}
	}
	var printErr error
	_, err = c.TagVersion(ctx, exact, repo, v, registry.VersionOptions{
		Plan:     tagplan.Options{NoLatest: opts.Semver.NoLatest},
		DryRun:   opts.Semver.DryRun,
		Manifest: m,
		OnStep: func(s tagplan.Step, res *registry.VersionResult) {
			switch {
			case s.Tag == v.Tag() && !opts.Semver.DryRun:
				// push printed it
			case printErr == nil:
				// A moving tag written is a push result like the others,
				// in the --format chosen.
				printErr = printSemverStep(opts.IO, out, repo, s, res.Size, opts.Semver.DryRun)
			}
		},
	})
	if err != nil {
		return err
	}
	return printErr
}

// artifactManifest is the manifest of a local image about to be pushed.
func artifactManifest(a registry.Artifact) (*registry.Manifest, error) {
	raw, err := a.RawManifest()
	if err != nil {
		return nil, err
	}
	mt, err := a.MediaType()
	if err != nil {
		return nil, err
	}
	d, err := a.Digest()
	if err != nil {
		return nil, err
	}
	return &registry.Manifest{Bytes: raw, MediaType: mt, Digest: d}, nil
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
	if err != nil {
		return err
	}
	return printErr
}

// planItem is one step of a --dry-run plan, as --format sees it: where the
// tag would point ("" when it is kept and does not exist), the action
// (created, moved, unchanged, kept) and why a kept tag is kept.
type planItem struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
	Action     string `json:"action"`
	Reason     string `json:"reason"`
}

// printSemverStep reports one step of repo's plan with out: written tags
// as push prints them on stdout, kept ones with the reason on stderr (not
// a result, so in every format); a dry run prints the whole plan on stdout.
func printSemverStep(streams *IOStreams, out *printer, repo reference.Reference, s tagplan.Step, size int64, dry bool) error {
	if dry {
		item := planItem{Repository: repo.Name(), Tag: s.Tag, Digest: s.Digest, Action: string(s.Action), Reason: s.Reason}
		return out.Print(streams.Out, item, func(w io.Writer) error {
			to := s.Digest
			if to == "" {
				to = "(none)"
			}
			line := fmt.Sprintf("%s -> %s (%s", s.Tag, to, s.Action)
			if s.Reason != "" {
				line += ": " + s.Reason
			}
			_, err := fmt.Fprintln(w, escapeControl(line+")"))
			return err
		})
	}
	if s.Action == tagplan.Kept {
		fmt.Fprintln(streams.ErrOut, keptMessage(s))
		return nil
	}
	item := pushedItem{Repository: repo.Name(), Tag: s.Tag, Digest: s.Digest, Size: size}
	return out.Print(streams.Out, item, func(w io.Writer) error {
		printDigestLine(w, s.Tag, s.Digest, size)
		return nil
	})
}

func keptMessage(s tagplan.Step) string {
	if s.Digest == "" {
		return fmt.Sprintf("%s: not created: %s", s.Tag, s.Reason)
	}
	return fmt.Sprintf("%s: kept at %s: %s", s.Tag, s.Digest, s.Reason)
}

// printDigestLine is push's result line for one tag.
func printDigestLine(w io.Writer, tag, digest string, size int64) {
	fmt.Fprintf(w, "%s: digest: %s size: %d\n", tag, digest, size)
}
