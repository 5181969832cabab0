package cmd

import (
	"fmt"
	"io"
	"strings"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/tagplan"
)

// Printers several commands share: the results of the commands that write
// tags on a registry (push, copy, tag --semver), one line per tag as docker
// push prints it or an item in the --format chosen; the deletions of delete
// and tags prune; short forms of references and digests.

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

// familiar is docker's short form of a stored reference.
func familiar(r reference.Reference) string { return r.Familiar() }

// orDash is s, or "-" for an empty value in a table.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// deletedItem is what delete prints per removed tag or manifest, as
// --format sees it.
type deletedItem struct {
	Reference string `json:"reference"` // HOST/REPO:TAG or HOST/REPO@DIGEST
	Untagged  bool   `json:"untagged"`  // a tag went (else a manifest)
	DryRun    bool   `json:"dryRun"`    // nothing was changed
}

// printDeleted reports removed (or, in a dry run, removable) tags and
// manifests.
func printDeleted(w io.Writer, p *printer, acts []registry.DeleteAction, dryRun bool) error {
	for _, a := range acts {
		item := deletedItem{Reference: a.Ref, Untagged: a.Untagged, DryRun: dryRun}
		if err := p.Print(w, item, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "%s %s\n", deleteVerb(a.Untagged, dryRun), a.Ref)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

func deleteVerb(untag, dryRun bool) string {
	switch {
	case untag && dryRun:
		return "Would untag:"
	case untag:
		return "Untagged:"
	case dryRun:
		return "Would delete:"
	}
	return "Deleted:"
}

// shortDigest is the first 12 hex digits of a digest, as docker shows
// image IDs.
func shortDigest(d string) string {
	_, hex, _ := strings.Cut(d, ":")
	return hex[:min(12, len(hex))]
}
