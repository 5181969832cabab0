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
	"github.com/google/go-containerregistry/pkg/v1/types"
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
	// IfDigest gives, for tags among the references, the digest each must
	// still point at (what a plan was made from): one that moved is
	// ErrTagMoved.
	IfDigest map[reference.Reference]string
	// SkipChanged leaves alone, rather than failing the call, a reference
	// that changed since the caller looked: a tag that moved (IfDigest) or
	// is gone, a manifest that a tagged index lists now. Each is reported
	// where its deletion would have come, as a DeleteAction with Skipped.
	SkipChanged bool
}

// DeleteAction is what happened (or, in a dry run, would happen) to one
// reference.
type DeleteAction struct {
	// Untagged is true for a removed tag, false for a removed manifest.
	Untagged bool
	// Ref is "HOST/REPO:TAG" or "HOST/REPO@DIGEST".
	Ref string
	// Skipped, under DeleteOptions.SkipChanged, says why the reference was
	// left alone (ErrTagMoved, ErrNotFound or ErrIndexChild); Ref is then
	// the reference as given.
	Skipped error
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

// ErrTagMoved: the tag no longer points at its DeleteOptions.IfDigest.
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
// fails the call with nothing deleted, unless opts.SkipChanged leaves it
// alone. It returns what was done, in order; on a failure while deleting,
// what was done before it with the error.
//
// A tag is deleted with DELETE /v2/NAME/manifests/TAG (OCI tag deletion):
// only that tag goes. When the registry refuses to delete tags, the tag's
// digest is resolved with every manifest media type and the manifest is
// deleted by digest only when no other tag points to it (or opts.Force, or
// the others are among refs). A digest is deleted with all its tags, named
// in the result. A manifest is never deleted by digest while an index a
// tag of the repository points at lists it, even with Force
// (ErrIndexChild), unless the reference of an earlier step removes the
// index's tags. A registry with deletion disabled gives ErrDeleteDisabled
// and nothing changes.
//
// The repository's tags are listed and resolved once per call, the first
// time a deletion by digest needs them, and each index among them read
// once: the checks of every reference share them, so that N references
// cost O(N) requests, not N scans of the repository.
//
// What the registry can delete is asked with requests that change nothing
// (probeTagDelete, probeDigestDelete) whenever the answer cannot come from the deletion itself:
// in a dry run, with several references, and with opts.Referrers (whose
// referrers would otherwise go before the reference is checked). A single
// tag is deleted with one DELETE when the registry answers it.
func (c *Client) DeleteAll(ctx context.Context, refs []reference.Reference, opts DeleteOptions) ([]DeleteAction, error) {
	d := &deleter{c: c, opts: opts, probe: opts.DryRun || len(refs) > 1 || opts.Referrers, probes: map[string]error{}, repos: map[string]*repoTags{}}
	steps := make([]*deleteStep, len(refs))
	for i, r := range refs {
		st, err := d.resolve(ctx, i, r)
		if st == nil {
			return nil, err
		}
		if err := d.skip(st, err); err != nil {
			return nil, err
		}
		steps[i] = st
	}
	// The tags asked for and not left alone, by repository: each may go
	// with the others' manifest.
	asked := map[string][]string{}
	for _, st := range steps {
		if t, ok := st.ref.(name.Tag); ok && st.skipped == nil {
			asked[t.Context().Name()] = append(asked[t.Context().Name()], t.TagStr())
		}
	}
	for _, st := range steps {
		if st.skipped != nil {
			continue
		}
		st.alongWith = asked[st.ref.Context().Name()]
		if err := d.skip(st, d.check(ctx, st)); err != nil {
			return nil, err
		}
		if st.skipped == nil {
			rt := d.repo(st.s)
			for _, p := range st.pairs {
				rt.remove(st.n, p.acts)
			}
			rt.remove(st.n, st.acts)
		}
	}
	var acts []DeleteAction
	done := map[string]bool{}
	for _, st := range steps {
		if done[st.ref.Name()] || st.digest != "" && done[st.ref.Context().Digest(st.digest).Name()] {
			continue // went with an earlier reference
		}
		var got []DeleteAction
		var err error
		if st.skipped == nil {
			got, err = d.run(ctx, st)
			err = d.skip(st, err)
		}
		acts = append(acts, got...)
		if err != nil {
			return acts, err
		}
		if st.skipped != nil {
			acts = append(acts, DeleteAction{Ref: st.given.String(), Skipped: st.skipped})
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
	probe  bool                 // ask what the registry deletes before deleting
	probes map[string]error     // answers of deleteProbes, by probe and repository
	repos  map[string]*repoTags // the tags of each repository, by host/repo
}

// deleteStep is one reference, checked and ready to delete.
type deleteStep struct {
	n     int // its place among the references
	given reference.Reference
	s     *session
	ref   name.Reference
	// resolved is the digest the tag was found to point at, if it was
	// resolved before its deletion.
	resolved string
	// skipped says why opts.SkipChanged leaves it alone.
	skipped error
	// pairs are the referrers deleted first (opts.Referrers).
	pairs []referrerPair
	// byTag: DELETE of the tag itself; else digest is deleted.
	byTag  bool
	digest string
	// alongWith: the other tags that may go with the manifest.
	alongWith []string
	acts      []DeleteAction
	orphans   []string
	// subject is what the manifest deleted by digest refers to, if it
	// is a referrer: run takes it out of the subject's tag-schema index.
	subject *v1.Descriptor
}

// skip leaves st alone, under opts.SkipChanged, for an error saying that
// its reference changed since the caller looked, and returns any other.
func (d *deleter) skip(st *deleteStep, err error) error {
	if err != nil && d.opts.SkipChanged && (errors.Is(err, ErrTagMoved) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrIndexChild)) {
		st.skipped = err
		return nil
	}
	return err
}

// repo is what the call knows of s's repository's tags.
func (d *deleter) repo(s *session) *repoTags {
	key := s.host + "/" + s.repo
	rt := d.repos[key]
	if rt == nil {
		rt = &repoTags{s: s, goneAt: map[string]int{}, indexes: map[string]*indexRead{}}
		d.repos[key] = rt
	}
	return rt
}

// resolve opens the repository of r, the n-th reference, and resolves a
// tag that must be checked before its deletion (opts.IfDigest, or the
// probes).
func (d *deleter) resolve(ctx context.Context, n int, r reference.Reference) (*deleteStep, error) {
	s, ref, err := d.c.openRef(ctx, r, transport.DeleteScope)
	if err != nil {
		return nil, err
	}
	st := &deleteStep{n: n, given: r, s: s, ref: ref}
	t, ok := ref.(name.Tag)
	want := d.opts.IfDigest[r]
	if !ok || want == "" && !d.probe {
		return st, nil
	}
	mh, err := s.head(ctx, t.TagStr())
	if err != nil {
		return st, err
	}
	if want != "" && mh.Digest.String() != want {
		return st, fmt.Errorf("%s now points at %s, not %s: %w", t.Name(), mh.Digest, want, ErrTagMoved)
	}
	st.resolved = mh.Digest.String()
	return st, nil
}

// check runs on st every check that can refuse it.
func (d *deleter) check(ctx context.Context, st *deleteStep) error {
	r, s := st.given, st.s
	var err error
	switch {
	case d.opts.Referrers:
		if st.pairs, err = d.c.referrerPairs(ctx, s, r); err != nil {
			return err
		}
	case d.opts.Orphaned != nil && r.Digest() != "":
		st.orphans = d.c.referrerDigests(ctx, r)
	}
	if dg, ok := st.ref.(name.Digest); ok {
		return d.planDigest(ctx, st, dg)
	}
	t := st.ref.(name.Tag)
	st.byTag = true
	st.acts = []DeleteAction{{Untagged: true, Ref: t.Name()}}
	if !d.probe {
		return nil // the DELETE of the tag says whether it goes alone
	}
	if err := d.probeTagDelete(ctx, s); err != nil {
		if !tagDeleteRefused(err) {
			return err
		}
		return d.planFallback(ctx, st, err)
	}
	return nil
}

// planDigest checks the deletion of the manifest dg with its tags.
func (d *deleter) planDigest(ctx context.Context, st *deleteStep, dg name.Digest) error {
	mh, err := st.s.head(ctx, dg.DigestStr())
	if err != nil {
		return err
	}
	if err := d.readSubject(ctx, st, dg.DigestStr(), mh.MediaType); err != nil {
		return err
	}
	scan, err := d.repo(st.s).scan(ctx, st.n, dg.DigestStr(), "")
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
	dig := st.resolved
	if dig == "" {
		mh, err := s.head(ctx, t.TagStr())
		if err != nil {
			return err
		}
		dig = mh.Digest.String()
	}
	scan, err := d.repo(s).scan(ctx, st.n, dig, t.TagStr())
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
	acts = append(acts, st.acts...)
	if st.subject != nil {
		if err := d.untrack(ctx, st); err != nil {
			return acts, err
		}
	}
	d.orphaned(st)
	return acts, nil
}

// readSubject sets st.subject when the manifest digest, of media type mt,
// which st deletes by digest, is a referrer: only an OCI manifest or
// index has a subject, so only those are read (one GET; none in a dry
// run, which changes nothing). A tag deleted through its manifest (where
// the registry deletes manifests only: tags prune's many) is not read.
func (d *deleter) readSubject(ctx context.Context, st *deleteStep, digest string, mt types.MediaType) error {
	if d.opts.DryRun || mt != types.OCIManifestSchema1 && mt != types.OCIImageIndex {
		return nil
	}
	raw, gm, err := st.s.get(ctx, digest)
	if err != nil {
		return err
	}
	if _, subject, err := describe(raw, gm.MediaType); err == nil {
		st.subject = subject
	}
	return nil
}

// untrack takes the referrer st deleted out of its subject's sha256-<hex>
// index, when there is one: a listed referrer that is gone breaks every
// reader of the tree (ctl referrers, copy --referrers; oras attach, whose
// update of the index a registry refuses) until the index is fixed. The
// index is looked for even where the registry has the referrers API:
// clients write it there too when the registry sends no OCI-Subject
// header (oras does). oras deletes so as well.
func (d *deleter) untrack(ctx context.Context, st *deleteStep) error {
	h, err := v1.NewHash(st.digest)
	if err != nil {
		return err
	}
	return st.s.removeFromReferrersTag(ctx, st.subject.Digest, h)
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

// repoTags is what one DeleteAll knows of a repository's tags: listed and
// each resolved with HEAD once (load), each index among them read once
// (index), and the tags that the call's steps remove (goneAt), so that
// the checks of every reference share one scan of the repository.
type repoTags struct {
	s      *session
	loaded bool
	tags   map[string]manifestHead // tag → what it points at
	goneAt map[string]int          // tag → the first step that removes it

	mu      sync.Mutex
	indexes map[string]*indexRead // index digest → its manifest
}

// indexRead is an index manifest read once; im is nil for an index gone
// meanwhile.
type indexRead struct {
	once sync.Once
	im   *v1.IndexManifest
	err  error
}

// remove records that step n removes the tags that acts untag.
func (rt *repoTags) remove(n int, acts []DeleteAction) {
	for _, a := range acts {
		tag := a.Ref[strings.LastIndexByte(a.Ref, ':')+1:]
		if _, ok := rt.goneAt[tag]; a.Untagged && !ok {
			rt.goneAt[tag] = n
		}
	}
}

// load lists the repository's tags and resolves each with HEAD, 8 at a
// time, once. A repository without tags has none; a tag gone meanwhile is
// left out.
func (rt *repoTags) load(ctx context.Context) error {
	if rt.loaded {
		return nil
	}
	tags, err := rt.s.listTags(ctx, 0)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	heads := make([]*manifestHead, len(tags))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i, tag := range tags {
		g.Go(func() error {
			mh, err := rt.s.head(gctx, tag)
			if errors.Is(err, ErrNotFound) {
				return nil // deleted meanwhile
			}
			heads[i] = &mh
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	rt.tags = map[string]manifestHead{}
	for i, tag := range tags {
		if heads[i] != nil {
			rt.tags[tag] = *heads[i]
		}
	}
	rt.loaded = true
	return nil
}

// scan finds, as step n sees the repository (without the tags earlier
// steps remove), the tags other than except of digest and of the indexes
// holding it. A referrers index (tag sha256-<hex>) lists referrers, not
// parts of an image: it is not looked into.
func (rt *repoTags) scan(ctx context.Context, n int, digest, except string) (tagScan, error) {
	var scan tagScan
	if err := rt.load(ctx); err != nil {
		return scan, err
	}
	indexes := map[string][]string{} // index digest → its tags
	for tag, mh := range rt.tags {
		if gone, ok := rt.goneAt[tag]; tag == except || ok && gone < n {
			continue
		}
		switch _, _, referrers := reference.ReferrerTagSubject(tag); {
		case mh.Digest.String() == digest:
			scan.same = append(scan.same, tag)
		case mh.MediaType.IsIndex() && !referrers:
			indexes[mh.Digest.String()] = append(indexes[mh.Digest.String()], tag)
		}
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for idx, idxTags := range indexes {
		g.Go(func() error {
			holds, err := rt.indexHolds(gctx, idx, digest, 0, map[string]int{})
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
// indexes, is walked once.
func (rt *repoTags) indexHolds(ctx context.Context, idx, digest string, depth int, walked map[string]int) (bool, error) {
	if d, ok := walked[idx]; ok && d <= depth {
		return false, nil
	}
	walked[idx] = depth
	im, err := rt.index(ctx, idx)
	if im == nil || err != nil {
		return false, err
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
		if holds, err := rt.indexHolds(ctx, m.Digest.String(), digest, depth+1, walked); holds || err != nil {
			return holds, err
		}
	}
	return false, nil
}

// index reads the index idx, once per call: nil if it is gone.
func (rt *repoTags) index(ctx context.Context, idx string) (*v1.IndexManifest, error) {
	rt.mu.Lock()
	r := rt.indexes[idx]
	if r == nil {
		r = &indexRead{}
		rt.indexes[idx] = r
	}
	rt.mu.Unlock()
	r.once.Do(func() {
		b, _, err := rt.s.get(ctx, idx)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			r.err = err
		default:
			if r.im, err = v1.ParseIndexManifest(bytes.NewReader(b)); err != nil {
				r.err = fmt.Errorf("index %s/%s@%s: %w", rt.s.host, rt.s.repo, idx, err)
			}
		}
	})
	return r.im, r.err
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
