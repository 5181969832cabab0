package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	ctltransport "github.com/ctl-dev/ctl/pkg/registry/transport"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ReferrersScheme says how a registry told what refers to a manifest.
type ReferrersScheme string

// The two ways the OCI distribution spec (v1.1) allows.
const (
	// ReferrersAPI: GET /v2/NAME/referrers/DIGEST answered with an index.
	ReferrersAPI ReferrersScheme = "referrers-api"
	// ReferrersTagSchema: the registry has no referrers API (404), and the
	// referrers are listed by the index clients keep under the tag
	// sha256-<hex> of the subject.
	ReferrersTagSchema ReferrersScheme = "tag-schema"
)

// Discovery bounds: a real tree is a handful of signatures and SBOMs a
// level or two deep; these stop a hostile or broken registry.
const (
	maxReferrerDepth = 16
	maxReferrers     = 4096
)

// CosignTags are the tags cosign keeps for subject beside its
// sha256-<hex> (signatures, attestations, SBOMs), from before OCI 1.1
// referrers: their manifests do not name the subject, the tag does.
func CosignTags(subject v1.Hash) []string {
	base := strings.Replace(subject.String(), ":", "-", 1)
	tags := make([]string, len(reference.CosignSuffixes))
	for i, s := range reference.CosignSuffixes {
		tags[i] = base + s
	}
	return tags
}

// Referrer errors.
var (
	// ErrTooManyReferrers: discovery stopped at maxReferrers manifests or
	// maxReferrerDepth levels.
	ErrTooManyReferrers = errors.New("too many referrers")
	// ErrBadReferrers: a referrers list that is not an index, or lists a
	// manifest whose subject is another one, or loops (a manifest listed
	// among what refers to itself).
	ErrBadReferrers = errors.New("bad referrers list")
)

// Referrer is one manifest that refers to another (its subject), and
// what refers to it in turn. The JSON is shaped like `oras discover
// --format json`.
type Referrer struct {
	// Reference is HOST/REPO@DIGEST.
	Reference string `json:"reference"`
	// MediaType is the manifest's media type.
	MediaType string `json:"mediaType"`
	// Digest and Size are the manifest's.
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	// ArtifactType is the manifest's artifactType or, without one, its
	// config's media type (the distribution spec's rule), read from the
	// manifest itself rather than from the registry's list.
	ArtifactType string `json:"artifactType,omitempty"`
	// Annotations are the manifest's.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Platform is set on the children of an index subject.
	Platform string `json:"platform,omitempty"`
	// Tag is the cosign tag (sha256-<hex>.sig, .att, .sbom) a referrer
	// without a subject field was found under.
	Tag string `json:"tag,omitempty"`
	// Referrers are the manifests that refer to this one.
	Referrers []Referrer `json:"referrers"`
	// ShownAbove is set on a referrer the tree reached before, elsewhere
	// (one signature under two cosign tags, or listed by the API and
	// tagged too): it is shown in each place, but what refers to it is
	// under its first place only, walked once.
	ShownAbove bool `json:"shownAbove,omitempty"`
	// Manifests are the children of an index subject, each with its own
	// referrers (ReferrersOptions.Platforms); a child the index lists
	// again is there once.
	Manifests []Referrer `json:"manifests,omitempty"`

	subject *v1.Descriptor
}

// ReferrerTree is what refers to a manifest, recursively.
type ReferrerTree struct {
	// Referrer is the subject itself, with its referrers.
	Referrer
	// Scheme says how the registry listed them.
	Scheme ReferrersScheme `json:"scheme"`
}

// ReferrersOptions tune Referrers.
type ReferrersOptions struct {
	// ArtifactType keeps only the subject's direct referrers of that
	// artifact type (with everything that refers to them).
	ArtifactType string
	// Platforms also discovers the referrers of each child of an index.
	Platforms bool
}

// Referrers discovers what refers to r's manifest: signatures, SBOMs and
// attestations, and what refers to those in turn. It asks the referrers
// API and, when the registry has none (404), reads the sha256-<hex> tag
// schema; cosign's sha256-<hex>.sig, .att and .sbom tags are read either
// way. Every listed manifest is fetched and verified, and must name its
// parent as subject; a referrer that does not resolve is ErrNotFound.
// Discovery is bounded (maxReferrers, maxReferrerDepth) and refuses loops:
// a manifest among its own ancestors. A manifest reached again elsewhere
// is no loop: it is shown there too, ShownAbove, and walked once.
func (c *Client) Referrers(ctx context.Context, r reference.Reference, opts ReferrersOptions) (*ReferrerTree, error) {
	return c.referrers(ctx, r, opts, false)
}

// ReferrersAt returns tree, read by Referrers for r, when it is the tree
// of digest; else the tree of r@digest, read with opts. A pull or copy
// reads its tag from the first source that serves it, and a mirror may
// serve another manifest than the registry's (a stale cache), while the
// referrers are the registry's: what was read takes its own referrers,
// none when the registry lacks that manifest (nothing found there can
// refer to it).
func (c *Client) ReferrersAt(ctx context.Context, r reference.Reference, tree *ReferrerTree, digest v1.Hash, opts ReferrersOptions) (*ReferrerTree, error) {
	if tree.Digest == digest.String() {
		return tree, nil
	}
	at, err := r.WithDigest(digest.String())
	if err != nil {
		return nil, err
	}
	if _, _, err := c.WithoutMirrors().Digest(ctx, at, nil); errors.Is(err, ErrNotFound) {
		return &ReferrerTree{Referrer: Referrer{Reference: at.String(), Digest: digest.String()}}, nil
	}
	return c.Referrers(ctx, at, opts)
}

// referrers is Referrers; with skipMissing a listed referrer that does not
// exist is left out rather than an error (for deleting: it is gone
// already).
func (c *Client) referrers(ctx context.Context, r reference.Reference, opts ReferrersOptions, skipMissing bool) (*ReferrerTree, error) {
	s, ref, err := c.openRef(ctx, r, transport.PullScope)
	if err != nil {
		return nil, err
	}
	raw, mh, err := s.get(ctx, ref.Identifier())
	if err != nil {
		return nil, err
	}
	d := &discovery{s: s, artifactType: opts.ArtifactType, walked: map[string]bool{}, skipMissing: skipMissing}
	root, err := d.node(raw, mh)
	if err != nil {
		return nil, err
	}
	if root.Referrers, err = d.referrersOf(ctx, mh.Digest, 0, []string{root.Digest}); err != nil {
		return nil, err
	}
	if opts.Platforms && mh.MediaType.IsIndex() {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("parsing index %s: %w", root.Reference, err)
		}
		for _, child := range distinct(idx.Manifests) { // a child listed again has the same referrers
			n := Referrer{
				Reference: d.reference(child.Digest.String()),
				MediaType: string(child.MediaType),
				Digest:    child.Digest.String(),
				Size:      child.Size,
			}
			if child.Platform != nil {
				n.Platform = platform.String(child.Platform)
			}
			if n.Referrers, err = d.referrersOf(ctx, child.Digest, 0, []string{root.Digest, n.Digest}); err != nil {
				return nil, err
			}
			root.Manifests = append(root.Manifests, n)
		}
	}
	return &ReferrerTree{Referrer: root, Scheme: d.scheme}, nil
}

// discovery walks one repository's referrers. The scheme is settled by
// the first question and kept for the rest of the walk.
type discovery struct {
	s            *session
	artifactType string
	scheme       ReferrersScheme
	walked       map[string]bool // the referrers whose own referrers were looked for
	count        int
	skipMissing  bool // leave out listed referrers that do not exist
}

func (d *discovery) reference(digest string) string {
	return ctltransport.ShownHost(d.s.host) + "/" + d.s.repo + "@" + digest
}

// referrersOf lists, fetches and verifies what refers to subject, depth
// levels under the subject of the tree (or a child of an index subject),
// then what refers to each of those. ancestors are the digests from the
// root of the tree down to subject, its last: one of them listed again is
// a loop.
func (d *discovery) referrersOf(ctx context.Context, subject v1.Hash, depth int, ancestors []string) ([]Referrer, error) {
	if depth >= maxReferrerDepth {
		return nil, fmt.Errorf("%s: referrers nested deeper than %d levels: %w", d.reference(subject.String()), maxReferrerDepth, ErrTooManyReferrers)
	}
	listed, where, err := d.list(ctx, subject, depth == 0)
	if err != nil {
		return nil, err
	}
	out := []Referrer{}
	for _, desc := range listed {
		n, err := d.fetch(ctx, desc.Digest, fmt.Sprintf("listed as a referrer of %s %s", subject, where))
		if d.skipMissing && errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n.subject == nil || n.subject.Digest != subject {
			return nil, fmt.Errorf("%s, listed as a referrer of %s %s, does not name it as its subject: %w", n.Reference, subject, where, ErrBadReferrers)
		}
		out = append(out, n)
	}
	for _, tag := range CosignTags(subject) {
		raw, mh, err := d.s.get(ctx, tag)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		n, err := d.node(raw, mh)
		if err != nil {
			return nil, err
		}
		n.Tag = tag
		out = append(out, n)
	}
	kept := out[:0]
	for _, n := range out {
		if depth > 0 || d.artifactType == "" || n.ArtifactType == d.artifactType {
			kept = append(kept, n)
		}
	}
	for i := range kept {
		n := &kept[i]
		if err := d.claim(n.Digest, ancestors); err != nil {
			return nil, err
		}
		if d.walked[n.Digest] {
			n.ShownAbove = true
			continue
		}
		d.walked[n.Digest] = true
		h, _ := v1.NewHash(n.Digest)
		if n.Referrers, err = d.referrersOf(ctx, h, depth+1, append(slices.Clip(ancestors), n.Digest)); err != nil {
			return nil, err
		}
	}
	return kept, nil
}

// claim counts a place of a manifest in the tree, below ancestors,
// refusing one of them (a loop: content addressing rules out a real one,
// so the registry's lists or cosign tags are lying) and a tree grown past
// maxReferrers. One manifest in several places (shared by two subjects)
// is no loop.
func (d *discovery) claim(digest string, ancestors []string) error {
	if slices.Contains(ancestors, digest) {
		return fmt.Errorf("%s is listed among what refers to itself (a loop): %w", d.reference(digest), ErrBadReferrers)
	}
	d.count++
	if d.count > maxReferrers {
		return fmt.Errorf("%s: stopped after %d referrers: %w", d.reference(digest), maxReferrers, ErrTooManyReferrers)
	}
	return nil
}

// fetch GETs (and verifies) the manifest digest, named in a list; one
// that does not resolve is ErrNotFound, saying where it was listed.
func (d *discovery) fetch(ctx context.Context, digest v1.Hash, listed string) (Referrer, error) {
	raw, mh, err := d.s.get(ctx, digest.String())
	if errors.Is(err, ErrNotFound) {
		return Referrer{}, notFoundError{fmt.Errorf("%s, %s, does not exist", d.reference(digest.String()), listed)}
	}
	if err != nil {
		return Referrer{}, err
	}
	return d.node(raw, mh)
}

// node describes the manifest raw.
func (d *discovery) node(raw []byte, mh manifestHead) (Referrer, error) {
	desc, subject, err := describe(raw, mh.MediaType)
	if err != nil {
		return Referrer{}, fmt.Errorf("manifest %s: %w", d.reference(mh.Digest.String()), err)
	}
	return Referrer{
		Reference:    d.reference(mh.Digest.String()),
		MediaType:    string(mh.MediaType),
		Digest:       mh.Digest.String(),
		Size:         mh.Size,
		ArtifactType: desc.ArtifactType,
		Annotations:  desc.Annotations,
		subject:      subject,
	}, nil
}

// describe is the descriptor of the manifest raw of media type mt as a
// referrers list gives it (the spec's rule: artifactType, else the
// config's media type; the manifest's annotations), and its subject (nil
// when it has none).
func describe(raw []byte, mt types.MediaType) (v1.Descriptor, *v1.Descriptor, error) {
	var m struct {
		ArtifactType string            `json:"artifactType"`
		Annotations  map[string]string `json:"annotations"`
		Config       *v1.Descriptor    `json:"config"`
		Subject      *v1.Descriptor    `json:"subject"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return v1.Descriptor{}, nil, err
	}
	h, size, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return v1.Descriptor{}, nil, err
	}
	d := v1.Descriptor{MediaType: mt, Digest: h, Size: size, ArtifactType: m.ArtifactType, Annotations: m.Annotations}
	if d.ArtifactType == "" && m.Config != nil && !mt.IsIndex() {
		d.ArtifactType = string(m.Config.MediaType)
	}
	return d, m.Subject, nil
}

// referrersList is a referrers answer or a tag-schema index.
type referrersList struct {
	MediaType types.MediaType `json:"mediaType"`
	Manifests []v1.Descriptor `json:"manifests"`
	Layers    json.RawMessage `json:"layers"`
}

// list returns the descriptors the registry lists as referring to
// subject, and where it listed them (for messages). The first call settles
// the scheme: the API if it answers, else the tag schema. top sends the
// artifactType filter (which a registry may ignore: the caller filters
// again on what the manifests say).
func (d *discovery) list(ctx context.Context, subject v1.Hash, top bool) ([]v1.Descriptor, string, error) {
	if d.scheme != ReferrersTagSchema {
		descs, err := d.listAPI(ctx, subject, top)
		switch {
		case err == nil:
			d.scheme = ReferrersAPI
			return descs, "by the referrers API", nil
		case d.scheme == "" && errors.Is(err, errNoReferrersAPI):
			d.scheme = ReferrersTagSchema
		default:
			return nil, "", err
		}
	}
	tag := strings.Replace(subject.String(), ":", "-", 1)
	where := "in the index tagged " + tag
	raw, mh, err := d.s.get(ctx, tag)
	if errors.Is(err, ErrNotFound) {
		return nil, where, nil
	}
	if err != nil {
		return nil, "", err
	}
	if !mh.MediaType.IsIndex() {
		return nil, "", fmt.Errorf("%s/%s:%s, the referrers tag of %s, holds a %s, not an index: %w", ctltransport.ShownHost(d.s.host), d.s.repo, tag, subject, mh.MediaType, ErrBadReferrers)
	}
	var l referrersList
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, "", fmt.Errorf("%s/%s:%s: %w", ctltransport.ShownHost(d.s.host), d.s.repo, tag, err)
	}
	return l.Manifests, where, nil
}

// errNoReferrersAPI: the registry answered the referrers endpoint 404.
var errNoReferrersAPI = errors.New("no referrers API")

// listAPI asks GET /v2/NAME/referrers/DIGEST, following Link pages
// (bounded as every listing is). A 404 on the first page is
// errNoReferrersAPI; an answer that is not an image index is
// ErrBadReferrers.
func (d *discovery) listAPI(ctx context.Context, subject v1.Hash, top bool) ([]v1.Descriptor, error) {
	q := url.Values{}
	if top && d.artifactType != "" {
		q.Set("artifactType", d.artifactType)
	}
	first := d.s.url(d.s.repo+"/referrers/"+subject.String(), q.Encode())
	var descs []v1.Descriptor
	pages := 0
	err := d.s.pages(ctx, first, func(u *url.URL, resp *http.Response, b []byte) error {
		pages++
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		var l referrersList
		if err := json.Unmarshal(b, &l); err != nil || types.MediaType(ct) != types.OCIImageIndex ||
			(l.MediaType != "" && l.MediaType != types.OCIImageIndex) || l.Layers != nil {
			return fmt.Errorf("the referrers answer %s (Content-Type %q) is not an OCI image index: %w", u.Redacted(), ct, ErrBadReferrers)
		}
		descs = append(descs, l.Manifests...)
		if len(descs) > maxReferrers {
			return fmt.Errorf("the referrers of %s: more than %d listed: %w", d.reference(subject.String()), maxReferrers, ErrTooManyReferrers)
		}
		return nil
	})
	if pages == 0 && errors.Is(err, ErrNotFound) {
		return nil, errNoReferrersAPI
	}
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", d.reference(subject.String()), err)
	}
	return descs, nil
}
