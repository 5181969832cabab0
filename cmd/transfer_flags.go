package cmd

import (
	"fmt"
	"io"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/spf13/pflag"
)

// transferFlags are the flags push, pull and copy share.
type transferFlags struct {
	AllTags   bool
	Jobs      int
	Quiet     bool
	Format    string
	Referrers bool
}

// add registers --all-tags/-a, --jobs/-j, --quiet/-q, --referrers and
// --format, whose templates see formatField among the result's fields.
func (t *transferFlags) add(fl *pflag.FlagSet, allTagsHelp, jobsHelp, formatField string) {
	fl.BoolVarP(&t.AllTags, "all-tags", "a", false, allTagsHelp)
	fl.BoolVar(&t.Referrers, "referrers", false, "also move the signatures, SBOMs and attestations that refer to the image, recursively (see ctl referrers)")
	fl.IntVarP(&t.Jobs, "jobs", "j", registry.DefaultJobs, jobsHelp)
	fl.BoolVarP(&t.Quiet, "quiet", "q", false, "print results only, no progress")
	fl.StringVar(&t.Format, "format", "text", formatFlagHelp(formatField))
}

// parseRef parses the reference of push or pull, which names a whole
// repository (no tag, no digest) with --all-tags.
func (t *transferFlags) parseRef(s string) (reference.Reference, error) {
	ref, err := reference.Parse(s)
	if err != nil {
		return ref, err
	}
	if t.AllTags && (ref.Tag() != "" || ref.Digest() != "") {
		return ref, usageError{fmt.Errorf("tag can't be used with --all-tags/-a: %s", s)}
	}
	return ref, nil
}

// start checks --format and --jobs before any work, and builds the
// registry client with its parallelism set to --jobs.
func (t *transferFlags) start(newClient func() (*registry.Client, error)) (*printer, *registry.Client, error) {
	out, err := newPrinter(t.Format)
	if err != nil {
		return nil, nil, err
	}
	if t.Jobs < 1 {
		return nil, nil, usageError{fmt.Errorf("--jobs must be at least 1, got %d", t.Jobs)}
	}
	if t.Referrers && t.AllTags {
		return nil, nil, usageError{fmt.Errorf("--referrers moves one image or index with what refers to it: it does not combine with --all-tags yet")}
	}
	c, err := newClient()
	if err != nil {
		return nil, nil, err
	}
	return out, c.WithJobs(t.Jobs), nil
}

// reportReferrers tells, on stderr, what referrers a copy or push with
// --referrers wrote (verb: "Copied", "Pushed"), after the tags' results:
// a line each, shaped as a tag's, then how the destination lists them.
// Nothing without --referrers (rc nil); see tellReferrers.
func (t *transferFlags) reportReferrers(ios *IOStreams, verb string, rc *registry.ReferrersCopy) {
	if rc == nil {
		return
	}
	t.tellReferrers(ios, verb, len(rc.Results), referrersWritten[rc.Scheme], func(w io.Writer, i int) error {
		r := rc.Results[i]
		return printDigestLine(w, escapeControl(r.Tag), r.Digest.String(), r.Size)
	})
}

// tellReferrers tells, on stderr, the n referrers a copy, push or pull
// with --referrers wrote (verb: "Copied", "Pushed", "Pulled"), after the
// results: each as tell shapes it, as a result is, then their count and
// where they went. They are not results: stdout has one result per
// reference asked for, with or without --referrers. Nothing with -q.
func (t *transferFlags) tellReferrers(ios *IOStreams, verb string, n int, where string, tell func(w io.Writer, i int) error) {
	if t.Quiet {
		return
	}
	for i := range n {
		_ = tell(ios.ErrOut, i)
	}
	fmt.Fprintf(ios.ErrOut, "%s %d referrers (%s)\n", verb, n, where)
}

// referrersWritten says how the destination of a copy or push lists the
// referrers it got.
var referrersWritten = map[registry.ReferrersScheme]string{
	"":                          "none found",
	registry.ReferrersAPI:       "listed by the destination's referrers API",
	registry.ReferrersTagSchema: "listed in the destination's referrers tag schema",
}

// pushReport shows a push or copy to dst as docker does: per-layer
// progress on stderr, then one result line per tag on stdout, with the
// printer the caller made from --format before any work, so that a bad
// one costs nothing.
type pushReport struct {
	ios  *IOStreams
	out  *printer
	dst  reference.Reference
	prog *progress
}

func (t *transferFlags) pushReport(ios *IOStreams, out *printer, dst reference.Reference) *pushReport {
	return &pushReport{ios: ios, out: out, dst: dst, prog: newProgress(ios, t.Quiet, pushWords)}
}

// Started prints docker's "The push refers to repository" header, once
// what is sent is known: not before, so that a copy from a missing source
// reports only that.
func (r *pushReport) Started() {
	r.prog.Line(fmt.Sprintf("The push refers to repository [%s]", r.dst.Name()))
}

// Event shows one blob event.
func (r *pushReport) Event(e registry.Event) { r.prog.Event(e) }

// Done ends the progress, then returns err or prints results.
func (r *pushReport) Done(results []registry.PushResult, err error) error {
	r.prog.Close()
	if err != nil {
		return err
	}
	return printPushed(r.ios, r.out, r.dst, results)
}
