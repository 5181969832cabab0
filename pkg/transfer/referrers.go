package transfer

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// pullReferrers stores every referrer of tree (found on ref's registry
// before the image was pulled), by digest beside ref's repository, or
// under its cosign tag, so that push --referrers can send them again.
func pullReferrers(ctx context.Context, c *registry.Client, dst registry.PullSink, ref reference.Reference, tree *registry.ReferrerTree, popts registry.PullOptions) ([]registry.PullResult, error) {
	var out []registry.PullResult
	var err error
	seen := map[string]bool{}
	tree.Each(func(_ v1.Hash, n registry.Referrer) {
		if err != nil {
			return
		}
		// By digest alone (or the cosign tag alone): a reference with
		// ref's tag too would be stored under that tag.
		at := ref.Name() + "@" + n.Digest
		if n.Tag != "" {
			at = ref.Name() + ":" + n.Tag
		}
		if seen[at] {
			return // in two places of the tree
		}
		seen[at] = true
		var r reference.Reference
		if r, err = reference.Parse(at); err != nil {
			return
		}
		var res *registry.PullResult
		if res, err = c.Pull(ctx, r, dst, popts); err == nil {
			out = append(out, *res)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("pulling the referrers of %s: %w", ref.Familiar(), err)
	}
	return out, nil
}

// localReferrers finds in the store what refers to root (and, for an
// index root, to its children), recursively: artifacts whose manifest
// names one of them as subject, and images under cosign's
// sha256-<hex>.sig/.att/.sbom tags of one of them. Digests are the same
// in every repository, so they are looked for under every name: what was
// pulled with an image from one registry goes with it to another.
func localReferrers(s *store.Store, root store.Entry) ([]registry.ReferrerPush, error) {
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	type candidate struct {
		e       store.Entry
		a       registry.Artifact
		subject v1.Hash // zero without one
		tag     string  // a cosign tag, else ""
	}
	var cands []candidate
	seen := map[string]bool{}
	for _, e := range all {
		r, ok := e.Reference()
		if !ok || e.Digest == root.Digest {
			continue
		}
		tag := r.Tag()
		cosignOf, isCosign := cosignSubject(tag)
		if !isCosign {
			tag = ""
		}
		if e.ArtifactType == "" && tag == "" || seen[e.Digest.String()+tag] {
			continue // an image, or found already
		}
		seen[e.Digest.String()+tag] = true
		a, err := Open(s, e)
		if err != nil {
			return nil, err
		}
		raw, err := a.RawManifest()
		if err != nil {
			return nil, err
		}
		var m struct {
			Subject *v1.Descriptor `json:"subject"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("reading %s: %w", e.Ref, err)
		}
		c := candidate{e: e, a: a, tag: tag}
		if m.Subject != nil {
			c.subject = m.Subject.Digest
		}
		if isCosign {
			c.subject = cosignOf
		}
		cands = append(cands, c)
	}
	inTree := map[v1.Hash]bool{root.Digest: true}
	if root.IsIndex() {
		idx, err := s.Index(root.Digest)
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		for _, c := range im.Manifests {
			inTree[c.Digest] = true
		}
	}
	var out []registry.ReferrerPush
	taken := map[int]bool{}
	for grew := true; grew; {
		grew = false
		for i, c := range cands {
			if taken[i] {
				continue
			}
			if !inTree[c.subject] {
				continue
			}
			taken[i], grew, inTree[c.e.Digest] = true, true, true
			out = append(out, registry.ReferrerPush{Subject: c.subject, Tag: c.tag, Artifact: c.a})
		}
	}
	return out, nil
}

// cosignSubject reads the subject digest out of a cosign tag,
// sha256-<hex>.sig, .att or .sbom.
func cosignSubject(tag string) (v1.Hash, bool) {
	d, suffix, ok := reference.ReferrerTagSubject(tag)
	if !ok || suffix == "" {
		return v1.Hash{}, false
	}
	h, err := v1.NewHash(d)
	return h, err == nil
}
