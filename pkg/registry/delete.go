package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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
	// (see referrerPairs).
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

// ErrIndexChild: deleting the manifest by digest would break an index
// that a tag of the repository points at; Force does not override it.
var ErrIndexChild = errors.New("manifest is part of a tagged index")

// IndexChildError says why Delete refused to delete Ref: its manifest
// (Digest) would go by digest, and the indexes tagged Indexes (tags of the
// same repository) list it, so they would be left broken. ByTag says that
// Ref is a tag the registry could only delete with its manifest.
type IndexChildError struct {
	Ref, Digest string
	ByTag       bool
	Indexes     []string
}

func (e *IndexChildError) Error() string {
	what := e.Ref
	if e.ByTag {
		what += fmt.Sprintf(" (the registry deletes it only with its manifest %s)", e.Digest)
	}
	return fmt.Sprintf("refusing to delete %s: the manifest is part of the index tagged %s, which deleting it would break (delete or retag %s first; --force does not override this)",
		what, strings.Join(e.Indexes, ", "), pronoun(len(e.Indexes)))
}

func (e *IndexChildError) Unwrap() error { return ErrIndexChild }

// pronoun is "it" or "them" for n tags.
func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// Delete removes what r names, and nothing more: DeleteAll of r alone.
func (c *Client) Delete(ctx context.Context, r reference.Reference, opts DeleteOptions) ([]DeleteAction, error) {
	return c.DeleteAll(ctx, []reference.Reference{r}, opts)
}

// DeleteAll removes what each of refs names, and nothing more, checking
// every one before deleting anything: a reference that is missing or
// refused (shared manifest, part of a tagged index, deletion disabled)
// fails the call with nothing deleted. It returns what was done, in order;
// on a failure while deleting, what was done before it with the error.
//
// A tag is deleted with DELETE /v2/NAME/manifests/TAG (OCI tag deletion):
// only that tag goes. When the registry refuses to delete tags, the tag's
// digest is resolved with every manifest media type and the manifest is
// deleted by digest only when no other tag points to it (or opts.Force, or
// the others are among opts.AlongWith or refs). A digest is deleted with
// all its tags, named in the result. A manifest is never deleted by digest
// while an index a tag of the repository points at lists it, even with
// Force (ErrIndexChild). A registry with deletion disabled gives
// ErrDeleteDisabled and nothing changes.
//
// What the registry can delete is asked with requests that change nothing
// (probeTagDelete, probeDigestDelete) whenever the answer cannot come from the deletion itself:
// in a dry run, with several references, and with opts.Referrers (whose
// referrers would otherwise go before the reference is checked). A single
// tag is deleted with one DELETE when the registry answers it.
func (c *Client) DeleteAll(ctx context.Context, refs []reference.Reference, opts DeleteOptions) ([]DeleteAction, error) {
	d := &deleter{c: c, opts: opts, probe: opts.DryRun || len(refs) > 1 || opts.Referrers, probes: map[string]error{}}
	// The tags asked for, by repository: each may go with the others'
	// manifest.
	asked := map[string][]string{}
	for _, r := range refs {
		ref, err := c.Ref(r)
		if err != nil {
			return nil, err
		}
		if t, ok := ref.(name.Tag); ok {
			asked[t.Context().Name()] = append(asked[t.Context().Name()], t.TagStr())
		}
	}
	steps := make([]*deleteStep, 0, len(refs))
	for _, r := range refs {
		st, err := d.plan(ctx, r, asked)
		if err != nil {
			return nil, err
		}
		steps = append(steps, st)
	}
	var acts []DeleteAction
	done := map[string]bool{}
	for _, st := range steps {
		if done[st.ref.Name()] || st.digest != "" && done[st.ref.Context().Digest(st.digest).Name()] {
			continue // went with an earlier reference
		}
		got, err := d.run(ctx, st)
		acts = append(acts, got...)
		if err != nil {
			return acts, err
		}
		for _, a := range got {
			done[a.Ref] = true
		}
	}
	return acts, nil
}

// deleter carries out one DeleteAll.
type deleter struct {
	c      *Client
	opts   DeleteOptions
	probe  bool             // ask what the registry deletes before deleting
	probes map[string]error // answers of deleteProbes, by probe and repository
}

// deleteStep is one reference, checked and ready to delete.
type deleteStep struct {
	s   *session
	ref name.Reference
	// pairs are the referrers deleted first (opts.Referrers).
	pairs []referrerPair
	// byTag: DELETE of the tag itself; else digest is deleted.
	byTag  bool
	digest string
	// alongWith: the other tags that may go with the manifest.
	alongWith []string
	acts      []DeleteAction
	orphans   []string
}

// plan resolves r and runs every check that can refuse it; asked are the
// tags DeleteAll was given, by repository.
func (d *deleter) plan(ctx context.Context, r reference.Reference, asked map[string][]string) (*deleteStep, error) {
	s, ref, err := d.c.openRef(ctx, r, transport.DeleteScope)
	if err != nil {
		return nil, err
	}
	st := &deleteStep{s: s, ref: ref, alongWith: append(slices.Clone(d.opts.AlongWith), asked[ref.Context().Name()]...)}
	switch {
	case d.opts.Referrers:
		if st.pairs, err = d.c.referrerPairs(ctx, s, r); err != nil {
			return nil, err
		}
	case d.opts.Orphaned != nil && r.Digest() != "":
		st.orphans = d.c.referrerDigests(ctx, r)
	}
	if dg, ok := ref.(name.Digest); ok {
		return st, d.planDigest(ctx, st, dg)
	}
	t := ref.(name.Tag)
	if d.opts.IfDigest != "" || d.probe {
		mh, err := s.head(ctx, t.TagStr())
		if err != nil {
			return nil, err
		}
		if d.opts.IfDigest != "" && mh.Digest.String() != d.opts.IfDigest {
			return nil, fmt.Errorf("%s now points at %s, not %s: %w", t.Name(), mh.Digest, d.opts.IfDigest, ErrTagMoved)
		}
	}
	st.byTag = true
	st.acts = []DeleteAction{{Untagged: true, Ref: t.Name()}}
	if !d.probe {
		return st, nil // the DELETE of the tag says whether it goes alone
	}
	if err := d.probeTagDelete(ctx, s); err != nil {
		if !tagDeleteRefused(err) {
			return nil, err
		}
		return st, d.planFallback(ctx, st, err)
	}
	return st, nil
}

// planDigest checks the deletion of the manifest dg with its tags.
func (d *deleter) planDigest(ctx context.Context, st *deleteStep, dg name.Digest) error {
	if _, err := st.s.head(ctx, dg.DigestStr()); err != nil {
		return err
	}
	scan, err := st.s.scanTags(ctx, dg.DigestStr(), "")
	if err != nil {
		return fmt.Errorf("cannot check that no tagged index lists %s: %w", dg.Name(), err)
	}
	if len(scan.indexes) > 0 {
		return &IndexChildError{Ref: dg.Name(), Digest: dg.DigestStr(), Indexes: scan.indexes}
	}
	if d.probe {
		if err := d.probeDigestDelete(ctx, st.s); err != nil {
			return err
		}
	}
	st.digest = dg.DigestStr()
	st.acts = append(untagActions(dg.Context(), scan.same), DeleteAction{Ref: dg.Name()})
	return nil
}

// planFallback checks, for a tag the registry refused to delete (tagErr),
// the deletion of its manifest by digest instead: it takes the tag's
// siblings (refused unless Force or alongWith) and must break no tagged
// index (refused even with Force).
func (d *deleter) planFallback(ctx context.Context, st *deleteStep, tagErr error) error {
	s, t := st.s, st.ref.(name.Tag)
	mh, err := s.head(ctx, t.TagStr())
	if err != nil {
		return err
	}
	dig := mh.Digest.String()
	scan, err := s.scanTags(ctx, dig, t.TagStr())
	if err != nil {
		return fmt.Errorf("%s cannot delete tags alone and the other tags of %s cannot be checked: %w", s.host, dig, err)
	}
	var refusal error
	switch {
	case len(scan.indexes) > 0:
		refusal = &IndexChildError{Ref: t.Name(), Digest: dig, ByTag: true, Indexes: scan.indexes}
	case len(scan.same) > 0 && !d.opts.Force && !subset(scan.same, st.alongWith):
		refusal = fmt.Errorf("%w: %w", &SharedManifestError{Host: s.host, Tag: t.Name(), Digest: dig, Others: scan.same}, ErrSharedManifest)
	}
	// 405/UNSUPPORTED for the tag may mean deletion is off altogether:
	// that is the answer to give, as the DELETE by digest would.
	if d.probe || refusal != nil && deleteDisabled(tagErr) {
		if err := d.probeDigestDelete(ctx, s); err != nil {
			return err
		}
	}
	if refusal != nil {
		return refusal
	}
	st.byTag, st.digest = false, dig
	st.acts = append(untagActions(t.Context(), append([]string{t.TagStr()}, scan.same...)), DeleteAction{Ref: t.Context().Digest(dig).Name()})
	return nil
}

// run deletes what st planned, referrers first; in a dry run it only
// says so.
func (d *deleter) run(ctx context.Context, st *deleteStep) ([]DeleteAction, error) {
	var acts []DeleteAction
	for _, p := range st.pairs {
		if d.opts.DryRun {
			acts = append(acts, p.acts...)
			continue
		}
		if err := st.s.deletePair(ctx, p.tag, p.digest); err != nil {
			return acts, err
		}
		acts = append(acts, p.acts...)
	}
	if d.opts.DryRun {
		d.orphaned(st)
		return append(acts, st.acts...), nil
	}
	if st.byTag {
		err := st.s.deleteManifest(ctx, st.ref.Identifier())
		if err == nil {
			return append(acts, st.acts...), nil
		}
		if !tagDeleteRefused(err) {
			return acts, err
		}
		// Refused after all: the manifest goes by digest, if it may.
		if err := d.planFallback(ctx, st, err); err != nil {
			return acts, err
		}
	}
	if err := st.s.deleteManifest(ctx, st.digest); err != nil {
		return acts, err
	}
	d.orphaned(st)
	return append(acts, st.acts...), nil
}

// orphaned reports st's orphaned referrers through opts.Orphaned.
func (d *deleter) orphaned(st *deleteStep) {
	if len(st.orphans) > 0 {
		d.opts.Orphaned(st.ref.Name(), st.orphans)
	}
}

// probeTagDelete asks, once per repository, whether the registry deletes
// tags: DELETE of a tag no one pushed changes nothing, and a 404 (or
// success) means tag deletes are answered; a refusal (tagDeleteRefused)
// is returned.
func (d *deleter) probeTagDelete(ctx context.Context, s *session) error {
	return d.probeOnce("tag "+s.host+"/"+s.repo, func() error {
		err := s.deleteManifest(ctx, probeTag())
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		return err
	})
}

// probeDigestDelete asks, once per repository, whether the registry
// deletes manifests by digest: DELETE of absentDigest changes nothing. Only
// a refusal the deletion would meet too is returned (deletion disabled,
// access denied); any other answer leaves it to the deletion.
func (d *deleter) probeDigestDelete(ctx context.Context, s *session) error {
	return d.probeOnce("digest "+s.host+"/"+s.repo, func() error {
		err := s.deleteManifest(ctx, absentDigest)
		if errors.Is(err, ErrDeleteDisabled) || errors.Is(err, ErrUnauthorized) {
			return err
		}
		return nil
	})
}

// probeOnce runs probe f under key once.
func (d *deleter) probeOnce(key string, f func() error) error {
	if err, ok := d.probes[key]; ok {
		return err
	}
	err := f()
	d.probes[key] = err
	return err
}

// probeTag is a tag name no one pushes.
func probeTag() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "ctl-delete-probe-" + hex.EncodeToString(b)
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

// tagScan is what the repository's tags say about one manifest.
type tagScan struct {
	// same are the tags pointing at it, sorted.
	same []string
	// indexes are the tags of the indexes that list it, directly or
	// through an index they list, sorted.
	indexes []string
}

// scanTags lists the repository's tags other than except, resolves each
// with HEAD and GETs each distinct index among them (and the indexes those
// list), 8 requests at a time, to find the tags of digest and of the
// indexes holding it. A referrers index (tag sha256-<hex>) lists
// referrers, not parts of an image: it is not looked into. A repository
// without tags has none.
func (s *session) scanTags(ctx context.Context, digest, except string) (tagScan, error) {
	var scan tagScan
	tags, err := s.listTags(ctx, 0)
	if errors.Is(err, ErrNotFound) {
		return scan, nil
	}
	if err != nil {
		return scan, err
	}
	var (
		mu      sync.Mutex
		indexes = map[string][]string{} // index digest → its tags
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
			mu.Lock()
			defer mu.Unlock()
			switch _, _, referrers := reference.ReferrerTagSubject(tag); {
			case mh.Digest.String() == digest:
				scan.same = append(scan.same, tag)
			case mh.MediaType.IsIndex() && !referrers:
				indexes[mh.Digest.String()] = append(indexes[mh.Digest.String()], tag)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return scan, err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(8)
	for idx, idxTags := range indexes {
		g.Go(func() error {
			holds, err := s.indexHolds(gctx, idx, digest, 0, map[string]int{})
			if holds {
				mu.Lock()
				scan.indexes = append(scan.indexes, idxTags...)
				mu.Unlock()
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return scan, err
	}
	sort.Strings(scan.same)
	sort.Strings(scan.indexes)
	return scan, nil
}

// maxIndexDepth bounds how deep indexHolds follows indexes listed by an
// index.
const maxIndexDepth = 4

// indexHolds reports whether the index idx lists digest, directly or
// through the indexes it lists (depth of them deep already). An index gone
// meanwhile holds nothing. walked are the indexes looked into already, by
// the least depth they were looked into at: an index reached again no
// deeper holds nothing more, so one listed many times, or by many
// indexes, is read once.
func (s *session) indexHolds(ctx context.Context, idx, digest string, depth int, walked map[string]int) (bool, error) {
	if d, ok := walked[idx]; ok && d <= depth {
		return false, nil
	}
	walked[idx] = depth
	b, _, err := s.get(ctx, idx)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		return false, fmt.Errorf("index %s/%s@%s: %w", s.host, s.repo, idx, err)
	}
	for _, m := range im.Manifests {
		if m.Digest.String() == digest {
			return true, nil
		}
	}
	if depth+1 >= maxIndexDepth {
		return false, nil
	}
	for _, m := range im.Manifests {
		if !m.MediaType.IsIndex() {
			continue
		}
		if holds, err := s.indexHolds(ctx, m.Digest.String(), digest, depth+1, walked); holds || err != nil {
			return holds, err
		}
	}
	return false, nil
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
