package registry

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// referrerPair is one manifest deleteReferrers deletes, with the tag it
// was found under ("" for none), and what deleting them does.
type referrerPair struct {
	tag, digest string
	acts        []DeleteAction
}

// referrerPairs finds, through s, everything that refers to r's manifest
// (for an index, to its children too), in the order to delete it, deepest
// first: each referrer by digest, after the cosign tag it was found under;
// then the sha256-<hex> index of every manifest of the tree, tag and
// manifest, so that neither an orphan tag nor an orphan manifest remains
// (clients write those indexes even where the registry has the referrers
// API, when it sends no OCI-Subject header). A listed referrer that is
// gone already is left out.
func (c *Client) referrerPairs(ctx context.Context, s *session, r reference.Reference) ([]referrerPair, error) {
	tree, err := c.referrers(ctx, r, ReferrersOptions{Platforms: true}, true)
	if err != nil {
		return nil, err
	}
	var nodes []Referrer
	tree.Each(func(_ v1.Hash, n Referrer) { nodes = append(nodes, n) })
	slices.Reverse(nodes) // what refers to a referrer comes after it
	subjects := []string{tree.Digest}
	for _, m := range tree.Manifests {
		subjects = append(subjects, m.Digest)
	}
	var pairs []referrerPair
	repo := s.host + "/" + s.repo
	for _, n := range nodes {
		if n.ShownAbove {
			// Its manifest goes at its first place in the tree, after
			// what refers to it; here only the tag it was found under.
			if n.Tag != "" {
				pairs = append(pairs, referrerPair{tag: n.Tag, acts: []DeleteAction{{Untagged: true, Ref: repo + ":" + n.Tag}}})
			}
			continue
		}
		subjects = append(subjects, n.Digest)
		p := referrerPair{tag: n.Tag, digest: n.Digest}
		if n.Tag != "" {
			p.acts = append(p.acts, DeleteAction{Untagged: true, Ref: repo + ":" + n.Tag})
		}
		p.acts = append(p.acts, DeleteAction{Ref: repo + "@" + n.Digest})
		pairs = append(pairs, p)
	}
	for _, subj := range subjects {
		tag := strings.Replace(subj, ":", "-", 1)
		mh, err := s.head(ctx, tag)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !mh.MediaType.IsIndex() {
			continue // not a referrers index: not ours to delete
		}
		pairs = append(pairs, referrerPair{tag: tag, digest: mh.Digest.String(),
			acts: []DeleteAction{{Untagged: true, Ref: repo + ":" + tag}, {Ref: repo + "@" + mh.Digest.String()}}})
	}
	return pairs, nil
}

// deletePair deletes tag (when not "") and then the manifest digest it
// points at (when not ""). The tag goes first because some registries keep
// a tag whose manifest was deleted by digest; a registry that cannot delete
// tags alone drops them with the digest.
func (s *session) deletePair(ctx context.Context, tag, digest string) error {
	if tag != "" {
		if err := s.deleteManifest(ctx, tag); err != nil && !tagDeleteRefused(err) {
			return err
		}
	}
	if digest == "" {
		return nil
	}
	if err := s.deleteManifest(ctx, digest); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// referrerDigests lists, best effort, the digests of what refers to r
// (nothing when they cannot be read): what a deletion of r by digest
// leaves orphaned.
func (c *Client) referrerDigests(ctx context.Context, r reference.Reference) []string {
	tree, err := c.Referrers(ctx, r, ReferrersOptions{Platforms: true})
	if err != nil {
		return nil
	}
	var ds []string
	tree.Each(func(_ v1.Hash, n Referrer) { ds = append(ds, n.Digest) })
	return ds
}
