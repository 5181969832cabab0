package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// DeleteOptions say how Delete goes about its work.
type DeleteOptions struct {
	// DryRun resolves what would be deleted and changes nothing.
	DryRun bool
	// Force lets a tag whose manifest other tags share be deleted by digest
	// on a registry that cannot delete tags, removing those tags too.
	Force bool
	// Referrers first deletes everything that refers to the manifest
	// (see deleteReferrers).
	Referrers bool
	// Orphaned, when set, is called after a manifest deleted by digest
	// without Referrers leaves referrers behind, with their digests.
	Orphaned func(subject string, referrers []string)
	// AlongWith names the other tags that may go with the manifest when a
	// tag can only be deleted by digest (those of a retention plan that
	// deletes them all); any other tag sharing it refuses as without Force.
	AlongWith []string
	// IfDigest, if set, deletes a tag only while it still points at this
	// digest (what a plan was made from): ErrTagMoved otherwise.
	IfDigest string
}

// DeleteAction is what happened (or, in a dry run, would happen) to one
// reference.
type DeleteAction struct {
	// Untagged is true for a removed tag, false for a removed manifest.
	Untagged bool
	// Ref is "HOST/REPO:TAG" or "HOST/REPO@DIGEST".
	Ref string
}

// ErrSharedManifest: a tag cannot be deleted alone and its manifest has
// other tags; Force deletes them all.
var ErrSharedManifest = errors.New("manifest has other tags")

// SharedManifestError says why Delete refused to delete Tag at Host: the
// registry cannot delete a tag alone, and deleting the manifest (Digest)
// would remove the Others tags too. Delete returns it with
// ErrSharedManifest; DeleteOptions.Force deletes them all.
type SharedManifestError struct {
	Host, Tag, Digest string
	Others            []string
}

func (e *SharedManifestError) Error() string {
	return fmt.Sprintf("%s cannot delete a tag alone, and deleting %s by digest %s would also remove %s",
		e.Host, e.Tag, e.Digest, strings.Join(e.Others, ", "))
}

// ErrTagMoved: the tag no longer points at DeleteOptions.IfDigest.
var ErrTagMoved = errors.New("tag moved")

// Delete removes what r names, and nothing more.
//
// A tag is deleted with DELETE /v2/NAME/manifests/TAG (OCI tag deletion):
// only that tag goes. When the registry refuses to delete tags, the tag's
// digest is resolved with every manifest media type and the manifest is
// deleted by digest only when no other tag points to it (or opts.Force).
// A digest is deleted with all its tags; they are named in the result when
// the repository can be listed. A registry with deletion disabled gives
// ErrDeleteDisabled and nothing changes.
func (c *Client) Delete(ctx context.Context, r reference.Reference, opts DeleteOptions) ([]DeleteAction, error) {
	s, ref, err := c.openRef(ctx, r, transport.DeleteScope)
	if err != nil {
		return nil, err
	}
	var first []DeleteAction
	var orphans []string
	switch {
	case opts.Referrers:
		if first, err = c.deleteReferrers(ctx, s, r, opts.DryRun); err != nil {
			return nil, err
		}
	case opts.Orphaned != nil && r.Digest() != "":
		orphans = c.referrerDigests(ctx, r)
	}
	var acts []DeleteAction
	if d, ok := ref.(name.Digest); ok {
		acts, err = s.deleteDigest(ctx, d, opts.DryRun)
	} else {
		acts, err = s.deleteTag(ctx, ref.(name.Tag), opts)
	}
	if err != nil {
		return nil, err
	}
	if len(orphans) > 0 {
		opts.Orphaned(ref.Name(), orphans)
	}
	return append(first, acts...), nil
}

// deleteDigest deletes the manifest d with its tags.
func (s *session) deleteDigest(ctx context.Context, d name.Digest, dryRun bool) ([]DeleteAction, error) {
	if _, err := s.head(ctx, d.DigestStr()); err != nil {
		return nil, err
	}
	// Naming the tags is best effort: a repository that cannot be listed
	// still has its manifest deleted.
	tags, _ := s.tagsPointingTo(ctx, d.DigestStr(), "")
	acts := untagActions(d.Context(), tags)
	acts = append(acts, DeleteAction{Ref: d.Name()})
	if dryRun {
		return acts, nil
	}
	if err := s.deleteManifest(ctx, d.DigestStr()); err != nil {
		return nil, err
	}
	return acts, nil
}

// deleteTag deletes tag t alone, falling back to its digest only when that
// takes no other tag with it (or force).
func (s *session) deleteTag(ctx context.Context, t name.Tag, opts DeleteOptions) ([]DeleteAction, error) {
	if opts.IfDigest != "" {
		mh, err := s.head(ctx, t.TagStr())
		if err != nil {
			return nil, err
		}
		if mh.Digest.String() != opts.IfDigest {
			return nil, fmt.Errorf("%s now points at %s, not %s: %w", t.Name(), mh.Digest, opts.IfDigest, ErrTagMoved)
		}
	}
	if opts.DryRun {
		if _, err := s.head(ctx, t.TagStr()); err != nil {
			return nil, err
		}
		return []DeleteAction{{Untagged: true, Ref: t.Name()}}, nil
	}
	tagErr := s.deleteManifest(ctx, t.TagStr())
	if tagErr == nil {
		return []DeleteAction{{Untagged: true, Ref: t.Name()}}, nil
	}
	if !tagDeleteRefused(tagErr) {
		return nil, tagErr
	}
	// The registry cannot delete tags (or answered 404 for a tag that may
	// exist): find the manifest and who else points to it.
	mh, herr := s.head(ctx, t.TagStr())
	if herr != nil {
		return nil, herr
	}
	dig := mh.Digest.String()
	others, err := s.tagsPointingTo(ctx, dig, t.TagStr())
	if err != nil {
		return nil, fmt.Errorf("%s cannot delete tags alone and the other tags of %s cannot be checked: %w", s.host, dig, err)
	}
	if len(others) > 0 && !opts.Force && !subset(others, opts.AlongWith) {
		if deleteDisabled(tagErr) {
			// 405/UNSUPPORTED for the tag may mean deletion is off
			// altogether: ask about a digest no manifest can have, so the
			// answer says which without touching anything.
			if perr := s.deleteManifest(ctx, absentDigest); errors.Is(perr, ErrDeleteDisabled) {
				return nil, perr
			}
		}
		return nil, fmt.Errorf("%w: %w", &SharedManifestError{Host: s.host, Tag: t.Name(), Digest: dig, Others: others}, ErrSharedManifest)
	}
	if err := s.deleteManifest(ctx, dig); err != nil {
		return nil, err
	}
	acts := untagActions(t.Context(), append([]string{t.TagStr()}, others...))
	return append(acts, DeleteAction{Ref: t.Context().Digest(dig).Name()}), nil
}

// absentDigest is a well-formed digest of no content (all zeros): a DELETE of
// it changes nothing and tells whether the registry deletes by digest.
const absentDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// deleteManifest sends DELETE /v2/NAME/manifests/ID.
func (s *session) deleteManifest(ctx context.Context, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.manifestURL(id), nil)
	if err != nil {
		return err
	}
	resp, err := s.do(req, http.StatusAccepted, http.StatusOK, http.StatusNoContent)
	if err != nil {
		if deleteDisabled(err) && strings.HasPrefix(id, "sha256:") {
			return deleteDisabledError{host: s.host, err: err}
		}
		return err
	}
	resp.Body.Close()
	return nil
}

// deleteDisabledError says plainly that host does not allow deletion; its
// text is the contract's.
type deleteDisabledError struct {
	host string
	err  error
}

func (e deleteDisabledError) Error() string {
	return fmt.Sprintf("deletion is disabled on %s (run the registry with REGISTRY_STORAGE_DELETE_ENABLED=true)", e.host)
}

func (e deleteDisabledError) Unwrap() []error { return []error{ErrDeleteDisabled, e.err} }

// deleteDisabled reports a 405 or UNSUPPORTED answer to a DELETE.
func deleteDisabled(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusMethodNotAllowed {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.UnsupportedErrorCode {
			return true
		}
	}
	return false
}

// tagDeleteRefused reports an answer to DELETE of a tag that may mean "this
// registry deletes only by digest": 400 (DIGEST_INVALID, TAG_INVALID ...),
// 404 (the tag was read as a digest), 405 and UNSUPPORTED.
func tagDeleteRefused(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	switch te.StatusCode {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
		return true
	}
	return deleteDisabled(err)
}

// tagsPointingTo lists the repository's tags other than except whose
// manifest is digest, resolving each with HEAD (in parallel, bounded).
func (s *session) tagsPointingTo(ctx context.Context, digest, except string) ([]string, error) {
	tags, err := s.listTags(ctx, 0)
	if err != nil {
		return nil, err
	}
	var (
		mu  sync.Mutex
		out []string
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, tag := range tags {
		if tag == except {
			continue
		}
		g.Go(func() error {
			mh, err := s.head(gctx, tag)
			if errors.Is(err, ErrNotFound) {
				return nil // deleted meanwhile
			}
			if err != nil {
				return err
			}
			if mh.Digest.String() == digest {
				mu.Lock()
				out = append(out, tag)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// subset reports whether every one of tags is in of.
func subset(tags, of []string) bool {
	for _, t := range tags {
		if !slices.Contains(of, t) {
			return false
		}
	}
	return true
}

// untagActions names tags of repo as untag actions.
func untagActions(repo name.Repository, tags []string) []DeleteAction {
	acts := make([]DeleteAction, 0, len(tags)+1)
	for _, t := range tags {
		acts = append(acts, DeleteAction{Untagged: true, Ref: repo.Tag(t).Name()})
	}
	return acts
}
