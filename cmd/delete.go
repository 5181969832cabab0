package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/spf13/cobra"
)

type deleteOptions struct {
	IO        *IOStreams
	Registry  registryFunc
	Refs      []string
	DryRun    bool
	Force     bool
	Referrers bool
	Format    string
}

func newDeleteCmd(f *Factory, runF func(*deleteOptions) error) *cobra.Command {
	opts := &deleteOptions{IO: f.IO, Registry: f.Registry}
	c := &cobra.Command{
		Use:   "delete REF...",
		Short: "Delete tags or manifests in a registry, and nothing else",
		Long: `Delete what each REF names, and nothing more.

By tag, only that tag goes: ctl asks the registry to delete the tag itself
(DELETE /v2/NAME/manifests/TAG). A registry that cannot delete tags has the
manifest deleted by digest instead, but only when no other tag points to it;
otherwise ctl refuses and names those tags, unless --force (which removes
them all). A multi-arch tag deletes its index, never one platform's image.

By digest, the manifest goes with every tag that points to it (named in the
output).

A manifest is never deleted by digest while an index that a tag of the
repository points at lists it (a platform image of a multi-arch tag): that
would break the index. ctl refuses, naming the index's tags, even with
--force; delete or retag those first (an earlier REF of the same command
may remove them).

--referrers first deletes everything that refers to the manifest
(signatures, SBOMs, attestations, what refers to those and, for an index,
the referrers of its children), deepest first, with the cosign tags and the
sha256-<hex> tag-schema indexes that list them, so that no orphan tag or
manifest remains; they are listed before REF itself. Without it, deleting a
digest that has referrers says how many remain, orphaned, and names them.

stdout has one line per removed tag ("Untagged: REF") and manifest
("Deleted: REF@DIGEST"); with --dry-run, "Would untag:" and "Would delete:"
and nothing changes. A dry run asks the registry, with DELETEs of a tag and
a digest that do not exist, whether it deletes tags and whether deletion is
enabled, so it prints what the real run does or fails as it would.

Every REF is resolved and checked before anything is deleted: one missing
or refused deletes none of them. Tags of one manifest given together may go
together where the registry deletes only by digest.`,
		Example: `  ctl delete localhost:5000/gallery/ui:v1
  ctl delete --dry-run localhost:5000/gallery/ui@sha256:0123...
  ctl delete --force registry.local:5000/app:old
  ctl delete --referrers --dry-run localhost:5000/app@sha256:0123...`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeRemoteRefs(f),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Refs = args
			if runF != nil {
				return runF(opts)
			}
			return runDelete(c.Context(), opts)
		},
	}
	c.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print what would be deleted and change nothing")
	c.Flags().BoolVar(&opts.Force, "force", false, "when a tag can only go with its manifest, delete the manifest's other tags too (never a part of a tagged index)")
	c.Flags().BoolVar(&opts.Referrers, "referrers", false, "also delete what refers to the manifest (signatures, SBOMs...), listed first")
	c.Flags().StringVar(&opts.Format, "format", "text", formatFlagHelp("Reference"))
	return c
}

func runDelete(ctx context.Context, opts *deleteOptions) error {
	p, err := newPrinter(opts.Format)
	if err != nil {
		return err
	}
	refs := make([]reference.Reference, len(opts.Refs))
	for i, s := range opts.Refs {
		r, err := reference.Parse(s)
		if err != nil {
			return err
		}
		refs[i] = r
	}
	rc, err := opts.Registry()
	if err != nil {
		return err
	}
	for _, r := range refs {
		if r.Tag() == "" && r.Digest() == "" {
			// As push and pull say it: a bare repository means its latest.
			fmt.Fprintln(opts.IO.ErrOut, "Using default tag: "+r.DefaultedTag())
		}
	}
	acts, err := rc.DeleteAll(ctx, refs, registry.DeleteOptions{DryRun: opts.DryRun, Force: opts.Force, Referrers: opts.Referrers,
		Orphaned: func(subject string, referrers []string) {
			verb := "remain"
			if opts.DryRun {
				verb = "would remain"
			}
			fmt.Fprintf(opts.IO.ErrOut, "Warning: %s has %d referrers; they %s, orphaned (ctl delete --referrers deletes them with it): %s\n",
				subject, len(referrers), verb, strings.Join(referrers, ", "))
		}})
	// What was deleted before a failure is reported too.
	if perr := printDeleted(opts.IO.Out, p, acts, opts.DryRun); perr != nil && err == nil {
		err = perr
	}
	return err
}
