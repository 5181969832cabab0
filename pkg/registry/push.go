package registry

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/ctl-dev/ctl/pkg/reference"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// ErrDigestMismatch: content did not hash to the digest it was sent or
// fetched under (a manifest the registry stored as another digest, a blob
// whose body was altered).
var ErrDigestMismatch = errors.New("digest mismatch")

// Artifact is what a tag points at: a v1.Image or a v1.ImageIndex.
type Artifact interface {
	MediaType() (types.MediaType, error)
	Digest() (v1.Hash, error)
	RawManifest() ([]byte, error)
}

// PushTag is one tag to push and the image or index it should point at.
type PushTag struct {
	Tag      string
	Artifact Artifact
	// New says the caller has never seen Tag at Artifact on the registry
	// (an image tagged locally and not pushed since): its blobs are
	// probed beside the tag's HEAD rather than after it, a round trip
	// less for a first push, a request per blob more when the tag was
	// there after all.
	New bool
}

// PushOptions tune Push.
type PushOptions struct {
	// Progress receives an event per blob (existing, mounted, bytes sent).
	Progress ProgressFunc
	// Sources names, per blob digest, repositories of the destination
	// registry that may hold it; the first is tried as a cross-repository
	// mount before uploading. A failed mount costs nothing: the registry
	// answers it with an upload session that is used instead.
	Sources map[v1.Hash][]string
	// MountFrom is a repository of the destination registry to try
	// mounting every blob from that Sources names nothing for.
	MountFrom string
	// referrersIndexed says the caller keeps the subjects' sha256-<hex>
	// indexes of what it pushes itself (PushReferrers): the push leaves
	// them alone (trackSubjects).
	referrersIndexed bool
}

// PushResult is what Push did for one tag.
type PushResult struct {
	Tag    string
	Digest v1.Hash
	Size   int64 // manifest size in bytes
	// Unchanged is true when the tag already pointed at Digest and nothing
	// was sent for it.
	Unchanged bool
}

// Push sends tags to the repository repo names (its tag and digest, if any,
// are ignored). Every blob goes up at most once, after a HEAD shows the
// registry lacks it, by a cross-repository mount when a source is known and
// otherwise in a monolithic upload (POST, then one PUT with the body);
// up to the client's jobs blobs move at once. A manifest is sent only after
// its blobs, and not at all when the tag already points at it, so a push
// interrupted before the manifest leaves the tag as it was. Results come
// back sorted by tag.
func (c *Client) Push(ctx context.Context, repo reference.Reference, tags []PushTag, opts PushOptions) ([]PushResult, error) {
	nrepo, err := c.Repo(repo)
	if err != nil {
		return nil, err
	}
	scopes := []string{nrepo.Scope("push,pull")}
	seen := map[string]bool{nrepo.RepositoryStr(): true}
	if opts.MountFrom != "" && !seen[opts.MountFrom] {
		seen[opts.MountFrom] = true
		scopes = append(scopes, nrepo.Registry.Repo(opts.MountFrom).Scope("pull"))
	}
	for _, srcs := range opts.Sources {
		if len(srcs) > 0 && !seen[srcs[0]] {
			seen[srcs[0]] = true
			scopes = append(scopes, nrepo.Registry.Repo(srcs[0]).Scope("pull"))
		}
	}
	s, err := c.transferSession(ctx, nrepo, scopes)
	if err != nil {
		return nil, err
	}
	p := &pusher{
		c: c, s: s, opts: opts, progress: serialized(opts.Progress),
		sem: make(chan struct{}, c.jobs), blobs: map[v1.Hash]*future{}, manifests: map[v1.Hash]*future{},
	}
	results, err := p.push(ctx, tags)
	// Blob work still in flight after a failure or Ctrl-C ends promptly
	// (its context is cancelled) but still gets to DELETE its upload
	// session; wait for it so the process does not exit first.
	p.inflight.Wait()
	if err != nil {
		return nil, classify(nrepo.RegistryStr(), fmt.Errorf("pushing %s: %w", repo.Name(), err))
	}
	return results, nil
}

// future is the outcome of one piece of work that several tags may wait on.
type future struct {
	done    chan struct{}
	err     error
	existed bool // the registry had it before this push
}

type pusher struct {
	c        *Client
	s        *session
	opts     PushOptions
	progress ProgressFunc
	sem      chan struct{} // bounds the blobs in flight

	mu        sync.Mutex
	blobs     map[v1.Hash]*future
	manifests map[v1.Hash]*future

	inflight sync.WaitGroup // blob and child-manifest goroutines
}

// group is the tags that point at one artifact.
type group struct {
	digest   v1.Hash
	artifact Artifact
	raw      []byte
	mt       types.MediaType
	tags     []string
	fresh    bool // every tag is New
	// subject is the manifest's subject when it has one and the
	// registry did not index it (no OCI-Subject header on its PUT): the
	// client keeps the sha256-<hex> tag schema's index then.
	subject *v1.Descriptor
}

func (p *pusher) push(ctx context.Context, tags []PushTag) ([]PushResult, error) {
	var groups []*group
	byDigest := map[v1.Hash]*group{}
	for _, t := range tags {
		d, err := t.Artifact.Digest()
		if err != nil {
			return nil, err
		}
		g := byDigest[d]
		if g == nil {
			raw, err := t.Artifact.RawManifest()
			if err != nil {
				return nil, err
			}
			mt, err := t.Artifact.MediaType()
			if err != nil {
				return nil, err
			}
			g = &group{digest: d, artifact: t.Artifact, raw: raw, mt: mt, fresh: true}
			byDigest[d] = g
			groups = append(groups, g)
		}
		g.tags = append(g.tags, t.Tag)
		g.fresh = g.fresh && t.New
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		results  []PushResult
		firstErr error
		wg       sync.WaitGroup
	)
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, err := p.pushGroup(ctx, g)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				cancel()
				return
			}
			results = append(results, rs...)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if !p.opts.referrersIndexed {
		if err := p.trackSubjects(ctx, groups); err != nil {
			return nil, err
		}
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Tag < results[j].Tag })
	return results, nil
}

// trackSubjects adds each manifest pushed with a subject the registry did
// not say it indexed to its subject's sha256-<hex> index, unless the
// registry's referrers API answers (asked once), as the distribution spec
// asks of a client and as crane, oras and regctl do: what refers to an
// image (an SBOM pushed or copied alone) is then found by the tag schema
// there. One subject's index is updated once, after every push: updates
// in parallel would lose entries.
func (p *pusher) trackSubjects(ctx context.Context, groups []*group) error {
	bySubject := map[v1.Hash][]v1.Descriptor{}
	var order []v1.Hash
	for _, g := range groups {
		if g.subject == nil {
			continue
		}
		d, _, err := describe(g.raw, g.mt)
		if err != nil {
			return err
		}
		if _, ok := bySubject[g.subject.Digest]; !ok {
			order = append(order, g.subject.Digest)
		}
		bySubject[g.subject.Digest] = append(bySubject[g.subject.Digest], d)
	}
	if len(order) == 0 {
		return nil
	}
	// A registry may index subjects without saying so (go-containerregistry's
	// does): its referrers API answering is enough. Any other answer
	// leaves the index to the client, as the spec has it without the
	// header.
	if _, err := (&discovery{s: p.s}).listAPI(ctx, order[0], false); err == nil {
		return nil
	}
	for _, subj := range order {
		if err := p.s.addToReferrersTag(ctx, subj, bySubject[subj]); err != nil {
			return err
		}
	}
	return nil
}

// pushGroup pushes one artifact and points its tags at it. The first tag is
// checked before anything else: when it already points at the artifact, the
// artifact and its blobs are in the repository and only the other tags
// need a look (one HEAD each on a repeated push).
func (p *pusher) pushGroup(ctx context.Context, g *group) ([]PushResult, error) {
	size := int64(len(g.raw))
	result := func(tag string, unchanged bool) PushResult {
		return PushResult{Tag: tag, Digest: g.digest, Size: size, Unchanged: unchanged}
	}
	// Sending the blobs (and child manifests of an index) tells whether
	// all were there already; when one was missing, the manifest cannot
	// be in the repository, so no tag needs a HEAD before its PUT.
	send := func() (bool, error) { return p.contents(ctx, g.artifact, g.mt) }
	// Tags never seen on the registry most likely need their blobs: where
	// the session sends in parallel from the start, those go out beside
	// the first tag's HEAD.
	var early *future
	if g.fresh && p.s.parallel() {
		early = p.start(send)
	}
	// Otherwise the HEAD goes first: when the tag already points at the
	// artifact (a repeated push), that one request is all.
	have, err := p.s.digestOf(ctx, g.tags[0])
	if err != nil {
		return nil, err
	}
	unchanged := have == g.digest
	check := true // whether the other tags may already point at g
	switch {
	case early != nil:
		// When the tag was there, the blobs sent early were found (and
		// reported) there too.
		check, err = wait(ctx, []*future{early})
	case unchanged:
		p.existing(g.artifact)
	default:
		check, err = send()
	}
	if err != nil {
		return nil, err
	}
	if !unchanged {
		indexed, err := p.s.putManifest(ctx, g.tags[0], g.raw, g.mt, g.digest)
		if err != nil {
			return nil, err
		}
		if !indexed {
			if _, subject, err := describe(g.raw, g.mt); err == nil {
				g.subject = subject
			}
		}
	}
	results := []PushResult{result(g.tags[0], unchanged)}
	for _, tag := range g.tags[1:] {
		if err := p.tagOnce(ctx, g, tag, check, &results, result); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// tagOnce points tag at g, after a HEAD when the tag may already be there.
func (p *pusher) tagOnce(ctx context.Context, g *group, tag string, check bool, results *[]PushResult, result func(string, bool) PushResult) error {
	if check {
		have, err := p.s.digestOf(ctx, tag)
		if err != nil {
			return err
		}
		if have == g.digest {
			*results = append(*results, result(tag, true))
			return nil
		}
	}
	if err := p.s.put(ctx, tag, g.raw, g.mt, g.digest); err != nil {
		return err
	}
	*results = append(*results, result(tag, false))
	return nil
}
