package cmd

import (
	"fmt"
	"io"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/tagplan"
)

// The result printers of the commands that write tags on a registry
// (push, copy, tag --semver): one line per tag as docker push prints it,
// or an item in the --format chosen.

// pushedItem is what push and copy print per tag, as --format sees it.
type pushedItem struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Digest     string `json:"digest"`
	Size       int64  `json:"size"`
}

// printPushed prints docker's per-tag result line on stdout, or each
// result in the --format chosen.
func printPushed(ios *IOStreams, p *printer, repo reference.Reference, results []registry.PushResult) error {
	for _, r := range results {
		item := pushedItem{Repository: repo.Name(), Tag: r.Tag, Digest: r.Digest.String(), Size: r.Size}
		if err := p.Print(ios.Out, item, func(w io.Writer) error {
			return printDigestLine(w, escapeControl(r.Tag), r.Digest.String(), r.Size)
		}); err != nil {
			return err
		}
	}
	return nil
}

// printDigestLine is push's result line for one tag.
func printDigestLine(w io.Writer, tag, digest string, size int64) error {
	_, err := fmt.Fprintf(w, "%s: digest: %s size: %d\n", tag, digest, size)
	return err
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
		return printDigestLine(w, s.Tag, s.Digest, size)
	})
}

// keptMessage says why a moving tag was not written.
func keptMessage(s tagplan.Step) string {
	if s.Digest == "" {
		return fmt.Sprintf("%s: not created: %s", s.Tag, s.Reason)
	}
	return fmt.Sprintf("%s: kept at %s: %s", s.Tag, s.Digest, s.Reason)
}
