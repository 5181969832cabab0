package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/ctl-dev/ctl/pkg/reference"
	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrReferrersIncomplete: after a copy, referrers of the subject are
// missing on the destination.
var ErrReferrersIncomplete = errors.New("referrers missing on the destination")

// ReferrersCopy is what CopyReferrers wrote.
type ReferrersCopy struct {
	// Results are the referrers written, as Push reports tags: Tag is the
	// referrer's digest, or the cosign tag it was found under.
	Results []PushResult
	// Scheme is how the destination lists referrers: through its API, or
	// through the sha256-<hex> indexes CopyReferrers kept.
	Scheme ReferrersScheme
}

// ReferrerPush is one referrer to write: its manifest, the digest of the
// manifest it refers to, and the cosign tag it goes under ("" for a
// referrer that names its subject, written by digest).
type ReferrerPush struct {
	Subject  v1.Hash
	Tag      string
	Artifact Artifact
}

// CopyReferrers copies every referrer of tree (what Referrers found on
// src, with Platforms for an index), keeping digests, into dst's
// repository, whose subject must be there already (Copy it first), as
// PushReferrers writes them.
func (c *Client) CopyReferrers(ctx context.Context, src, dst reference.Reference, tree *ReferrerTree, progress ProgressFunc) (*ReferrersCopy, error) {
	var nodes []Referrer
	var subjects []v1.Hash
	seen := map[string]bool{} // digest and tag: a referrer in two places is written for each tag
	tree.Each(func(subject v1.Hash, n Referrer) {
		if k := n.Digest + " " + n.Tag; !seen[k] {
			seen[k] = true
			nodes, subjects = append(nodes, n), append(subjects, subject)
		}
	})
	if len(nodes) == 0 {
		return &ReferrersCopy{}, nil
	}
	s, err := c.pullSession(ctx, src)
	if err != nil {
		return nil, err
	}
	refs := make([]ReferrerPush, 0, len(nodes))
	for i, n := range nodes {
		a, err := s.artifact(ctx, n.Digest)
		if err != nil {
			return nil, classify(s.host, about("reading", n.Reference, err))
		}
		refs = append(refs, ReferrerPush{Subject: subjects[i], Tag: n.Tag, Artifact: a})
	}
	popts := PushOptions{Progress: progress}
	if strings.EqualFold(src.Registry(), dst.Registry()) && src.Repository() != dst.Repository() {
		popts.MountFrom = src.Repository()
	}
	root, _ := v1.NewHash(tree.Digest)
	return c.PushReferrers(ctx, dst, root, refs, popts)
}

// PushReferrers writes refs, the referrers of root and of what refers to
// it (root must be in dst's repository already), keeping digests, in one
// push. They are written the way the destination supports: where the
// registry answers the referrers API it indexes them itself; else each
// subject's sha256-<hex> index is updated, keeping the entries already
// there. cosign's tags are written as the same tags. Finally the
// destination's tree is read back: a referrer missing there is
// ErrReferrersIncomplete, naming it.
func (c *Client) PushReferrers(ctx context.Context, dst reference.Reference, root v1.Hash, refs []ReferrerPush, popts PushOptions) (*ReferrersCopy, error) {
	if len(refs) == 0 {
		return &ReferrersCopy{}, nil
	}
	tags := make([]PushTag, 0, len(refs))
	descs := make([]v1.Descriptor, 0, len(refs))
	for _, r := range refs {
		raw, err := r.Artifact.RawManifest()
		if err != nil {
			return nil, err
		}
		mt, err := r.Artifact.MediaType()
		if err != nil {
			return nil, err
		}
		desc, _, err := describe(raw, mt)
		if err != nil {
			return nil, err
		}
		tag := r.Tag
		if tag == "" {
			tag = desc.Digest.String()
		}
		tags = append(tags, PushTag{Tag: tag, Artifact: r.Artifact})
		descs = append(descs, desc)
	}
	// The subjects' indexes are kept below, for what was there already
	// too: not by the push as well.
	popts.referrersIndexed = true
	results, err := c.Push(ctx, dst, tags, popts)
	if err != nil {
		return nil, err
	}

	nrepo, err := c.Repo(dst)
	if err != nil {
		return nil, err
	}
	ds, err := c.transferSession(ctx, nrepo, []string{nrepo.Scope("push,pull")})
	if err != nil {
		return nil, err
	}
	d := &discovery{s: ds}
	out := &ReferrersCopy{Results: results, Scheme: ReferrersAPI}
	if _, err := d.listAPI(ctx, root, false); errors.Is(err, errNoReferrersAPI) {
		out.Scheme = ReferrersTagSchema
	} else if err != nil {
		return nil, err
	}
	if out.Scheme == ReferrersTagSchema {
		bySubject := map[v1.Hash][]v1.Descriptor{}
		var order []v1.Hash
		for i, r := range refs {
			if r.Tag != "" {
				continue // a cosign tag: no index lists it
			}
			if _, ok := bySubject[r.Subject]; !ok {
				order = append(order, r.Subject)
			}
			bySubject[r.Subject] = append(bySubject[r.Subject], descs[i])
		}
		for _, subj := range order {
			if err := ds.addToReferrersTag(ctx, subj, bySubject[subj]); err != nil {
				return nil, err
			}
		}
	}
	if err := c.checkReferrers(ctx, dst, root, descs); err != nil {
		return nil, err
	}
	return out, nil
}

// addToReferrersTag adds descs to the index tagged sha256-<hex> of
// subject (the tag schema), keeping every entry it has: one PUT, none when
// it lists them all already.
func (s *session) addToReferrersTag(ctx context.Context, subject v1.Hash, descs []v1.Descriptor) error {
	return s.editReferrersTag(ctx, subject, true, func(idx *v1.IndexManifest) bool {
		added := false
		for _, d := range descs {
			if !slices.ContainsFunc(idx.Manifests, func(have v1.Descriptor) bool { return have.Digest == d.Digest }) {
				idx.Manifests = append(idx.Manifests, d)
				added = true
			}
		}
		return added
	})
}

// removeFromReferrersTag takes digest out of subject's sha256-<hex> index,
// as the distribution spec asks of a client deleting a referrer: one PUT,
// none when the index does not list it (or is not there).
func (s *session) removeFromReferrersTag(ctx context.Context, subject, digest v1.Hash) error {
	return s.editReferrersTag(ctx, subject, false, func(idx *v1.IndexManifest) bool {
		n := len(idx.Manifests)
		idx.Manifests = slices.DeleteFunc(idx.Manifests, func(d v1.Descriptor) bool { return d.Digest == digest })
		if idx.Manifests == nil {
			idx.Manifests = []v1.Descriptor{}
		}
		return len(idx.Manifests) != n
	})
}

// editReferrersTag reads subject's sha256-<hex> index, lets edit change
// it and writes it back when edit says it did; create: also when the
// index is not there yet. The read and the write of one index are never
// interleaved with another of this process's (copies in parallel, as a
// sync runs them, each adding a referrer of one subject would otherwise
// lose entries); another client updating it at the same time still can
// (the spec's tag schema has no locking), and CopyReferrers' read-back
// would then say so.
func (s *session) editReferrersTag(ctx context.Context, subject v1.Hash, create bool, edit func(*v1.IndexManifest) bool) error {
	defer s.tagLocks.lock(s.host + "/" + s.repo + "@" + subject.String())()
	tag, idx, found, err := s.referrersTag(ctx, subject)
	if err != nil || !found && !create {
		return err
	}
	if !edit(&idx) {
		return nil
	}
	b, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	h, _, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if err := s.put(ctx, tag, b, types.OCIImageIndex, h); err != nil {
		return fmt.Errorf("updating the referrers tag %s of %s: %w", tag, subject, err)
	}
	return nil
}

// keyedLocks are mutexes by key, made on first use.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*sync.Mutex
}

// lock locks key's mutex and returns its unlock.
func (l *keyedLocks) lock(key string) func() {
	l.mu.Lock()
	m := l.m[key]
	if m == nil {
		if l.m == nil {
			l.m = map[string]*sync.Mutex{}
		}
		m = &sync.Mutex{}
		l.m[key] = m
	}
	l.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// referrersTag reads subject's sha256-<hex> index (the tag schema): its
// tag, its manifest (empty when not found) and whether it was there.
func (s *session) referrersTag(ctx context.Context, subject v1.Hash) (string, v1.IndexManifest, bool, error) {
	tag := strings.Replace(subject.String(), ":", "-", 1)
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	raw, mh, err := s.get(ctx, tag)
	switch {
	case errors.Is(err, ErrNotFound):
		return tag, idx, false, nil
	case err != nil:
		return tag, idx, false, err
	case !mh.MediaType.IsIndex():
		return tag, idx, false, fmt.Errorf("%s/%s:%s, the referrers tag of %s, holds a %s, not an index: %w", ctltransport.ShownHost(s.host), s.repo, tag, subject, mh.MediaType, ErrBadReferrers)
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return tag, idx, false, fmt.Errorf("%s/%s:%s: %w", ctltransport.ShownHost(s.host), s.repo, tag, err)
	}
	return tag, idx, true, nil
}

// checkReferrers reads dst's referrers tree of root back and names every
// one of want missing there.
func (c *Client) checkReferrers(ctx context.Context, dst reference.Reference, root v1.Hash, want []v1.Descriptor) error {
	at, err := dst.WithDigest(root.String())
	if err != nil {
		return err
	}
	got, err := c.Referrers(ctx, at, ReferrersOptions{Platforms: true})
	if err != nil {
		return fmt.Errorf("reading back the referrers of %s: %w", at, err)
	}
	have := map[string]bool{}
	got.Each(func(_ v1.Hash, n Referrer) { have[n.Digest] = true })
	var missing []string
	for _, d := range want {
		if !have[d.Digest.String()] {
			missing = append(missing, d.Digest.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s arrived, but %d of its referrers are not listed there: %s: %w", at, len(missing), strings.Join(missing, ", "), ErrReferrersIncomplete)
	}
	return nil
}

// Each calls f on every referrer of the tree, parents before what refers
// to them, with the digest of its subject: the root's referrers, then
// those of each child of an index root. A referrer in several places
// (ShownAbove in all but its first) is passed for each.
func (t *ReferrerTree) Each(f func(subject v1.Hash, n Referrer)) {
	var walk func(subject string, ns []Referrer)
	walk = func(subject string, ns []Referrer) {
		h, _ := v1.NewHash(subject)
		for _, n := range ns {
			f(h, n)
			walk(n.Digest, n.Referrers)
		}
	}
	walk(t.Digest, t.Referrers)
	for _, m := range t.Manifests {
		walk(m.Digest, m.Referrers)
	}
}
