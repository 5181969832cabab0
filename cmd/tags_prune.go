package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/retention"
	"github.com/ctl-dev/ctl/pkg/tagset"
	"github.com/spf13/cobra"
)

type tagsPruneOptions struct {
	IO           *IOStreams
	Registry     registryFunc
	Repo         string
	KeepLast     int
	Keep         []string
	SemverLatest bool
	OlderThan    string
	Force        bool
	Format       string
	Jobs         int
	Now          func() time.Time
}

// tagPruneItem is one tag of the plan, as --format sees it.
type tagPruneItem struct {
	Tag    string `json:"tag"`
	Digest string `json:"digest"`
	Action string `json:"action"` // "keep" or "delete"
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// tagPrunePlan is the plan as --format json prints it.
type tagPrunePlan struct {
	Repository  string         `json:"repository"`
	Tags        []tagPruneItem `json:"tags"`
	Delete      int            `json:"delete"`
	Reclaimable int64          `json:"reclaimableBytes"`
}

func newTagsPruneCmd(f *Factory, runF func(*tagsPruneOptions) error) *cobra.Command {
	opts := &tagsPruneOptions{IO: f.IO, Registry: f.Registry, Now: time.Now}
	c := &cobra.Command{
		Use:   "prune REPO",
		Short: "Delete the tags of a repository that no keep rule keeps (prints the plan unless --force)",
		Long: `Delete the tags of a repository that no keep rule keeps. Without --force,
print the plan and change nothing: each tag with KEEP or DELETE and the rule
that decided, then what the registry's garbage collection could reclaim once
the deleted manifests are gone.

Keep rules add up (a tag any of them keeps is kept):
  --keep GLOB            tags whose name matches (repeatable)
  --keep-semver-latest   the newest release of each major and each
                         major.minor (what the moving tags 2, 2.1 point at)
  --keep-last N          the N newest: highest versions when every tag is
                         one, else the most recently created
  --older-than DURATION  delete only tags created longer ago (30d, 2w, 36h):
                         newer ones, and those with no creation time, stay

Then: a moving tag written by --semver (latest, 2, 2.1) is kept when the
release it points at is, and deleted with it otherwise; a referrer tag
(sha256-<hex>, and cosign's sha256-<hex>.sig, .att, .sbom) is kept when a
kept tag holds its subject, and deleted with it otherwise (moving and
referrer tags take no place among the --keep-last newest); a tag that
shares its manifest with a kept tag is kept, and so is a tag on a platform
image of a kept index (deleting either frees nothing, and where the
registry deletes only by digest would break what is kept).

--force deletes the DELETE tags in order, as ctl delete does, every one
checked before any is deleted (against one scan of the repository): the
tag alone, or its manifest by digest where the registry cannot delete tags
and only tags of this plan share it (indexes before the images they list);
a tag that moved since the plan or is gone, or whose manifest a tagged
index lists now, is left alone. Each removal is reported as ctl delete
reports it.`,
		Example: `  ctl tags prune --keep-last 10 --keep-semver-latest registry.local:5000/app
  ctl tags prune --older-than 90d --keep 'release-*' --force localhost:5000/app
  ctl tags prune --keep-last 5 --format json localhost:5000/app`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRepositories(f),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Repo = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runTagsPrune(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.IntVar(&opts.KeepLast, "keep-last", 0, "keep the N newest tags")
	fl.StringArrayVar(&opts.Keep, "keep", nil, "keep tags matching this glob (repeatable)")
	fl.BoolVar(&opts.SemverLatest, "keep-semver-latest", false, "keep the newest release of each major and major.minor")
	fl.StringVar(&opts.OlderThan, "older-than", "", "delete only tags created longer ago than this (e.g. 30d, 2w, 12h)")
	fl.BoolVar(&opts.Force, "force", false, "delete the tags the plan deletes (default: print the plan only)")
	fl.StringVar(&opts.Format, "format", "text", formatFlagHelp("Tag"))
	fl.IntVarP(&opts.Jobs, "jobs", "j", registry.DefaultJobs, "requests to the registry at once (0: the client's default)")
	return c
}

// rules checks the keep flags.
func (o *tagsPruneOptions) rules() (retention.Rules, error) {
	r := retention.Rules{KeepLast: o.KeepLast, Keep: o.Keep, SemverLatest: o.SemverLatest, Now: o.Now()}
	if o.KeepLast < 0 {
		return r, usageError{fmt.Errorf("invalid --keep-last %d: must be positive", o.KeepLast)}
	}
	for _, g := range o.Keep {
		if err := checkGlob("keep", g); err != nil {
			return r, err
		}
	}
	if o.OlderThan != "" {
		d, err := parseAge(o.OlderThan)
		if err != nil {
			return r, invalidInput(fmt.Errorf("invalid --older-than %q: %w", o.OlderThan, err))
		}
		r.NewerThan = d
	}
	if r.Empty() {
		return r, usageError{errors.New("no keep rule: give --keep-last, --keep, --keep-semver-latest or --older-than")}
	}
	if o.Jobs < 0 {
		return r, usageError{fmt.Errorf("--jobs must be positive, got %d", o.Jobs)}
	}
	return r, nil
}

func runTagsPrune(ctx context.Context, opts *tagsPruneOptions) error {
	p, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	rules, err := opts.rules()
	if err != nil {
		return err
	}
	r, err := reference.ParseRepository(opts.Repo)
	if err != nil {
		return err
	}
	rc, err := opts.Registry()
	if err != nil {
		return err
	}
	// The plan is read where the deletes go, never from a mirror.
	rc = rc.WithoutMirrors()
	names, err := rc.ListTags(ctx, r, 0)
	if err != nil {
		return err
	}
	details, err := rc.WithJobs(opts.Jobs).TagDetails(ctx, r, names, nil)
	if err != nil {
		return err
	}
	tags := make([]retention.Tag, len(details))
	for i, d := range details {
		tags[i] = retention.Tag{Tag: tagset.Tag{Name: d.Tag, Created: d.Created}, Digest: d.Digest, Blobs: d.Blobs}
	}
	plan := retention.Decide(tags, rules)
	if !opts.Force {
		return printPrunePlan(opts.IO.Out, p, r.Name(), plan)
	}
	return prune(ctx, opts.IO.Out, p, rc, r, plan)
}

// prune deletes the plan's tags in one DeleteAll, which checks them all
// against one scan of the repository before deleting any: a tag can take
// with it (where the registry deletes only by digest) the other tags of
// its manifest that the plan deletes too, and no other. A tag that changed
// since the plan is not this plan's to delete any more: it is skipped.
func prune(ctx context.Context, w io.Writer, p *printer, rc *registry.Client, r reference.Reference, plan retention.Plan) error {
	deletes := plan.Deletes()
	refs := make([]reference.Reference, len(deletes))
	ifDigest := make(map[reference.Reference]string, len(deletes))
	for i, d := range deletes {
		ref, err := r.WithTag(d.Tag)
		if err != nil {
			return err
		}
		refs[i], ifDigest[ref] = ref, d.Digest
	}
	acts, err := rc.DeleteAll(ctx, refs, registry.DeleteOptions{IfDigest: ifDigest, SkipChanged: true})
	// What was deleted before a failure is reported too.
	for _, a := range acts {
		if a.Skipped != nil {
			fmt.Fprintf(w, "Skipped: %s: %v\n", a.Ref, a.Skipped)
			continue
		}
		if perr := printDeleted(w, p, []registry.DeleteAction{a}, false); perr != nil {
			return perr
		}
	}
	return err
}

// printPrunePlan prints the plan as a table with a summary line, one JSON
// document, or through the template per tag.
func printPrunePlan(w io.Writer, p *printer, repo string, plan retention.Plan) error {
	doc := tagPrunePlan{Repository: repo, Tags: []tagPruneItem{}, Reclaimable: plan.Reclaimable}
	for _, d := range plan.Decisions {
		it := tagPruneItem{Tag: d.Tag, Digest: d.Digest, Action: "keep", Rule: string(d.Rule), Reason: d.Why}
		if !d.Keep {
			it.Action = "delete"
			doc.Delete++
		}
		doc.Tags = append(doc.Tags, it)
	}
	if p.JSON() {
		return json.NewEncoder(w).Encode(doc)
	}
	bw := newLineWriter(w)
	if !p.Text() {
		for _, it := range doc.Tags {
			if err := p.Print(bw, it, nil); err != nil {
				return err
			}
		}
		return bw.Flush()
	}
	if len(doc.Tags) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(bw, 10, 1, 3, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tTAG\tDIGEST\tRULE")
	for _, it := range doc.Tags {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s: %s\n", strings.ToUpper(it.Action), escapeControl(it.Tag), shortDigest(it.Digest), ruleFlag(retention.Rule(it.Rule)), escapeControl(it.Reason))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(bw, "%d of %d tags to delete; the registry's garbage collection could then reclaim %s (run with --force to delete)\n",
		doc.Delete, len(doc.Tags), humanSize(doc.Reclaimable))
	return bw.Flush()
}

// ruleFlag names a rule as the command line spells it.
func ruleFlag(r retention.Rule) string {
	switch r {
	case retention.RuleKeep:
		return "--keep"
	case retention.RuleSemverLatest:
		return "--keep-semver-latest"
	case retention.RuleKeepLast:
		return "--keep-last"
	case retention.RuleNewerThan:
		return "--older-than"
	case retention.RuleMovingTag:
		return "moving tag"
	case retention.RuleReferrer:
		return "referrer"
	case retention.RuleShared:
		return "shared manifest"
	case retention.RuleIndexChild:
		return "index child"
	}
	return "no keep rule"
}
