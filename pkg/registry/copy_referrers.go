package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

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

// CopyReferrers copies every referrer of tree (what Referrers found on
// src, with Platforms for an index), keeping digests, into dst's
// repository, whose subject must be there already (Copy it first). It is
// written the way the destination supports: where the registry answers
// the referrers API it indexes them itself; else each subject's
// sha256-<hex> index is updated, keeping the entries already there.
// cosign's tags are copied as the same tags. Finally the destination's
// tree is read back: a referrer missing there is ErrReferrersIncomplete,
// naming it.
func (c *Client) CopyReferrers(ctx context.Context, src, dst reference.Reference, tree *ReferrerTree, progress ProgressFunc) (*ReferrersCopy, error) {
	type edge struct {
		subject v1.Hash
		n       Referrer
	}
	var edges []edge
	tree.each(func(subject v1.Hash, n Referrer) { edges = append(edges, edge{subject, n}) })
	if len(edges) == 0 {
		return &ReferrersCopy{}, nil
	}

	s, err := c.pullSession(ctx, src)
	if err != nil {
		return nil, err
	}
	tags := make([]PushTag, 0, len(edges))
	for _, e := range edges {
		a, err := s.artifact(ctx, e.n.Digest)
		if err != nil {
			return nil, classify(s.host, about("reading", e.n.Reference, err))
		}
		tag := e.n.Tag
		if tag == "" {
			tag = e.n.Digest
		}
		tags = append(tags, PushTag{Tag: tag, Artifact: a})
	}
	popts := PushOptions{Progress: progress}
	if strings.EqualFold(src.Registry(), dst.Registry()) && src.Repository() != dst.Repository() {
		popts.MountFrom = src.Repository()
	}
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
	root, _ := v1.NewHash(tree.Digest)
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
		for _, e := range edges {
			if e.n.Tag != "" {
				continue // a cosign tag: no index lists it
			}
			if _, ok := bySubject[e.subject]; !ok {
				order = append(order, e.subject)
			}
			h, _ := v1.NewHash(e.n.Digest)
			bySubject[e.subject] = append(bySubject[e.subject], v1.Descriptor{
				MediaType: types.MediaType(e.n.MediaType), Digest: h, Size: e.n.Size,
				ArtifactType: e.n.ArtifactType, Annotations: e.n.Annotations,
			})
		}
		for _, subj := range order {
			if err := ds.addToReferrersTag(ctx, subj, bySubject[subj]); err != nil {
				return nil, err
			}
		}
	}
	if err := c.checkReferrers(ctx, dst, tree); err != nil {
		return nil, err
	}
	return out, nil
}

// addToReferrersTag adds descs to the index tagged sha256-<hex> of
// subject (the tag schema), keeping every entry it has: one PUT, none when
// it lists them all already. Another client updating the same index at
// the same time can lose an entry (the spec's tag schema has no locking);
// the read-back in CopyReferrers would then say so.
func (s *session) addToReferrersTag(ctx context.Context, subject v1.Hash, descs []v1.Descriptor) error {
	tag := strings.Replace(subject.String(), ":", "-", 1)
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	raw, mh, err := s.get(ctx, tag)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return err
	case !mh.MediaType.IsIndex():
		return fmt.Errorf("%s/%s:%s, the referrers tag of %s, holds a %s, not an index: %w", ctltransport.ShownHost(s.host), s.repo, tag, subject, mh.MediaType, ErrBadReferrers)
	default:
		if err := json.Unmarshal(raw, &idx); err != nil {
			return fmt.Errorf("%s/%s:%s: %w", ctltransport.ShownHost(s.host), s.repo, tag, err)
		}
	}
	added := false
	for _, d := range descs {
		if !slices.ContainsFunc(idx.Manifests, func(have v1.Descriptor) bool { return have.Digest == d.Digest }) {
			idx.Manifests = append(idx.Manifests, d)
			added = true
		}
	}
	if !added {
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

// checkReferrers reads dst's referrers tree back and names every referrer
// of want missing there.
func (c *Client) checkReferrers(ctx context.Context, dst reference.Reference, want *ReferrerTree) error {
	at, err := dst.WithDigest(want.Digest)
	if err != nil {
		return err
	}
	got, err := c.Referrers(ctx, at, ReferrersOptions{Platforms: len(want.Manifests) > 0})
	if err != nil {
		return fmt.Errorf("reading back the referrers of %s: %w", at, err)
	}
	have := map[string]bool{}
	got.each(func(_ v1.Hash, n Referrer) { have[n.Digest] = true })
	var missing []string
	want.each(func(_ v1.Hash, n Referrer) {
		if !have[n.Digest] {
			missing = append(missing, n.Digest)
		}
	})
	if len(missing) > 0 {
		return fmt.Errorf("%s arrived, but %d of its referrers are not listed there: %s: %w", at, len(missing), strings.Join(missing, ", "), ErrReferrersIncomplete)
	}
	return nil
}

// each calls f on every referrer of the tree, parents before what refers
// to them, with the digest of its subject: the root's referrers, then
// those of each child of an index root.
func (t *ReferrerTree) each(f func(subject v1.Hash, n Referrer)) {
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
