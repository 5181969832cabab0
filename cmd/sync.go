package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/ctl-dev/ctl/pkg/bounded"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/ctl-dev/ctl/pkg/syncplan"
	"github.com/spf13/cobra"
)

type syncOptions struct {
	IO       *IOStreams
	Registry func(onLimit func(transport.RateLimit)) (*registry.Client, error)
	Args     []string

	Filters   syncplan.Filters
	Jobs      int
	PerHost   int
	KeepGoing bool
	DryRun    bool
	Check     bool
	Format    string
	Quiet     bool
	MinPulls  int
	Wait      bool
	To, From  string
}

func newSyncCmd(f *Factory, runF func(*syncOptions) error) *cobra.Command {
	opts := &syncOptions{IO: f.IO, Registry: f.RegistryWatchingLimits}
	c := &cobra.Command{
		Use:   "sync PLAN.yaml | sync SRC_REPO DST_REPO",
		Short: "Mirror repositories by a plan, moving only what differs",
		Long: `Mirror many repositories, or one with the one-line form, into another
registry. Each repository costs one tag list on each side and each tag one
HEAD on the source (HEADs do not count against Docker Hub's pull limit);
a tag the destination lists costs one HEAD there too, unless ctl saw it in
step with the same source digest before (remembered under
$XDG_CACHE_HOME/ctl/sync; --check asks anyway). Only tags whose digests
differ are copied, as ctl copy copies them (blobs the destination has are
skipped, blobs of the same registry mounted), digests kept. A second run
with nothing new upstream sends one HEAD per tag and one tag list per
repository on each side, and writes nothing.

The plan (see docs/sync.md) lists entries: source repository (or
HOST/PATTERN, listed through the catalog), destination repository (or
prefix), and per entry tags, exclude, regex, semver, newest, digests,
referrers and moving. The one-line form takes the same filters as flags.
Destinations are always written on their own registry, never through a
mirror; sources are read through mirrors as other reads are.

Each image copied prints one line on stdout; with stderr on a terminal the
copies in flight are drawn there too, a bar each and a total.

--dry-run prints the plan (copy, skip (up to date), skip (filtered), skip
(pinned), refused) with sizes; --check compares without copying and exits 1
when the mirror lacks anything the plan asks for.`,
		Example: `  ctl sync mirror.yaml
  ctl sync --dry-run mirror.yaml
  ctl sync docker.io/library/alpine mirror.local:5000/library/alpine --semver '>=3.18' --newest 3
  ctl sync --check mirror.yaml`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Args = args
			if runF != nil {
				return runF(opts)
			}
			return runSync(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&opts.Filters.Tags, "tags", nil, "one-line form: only tags matching this glob (repeatable: any of them)")
	fl.StringArrayVar(&opts.Filters.Exclude, "exclude", nil, "one-line form: leave out tags matching this glob (repeatable)")
	fl.StringVar(&opts.Filters.Regex, "regex", "", "one-line form: only tags matching this regular expression")
	fl.StringVar(&opts.Filters.Semver, "semver", "", "one-line form: only versions in this range (e.g. '>=2.1 <3')")
	fl.IntVar(&opts.Filters.Newest, "newest", 0, "one-line form: only the N newest tags (highest versions, else most recently created)")
	fl.StringSliceVar(&opts.Filters.Platforms, "platform", nil, "one-line form: only these platforms of an index (OS/ARCH[/VARIANT], a comma list: a filtered index)")
	fl.StringArrayVar(&opts.Filters.Digests, "digest", nil, "one-line form: also mirror this untagged manifest (repeatable)")
	fl.BoolVar(&opts.Filters.Referrers, "referrers", false, "one-line form: also copy what refers to each image (signatures, SBOMs, attestations)")
	fl.BoolVar(&opts.Filters.Moving, "moving", true, "one-line form: a tag that moved upstream moves on the mirror (--moving=false keeps the first copy)")
	fl.IntVarP(&opts.Jobs, "jobs", "j", 4, "images to copy at once")
	fl.IntVar(&opts.PerHost, "per-host", 0, "images to copy at once from one source registry (default: --jobs)")
	fl.BoolVar(&opts.KeepGoing, "keep-going", false, "go on past an image that fails; exit 1 at the end listing the failures")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "print the plan, copy nothing")
	fl.BoolVar(&opts.Check, "check", false, "compare without copying; exit 1 if the mirror lacks anything the plan asks for")
	fl.StringVar(&opts.Format, "format", "text", `output format: "text" or "json"`)
	fl.BoolVarP(&opts.Quiet, "quiet", "q", false, "print no summary")
	fl.StringVar(&opts.To, "to", "", "write every image to this OCI layout directory or archive (oci:PATH; PATH.tar an archive) instead of the destination registries, for an air gap")
	fl.StringVar(&opts.From, "from", "", "read every image from this OCI layout directory or archive (oci:PATH), as written by --to, instead of the source registries")
	fl.IntVar(&opts.MinPulls, "min-pulls", 0, "start no new pull from a registry reporting fewer pulls left than this (Docker Hub's ratelimit-remaining)")
	fl.BoolVar(&opts.Wait, "wait", false, "when a pull limit runs low, wait for it instead of stopping with exit 5")
	return c
}

// errDrift: --check found the mirror lacking.
var errDrift = errors.New("the mirror lacks what the plan asks for")

func runSync(ctx context.Context, opts *syncOptions) (err error) {
	if opts.Format != "text" && opts.Format != "json" {
		return usageError{fmt.Errorf("invalid --format %q: use text or json", opts.Format)}
	}
	if opts.Jobs < 1 {
		return usageError{fmt.Errorf("--jobs must be at least 1, got %d", opts.Jobs)}
	}
	if opts.DryRun && opts.Check {
		return usageError{errors.New("--dry-run and --check do not combine: --check is a dry run that fails on drift")}
	}
	plan, err := syncPlan(opts)
	if err != nil {
		return err
	}
	if opts.To != "" && opts.From != "" {
		return usageError{errors.New("--to and --from do not combine: one side of an air gap writes the layout, the other reads it")}
	}
	for _, l := range []string{opts.To, opts.From} {
		if l != "" && !syncplan.IsLayout(l) {
			return usageError{fmt.Errorf("--to and --from take an OCI layout or archive, oci:PATH, got %q", l)}
		}
	}
	if opts.MinPulls < 0 {
		return usageError{fmt.Errorf("--min-pulls must not be negative, got %d", opts.MinPulls)}
	}
	limits := &syncplan.Limits{}
	c, err := opts.Registry(limits.Observe)
	if err != nil {
		return err
	}
	sp := newSyncProgress(opts.IO, opts.Quiet)
	r := &syncplan.Runner{Source: c, Dest: c.WithoutMirrors(), Jobs: opts.Jobs, PerHost: opts.PerHost, Sizes: opts.DryRun,
		Limits: limits, MinPulls: opts.MinPulls, Wait: opts.Wait, Started: sp.Started, Progress: sp.Event,
		Warn: func(s string) { sp.Print(opts.IO.ErrOut, "Warning: "+escapeControl(s)) },
		Waiting: func(h syncplan.Hold) {
			sp.Idle()
			msg := "Waiting: " + h.String()
			if h.Until.IsZero() {
				msg += fmt.Sprintf(" (--min-pulls %d)", opts.MinPulls)
			}
			sp.Print(opts.IO.ErrOut, msg)
		}}
	if opts.To != "" {
		if r.To, err = syncplan.OpenLayout(opts.To, !opts.DryRun && !opts.Check); err != nil {
			return invalidInput(err)
		}
		// An archive is written once the copies are done (or stopped):
		// what was copied is kept for the next run.
		defer func() {
			if cerr := r.To.Close(); cerr != nil && err == nil {
				err = cerr
			} else if cerr != nil {
				r.Warn(cerr.Error())
			}
		}()
	}
	if opts.From != "" {
		if r.From, err = syncplan.OpenLayout(opts.From, false); err != nil {
			return invalidInput(err)
		}
		defer r.From.Close()
	}
	if opts.To == "" {
		// Without a state directory every listed tag costs a HEAD on the
		// destination, as --check always does.
		if dir := cacheDir("sync"); dir != "" {
			r.State, r.Verify = &syncplan.State{Dir: dir}, opts.Check
		}
	}
	defer func() {
		if err := r.State.Save(); err != nil {
			r.Warn(err.Error())
		}
	}()
	items, err := r.Plan(ctx, plan)
	if errors.Is(err, syncplan.ErrRateLimited) {
		return hinted{err, "run the sync again once the registry allows it (a pull limit's window moved on)"}
	}
	if err != nil {
		return err
	}
	if opts.DryRun || opts.Check {
		if err := printSyncPlan(opts.IO.Out, opts.Format, items); err != nil {
			return err
		}
		if opts.Check {
			return checkDrift(items)
		}
		return nil
	}
	sp.Start(syncplan.Summarize(items).Pending) // what is left to copy
	runErr := r.Run(ctx, items, opts.KeepGoing, func(it *syncplan.Item) {
		line := ""
		if !it.Failed() && opts.Format == "text" {
			line = fmt.Sprintf("%s -> %s: digest %s (%d blobs, %s)", it.Source, it.Destination, it.Digest, it.Blobs, humanSize(it.Bytes))
		}
		sp.Done(it, opts.IO.Out, line)
	})
	sp.Close()
	if opts.Format == "json" {
		if err := printSyncPlan(opts.IO.Out, "json", items); err != nil {
			return err
		}
	}
	if !opts.Quiet {
		n := syncplan.Summarize(items)
		left := ""
		if n.Pending > 0 {
			left = fmt.Sprintf(", %d left", n.Pending)
		}
		fmt.Fprintf(opts.IO.ErrOut, "Synced: %d copied, %d up to date, %d skipped, %d failed%s\n", n.Copied, n.UpToDate, n.Skipped, n.Failed, left)
	}
	if errors.Is(runErr, syncplan.ErrRateLimited) {
		return hinted{runErr, "run the sync again once the window has moved on (or with --wait); it copies only what is left"}
	}
	return runErr
}

// syncPlan reads the plan file, or builds the one-line form's entry.
func syncPlan(opts *syncOptions) (*syncplan.Plan, error) {
	if len(opts.Args) == 2 {
		e, err := syncplan.NewEntry(opts.Args[0], opts.Args[1], opts.Filters)
		if err != nil {
			return nil, usageError{err}
		}
		return &syncplan.Plan{Entries: []syncplan.Entry{e}}, nil
	}
	if opts.Filters.Tags != nil || opts.Filters.Exclude != nil || opts.Filters.Regex != "" || opts.Filters.Semver != "" ||
		opts.Filters.Newest != 0 || opts.Filters.Digests != nil || opts.Filters.Platforms != nil || opts.Filters.Referrers || !opts.Filters.Moving {
		return nil, usageError{errors.New("filter flags are for the one-line form (SRC_REPO DST_REPO); a plan file sets them per entry")}
	}
	file := opts.Args[0]
	b, err := bounded.ReadFile(file, syncplan.MaxPlanSize)
	if errors.Is(err, fs.ErrNotExist) {
		// One argument is a plan; a repository alone lacks its
		// destination.
		if _, rerr := reference.ParseRepository(file); rerr == nil && !strings.HasSuffix(file, ".yaml") && !strings.HasSuffix(file, ".yml") {
			return nil, usageError{fmt.Errorf("%s is no plan file; as a source repository it needs a destination: ctl sync SRC_REPO DST_REPO (or ctl sync PLAN.yaml)", file)}
		}
		return nil, usageError{fmt.Errorf("no plan file %s: ctl sync takes a PLAN.yaml or SRC_REPO DST_REPO", file)}
	}
	if err != nil {
		return nil, invalidInput(err)
	}
	return syncplan.Parse(file, bytes.NewReader(b))
}

// printSyncPlan prints items as a dry run shows them.
func printSyncPlan(w io.Writer, format string, items []syncplan.Item) error {
	if format == "json" {
		if items == nil {
			items = []syncplan.Item{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	for _, it := range items {
		line := fmt.Sprintf("%s %s -> %s", it.Action, it.Source, it.Destination)
		switch it.Action {
		case syncplan.Copy:
			line += " (" + shortDigest(it.Digest)
			if it.Size > 0 {
				line += ", " + humanSize(it.Size)
			}
			if it.Reason != "" {
				line += "; " + it.Reason
			}
			line += ")"
		case syncplan.Refused:
			line += ": " + it.Reason
		case syncplan.Filtered:
			if it.Reason != "" {
				line += " (" + it.Reason + ")"
			}
		}
		if _, err := fmt.Fprintln(w, escapeControl(line)); err != nil {
			return err
		}
	}
	return nil
}

// checkDrift fails when the plan would copy anything (or cannot be met).
func checkDrift(items []syncplan.Item) error {
	n := 0
	for _, it := range items {
		if it.Action == syncplan.Copy || it.Action == syncplan.Refused {
			n++
		}
	}
	if n > 0 {
		return fmt.Errorf("%w: %d image(s) to copy or refused", errDrift, n)
	}
	return nil
}
