package syncplan

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/registry/transport"
	"github.com/ctl-dev/ctl/pkg/tagset"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ggcr "github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"
)

// Item is one tag (or untagged digest) of a plan, what the plan does with
// it and, once run, what came of it.
type Item struct {
	// Source and Destination are the references copied from and to
	// (REPO:TAG, or REPO@DIGEST for a digest of the plan).
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Tag         string `json:"tag,omitempty"`
	Action      Action `json:"action"`
	// Digest is the source's manifest digest; Current the destination's
	// ("" when it has none).
	Digest  string `json:"digest,omitempty"`
	Current string `json:"current,omitempty"`
	// Reason says why an item is refused.
	Reason string `json:"reason,omitempty"`
	// Size is what the source image or index holds (manifests, configs
	// and layers), known for a dry run's copies.
	Size int64 `json:"size,omitempty"`
	// Done is set once a copy finished; Blobs and Bytes are what it moved
	// (blobs sent or mounted, bytes sent) and Err how it failed.
	Done  bool   `json:"done,omitempty"`
	Blobs int    `json:"blobs,omitempty"`
	Bytes int64  `json:"bytes,omitempty"`
	Error string `json:"error,omitempty"`

	id        string // the tag or digest
	upstream  string // the source's digest as resolved (Digest may be a subset's)
	sel       platform.Selection
	repo      string // the destination repository path: the name in a layout
	host      string // the source's registry host
	referrers bool
	src, dst  reference.Reference
}

// Failed reports whether the item's copy failed.
func (it *Item) Failed() bool { return it.Error != "" }

// Runner plans and runs sync plans against registries.
type Runner struct {
	// Source reads the sources (mirrors allowed, except the one that is
	// the destination itself: Runner.source); Dest reads the
	// destinations, never through a mirror. Copies go through Source,
	// whose writes go to the destination's own registry.
	Source, Dest *registry.Client
	// Jobs bounds the images copied at once, PerHost those read from one
	// source host at once (0: Jobs).
	Jobs, PerHost int
	// Sizes makes Plan fill in the sizes of the images to copy (one GET
	// per manifest and config: a dry run's).
	Sizes bool
	// Warn receives what is worth saying but does not fail the plan: a
	// filter that matches nothing.
	Warn func(string)
	// Limits, fed by Source's rate-limit callback, and MinPulls hold back
	// copies from a host whose pull limit runs low; Wait waits for it
	// (telling Waiting each time) instead of stopping (see Run).
	Limits   *Limits
	MinPulls int
	Wait     bool
	Waiting  func(Hold)
	// To, if set, replaces every destination registry: images are written
	// to this OCI layout under their destination repository path. From,
	// if set, replaces every source: images are read from this layout
	// under the same names (see Layout).
	To, From *Layout
	// State, if set, remembers which destination tags were in step, so
	// that a re-sync asks the destination only for its tag list (see
	// State); Verify makes Plan ask the destination for every listed
	// tag still, refreshing State (--check).
	State  *State
	Verify bool
	// Started and Progress, if set, are told as each copy begins and as
	// its blobs move, from the copies running at once.
	Started  func(*Item)
	Progress func(*Item, registry.Event)

	warnMu sync.Mutex // Warn is called from parallel plans
}

// Plan lists and resolves every entry of p: one tag list per source
// repository, one HEAD per selected tag on the source, the destination as
// resolveDest says, and decides each tag. A source's rate limit that
// stops it (429 beyond what the transport waits out) is an ErrRateLimited.
func (r *Runner) Plan(ctx context.Context, p *Plan) ([]Item, error) {
	items, err := r.plan(ctx, p)
	var re *transport.RetryError
	if errors.As(err, &re) {
		if _, tooMany := tooManyRequests(re, re.Host); tooMany || re.Limit != nil {
			// A registry's rate limit stopped the sync, before any copy.
			return nil, fmt.Errorf("%w before the plan was made: %w", ErrRateLimited, err)
		}
	}
	return items, err
}

func (r *Runner) plan(ctx context.Context, p *Plan) ([]Item, error) {
	var items []Item
	for i := range p.Entries {
		e := &p.Entries[i]
		pairs, err := r.repositories(ctx, e)
		if err != nil {
			return nil, err
		}
		// Repositories are resolved in parallel (each costs round trips,
		// not bandwidth); their items keep the plan's order. The first is
		// resolved alone: then the client knows whether each host answers
		// without credentials, and the sessions of the others skip their
		// pings (one ping per host, not one per repository started at once).
		per := make([][]Item, len(pairs))
		if len(pairs) > 0 {
			if per[0], err = r.planRepo(ctx, e, pairs[0][0], pairs[0][1]); err != nil {
				return nil, err
			}
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(max(r.Jobs, 1))
		for j, pr := range pairs {
			if j == 0 {
				continue
			}
			g.Go(func() (err error) {
				per[j], err = r.planRepo(gctx, e, pr[0], pr[1])
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		for _, its := range per {
			items = append(items, its...)
		}
	}
	onceReferrers(items)
	return items, nil
}

// onceReferrers leaves the referrers of an image to its first copy: two
// tags of one image copied at once would write the same referrers (and,
// without the referrers API, read and rewrite the same sha256-<hex>
// index) at the same time.
func onceReferrers(items []Item) {
	seen := map[string]bool{}
	for i := range items {
		it := &items[i]
		if it.Action != Copy || !it.referrers {
			continue
		}
		k := it.dst.Name() + "@" + it.upstream
		it.referrers = !seen[k]
		seen[k] = true
	}
}

// isReferrersTag reports whether tag is one of the referrers tag schema
// or of cosign's.
func isReferrersTag(tag string) bool {
	_, _, ok := reference.ReferrerTagSubject(tag)
	return ok
}

// repositories are the (source, destination) repository pairs of e.
func (r *Runner) repositories(ctx context.Context, e *Entry) ([][2]reference.Reference, error) {
	if e.Glob == "" {
		src, err := reference.ParseRepository(e.Source)
		if err != nil {
			return nil, err
		}
		dst, err := reference.ParseRepository(e.Destination)
		if err != nil {
			return nil, err
		}
		return [][2]reference.Reference{{src, dst}}, nil
	}
	var repos []string
	var err error
	if r.From != nil {
		repos, err = r.layoutRepositories(e)
	} else {
		repos, err = r.Source.Catalog(ctx, e.Source, 0)
	}
	if err != nil {
		return nil, err
	}
	var pairs [][2]reference.Reference
	parsed := map[string][2]reference.Reference{}
	valid := func(repo string) bool {
		src, err := reference.ParseRepository(e.Source + "/" + repo)
		if err != nil || src.Repository() != repo {
			return false
		}
		dst, err := reference.ParseRepository(e.DestinationOf(repo))
		parsed[repo] = [2]reference.Reference{src, dst}
		return err == nil
	}
	var matched []string
	for _, repo := range repos {
		if ok, _ := path.Match(e.Glob, repo); ok {
			matched = append(matched, repo)
		}
	}
	for _, repo := range r.listedNames(e.Source, "repository", matched, valid) {
		pairs = append(pairs, parsed[repo])
	}
	if len(pairs) == 0 {
		r.warn("%s: no repository of %s matches %q", where(e), e.Source, e.Glob)
	}
	return pairs, nil
}

// layoutRepositories are the source repositories of a pattern entry that
// From holds: a layout names its images by their destination repository
// paths, so those under the entry's destination prefix, mapped back as
// DestinationOf maps them forth, that match the pattern.
func (r *Runner) layoutRepositories(e *Entry) ([]string, error) {
	held, err := r.From.repositories()
	if err != nil {
		return nil, err
	}
	probe, err := reference.ParseRepository(e.DestinationOf(e.globDir() + "x"))
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimSuffix(probe.Repository(), "x")
	var repos []string
	for _, repo := range held {
		rest, ok := strings.CutPrefix(repo, prefix)
		if !ok {
			continue
		}
		src := e.globDir() + rest
		if d, err := reference.ParseRepository(e.DestinationOf(src)); err == nil && d.Repository() == repo {
			repos = append(repos, src)
		}
	}
	return repos, nil
}

// planRepo plans one source repository.
func (r *Runner) planRepo(ctx context.Context, e *Entry, src, dst reference.Reference) ([]Item, error) {
	var selected []string
	needCreated := false
	q := e.Query()
	// The destination's tags are listed while the source is resolved:
	// both sides cost a round trip, not one after the other.
	dstCh := r.listDest(ctx, dst)
	var tags []string // the listed tags, each once, that are tags
	pick := func(listed []string) []string {
		tags = r.listedNames(src.String(), "tag", listed, reference.ValidTag)
		selected = e.Filter(slices.Clone(tags))
		if e.Referrers {
			// A registry without the referrers API lists its referrers
			// tags (sha256-<hex>, cosign's .sig, .att, .sbom) as tags:
			// they go with the copy of their subject, not as images of
			// their own written at the same time.
			selected = slices.DeleteFunc(selected, isReferrersTag)
		}
		if q.Newest > 0 && (r.From != nil || !q.NeedsCreated(selected)) {
			// A layout records no creation times: versions order it.
			selected = names(q.Arrange(tagsOf(selected)))
		} else if q.Newest > 0 {
			needCreated = true
		}
		return selected
	}
	var listed []string
	var srcDigests map[string]v1.Hash
	var err error
	if r.From != nil {
		if listed, _, err = r.From.resolve(dst.Repository(), nil); err == nil {
			_, srcDigests, err = r.From.resolve(dst.Repository(), append(pick(listed), e.Digests...))
		}
		if err == nil && len(listed) == 0 && len(e.Digests) == 0 {
			// Nothing carried for this entry (its filters matched nothing
			// on the other side, or the layout was written for other
			// destinations): said, as a filter that matches nothing is.
			var held string
			if held, err = r.From.held(); err == nil {
				r.warn("%s: %s holds no image of %s (it holds %s; images are read under their destination's name, as --to wrote them)", where(e), r.From, dst.Repository(), held)
			}
		}
	} else {
		listed, srcDigests, err = r.source(src, dst).ResolveTags(ctx, src, e.Digests, true, pick)
	}
	if err != nil {
		return nil, err
	}
	if needCreated {
		if selected, err = r.newestByCreated(ctx, q, src, dst, selected); err != nil {
			return nil, err
		}
	}
	if len(selected) == 0 && len(listed) > 0 {
		r.warn("%s: no tag of %s matches the filters (%d listed)", where(e), src, len(listed))
	}
	ids := append(slices.Clone(selected), e.Digests...)
	dl := <-dstCh
	if dl.err != nil {
		return nil, dl.err
	}
	dstDigests, trusted, err := r.resolveDest(ctx, e, dst, ids, srcDigests, dl.tags)
	if err != nil {
		return nil, err
	}
	var items []Item
	add := func(id string, action Action) {
		it := Item{Action: action, id: id, repo: dst.Repository(), host: src.Registry(), referrers: e.Referrers, sel: e.Select}
		sep := ":"
		if strings.Contains(id, ":") {
			sep = "@"
		} else {
			it.Tag = id
		}
		it.src, _ = reference.Parse(src.String() + sep + id)
		it.dst, _ = reference.Parse(dst.String() + sep + id)
		it.Source, it.Destination = it.src.String(), it.dst.String()
		if r.From != nil {
			it.Source = "oci:" + r.From.Path + " " + key(it.repo, id)
		}
		if r.To != nil {
			it.Destination = "oci:" + r.To.Path + " " + key(it.repo, id)
		}
		if d, ok := srcDigests[id]; ok {
			it.Digest, it.upstream = d.String(), d.String()
		}
		if d, ok := dstDigests[id]; ok {
			it.Current = d.String()
			if trusted[id] {
				// In step as last seen: with platforms, the mirror's
				// digest is the subset's, what the source's would be.
				it.Digest = it.Current
			}
		}
		if it.Action == "" {
			it.Action = Decide(it.Digest, it.Current, e.Moving)
		}
		if it.Action == Refused {
			it.Reason = "not found in the source"
		}
		items = append(items, it)
	}
	for _, id := range ids {
		add(id, "")
	}
	for _, t := range Dropped(tags, selected) {
		add(t, Filtered)
		if e.Referrers && isReferrersTag(t) {
			items[len(items)-1].Reason = "a referrers tag, copied with its subject"
		}
	}
	if !e.Select.IsZero() && !e.Select.IsAll() && r.From == nil {
		if err := r.checkSelected(ctx, e, items); err != nil {
			return nil, err
		}
	}
	if e.Referrers {
		if err := r.checkReferrers(ctx, items); err != nil {
			return nil, err
		}
	}
	for i := range items {
		if it := &items[i]; it.Action == UpToDate {
			r.remember(it, it.Current)
		} else if it.Action != Filtered && it.Tag != "" {
			r.State.forget(it.dst.Name(), it.Tag)
		}
	}
	if r.Sizes && r.From == nil {
		if err := r.sizes(ctx, src, dst, items); err != nil {
			return nil, err
		}
	}
	return items, nil
}

// checkSelected decides the tags of an entry with platforms whose
// destination differs from the source: what the destination should have
// is the source with the selection applied (an image, or a filtered index
// of another digest), which one GET of the source manifest tells.
func (r *Runner) checkSelected(ctx context.Context, e *Entry, items []Item) error {
	for i := range items {
		it := &items[i]
		if it.Current == "" || it.Digest == "" || it.Current == it.Digest || it.Action == Filtered {
			continue
		}
		var want v1.Hash
		err := r.source(it.src, it.dst).ReadArtifact(ctx, it.src, e.Select, func(a registry.Artifact) (err error) {
			want, err = a.Digest()
			return err
		})
		if err != nil {
			return err
		}
		it.Digest = want.String()
		it.Action = Decide(it.Digest, it.Current, e.Moving)
	}
	return nil
}

// checkReferrers turns an image that is up to date into a copy when the
// destination lacks some of what refers to it upstream (a signature added
// since): the copy sends only those.
func (r *Runner) checkReferrers(ctx context.Context, items []Item) error {
	for i := range items {
		it := &items[i]
		if it.Action != UpToDate {
			continue
		}
		src, err := r.referrerDigests(ctx, it, false)
		if err != nil {
			return err
		}
		dst, err := r.referrerDigests(ctx, it, true)
		if err != nil {
			return err
		}
		missing := 0
		for d := range src {
			if !dst[d] {
				missing++
			}
		}
		if missing > 0 {
			it.Action, it.Reason = Copy, fmt.Sprintf("%d referrer(s) missing", missing)
		}
	}
	return nil
}

// referrerDigests are the digests of what refers to it (with the children
// of an index) on its source, or its destination: a registry's referrers
// tree, or what the layout holds.
func (r *Runner) referrerDigests(ctx context.Context, it *Item, dest bool) (map[string]bool, error) {
	out := map[string]bool{}
	l, c, ref := r.From, r.Source, it.src
	if dest {
		l, c, ref = r.To, r.Dest, it.dst
	}
	if l != nil {
		h, err := v1.NewHash(it.Digest)
		if err != nil {
			return nil, err
		}
		refs, err := l.referrers(it.repo, h)
		for _, ref := range refs {
			if d, err := ref.Artifact.Digest(); err == nil {
				out[d.String()] = true
			}
		}
		return out, err
	}
	tree, err := c.Referrers(ctx, ref, registry.ReferrersOptions{Platforms: true})
	if err != nil {
		return nil, err
	}
	tree.Each(func(_ v1.Hash, n registry.Referrer) { out[n.Digest] = true })
	return out, nil
}

// dstList is what listDest found: the destination's tags (nil for a
// layout, which resolveDest reads directly).
type dstList struct {
	tags map[string]bool
	err  error
}

// listDest lists dst's tags (never through a mirror) in the background; a
// repository the destination does not have yet has none.
func (r *Runner) listDest(ctx context.Context, dst reference.Reference) chan dstList {
	ch := make(chan dstList, 1)
	if r.To != nil {
		ch <- dstList{}
		return ch
	}
	go func() {
		var res dstList
		listed, _, err := r.Dest.ResolveTags(ctx, dst, nil, true, func([]string) []string { return nil })
		if err != nil && !errors.Is(err, registry.ErrNotFound) {
			res.err = err
		}
		res.tags = make(map[string]bool, len(listed))
		for _, t := range listed {
			res.tags[t] = true
		}
		ch <- res
	}()
	return ch
}

// resolveDest finds the destination's digests of ids. A tag its tag list
// lacks has none; a listed tag the state knows in step with the source's
// digest (srcDigests) is taken from the state (trusted) unless Verify is
// set; the rest, and untagged digests, cost one HEAD each.
func (r *Runner) resolveDest(ctx context.Context, e *Entry, dst reference.Reference, ids []string, srcDigests map[string]v1.Hash, listed map[string]bool) (map[string]v1.Hash, map[string]bool, error) {
	if r.To != nil {
		_, digests, err := r.To.resolve(dst.Repository(), ids)
		return digests, nil, err
	}
	digests, trusted := map[string]v1.Hash{}, map[string]bool{}
	var heads []string
	for _, id := range ids {
		isTag := !strings.Contains(id, ":")
		switch {
		case isTag && !listed[id]:
		case isTag && !r.Verify && srcDigests[id] != (v1.Hash{}):
			if d := r.State.lookup(dst.Name(), id, srcDigests[id].String(), e.Select.String()); d != "" {
				if h, err := v1.NewHash(d); err == nil {
					digests[id], trusted[id] = h, true
					continue
				}
			}
			heads = append(heads, id)
		default:
			heads = append(heads, id)
		}
	}
	if len(heads) == 0 {
		return digests, trusted, nil
	}
	_, found, err := r.Dest.ResolveTags(ctx, dst, heads, false, nil)
	if err != nil {
		return nil, nil, err
	}
	for id, h := range found {
		digests[id] = h
	}
	return digests, trusted, nil
}

// source is the client reading src for the copy to dst: Source without
// the mirror that is dst itself, when one is (a sync filling a mirror
// reads the registry it mirrors, not what it writes).
func (r *Runner) source(src, dst reference.Reference) *registry.Client {
	return r.Source.WithoutMirrorAt(src, dst)
}

// remember records it (a tag) in step: the destination has dest for the
// source's digest.
func (r *Runner) remember(it *Item, dest string) {
	if it.Tag == "" || it.upstream == "" || dest == "" {
		return
	}
	r.State.set(it.dst.Name(), it.Tag, stateEntry{Source: it.upstream, Destination: dest, Platforms: it.sel.String()})
}

// newestByCreated keeps the newest of tags (not all versions) by their
// images' creation times, read with one GET per manifest and config.
func (r *Runner) newestByCreated(ctx context.Context, q tagset.Query, src, dst reference.Reference, tags []string) ([]string, error) {
	details, err := r.source(src, dst).TagDetails(ctx, src, tags, nil)
	if err != nil {
		return nil, err
	}
	ts := make([]tagset.Tag, len(details))
	for i, d := range details {
		ts[i] = tagset.Tag{Name: d.Tag, Created: d.Created}
	}
	return names(q.Arrange(ts)), nil
}

// sizes fills in the sizes of the copies among items, all of src.
func (r *Runner) sizes(ctx context.Context, src, dst reference.Reference, items []Item) error {
	var ids []string
	for _, it := range items {
		if it.Action == Copy {
			ids = append(ids, it.id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	details, err := r.source(src, dst).TagDetails(ctx, src, ids, nil)
	if err != nil {
		return err
	}
	size := map[string]int64{}
	for _, d := range details {
		size[d.Tag] = d.Size
	}
	for i := range items {
		if items[i].Action == Copy {
			items[i].Size = size[items[i].id]
		}
	}
	return nil
}

// ErrFailed: some images failed to sync (with keepGoing), or the plan
// asked for some the source does not have (refused).
var ErrFailed = errors.New("some images failed to sync")

// FailedError lists the images that failed or were refused, and Left,
// if set, those a rate limit left for later.
type FailedError struct {
	Items []Item
	Left  *RateLimitedError
}

func (e *FailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d image(s) failed to sync:", len(e.Items))
	for _, it := range e.Items {
		why := it.Error
		if why == "" {
			why = it.Reason
		}
		fmt.Fprintf(&b, "\n  %s: %s", it.Source, why)
	}
	if e.Left != nil {
		fmt.Fprintf(&b, "\nand %s", e.Left)
	}
	return b.String()
}

// failures is a *FailedError of the items that failed or were refused,
// nil when none did.
func failures(items []Item) error {
	var failed []Item
	for _, it := range items {
		if it.Failed() || it.Action == Refused {
			failed = append(failed, it)
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return &FailedError{Items: failed}
}

// Unwrap makes a FailedError an ErrFailed.
func (e *FailedError) Unwrap() error { return ErrFailed }

// Run copies the items to Copy, at most Jobs at once and PerHost from one
// source host, calling done (never concurrently) as each finishes. Without
// keepGoing the first failure stops new copies and is returned; with it,
// every copy is tried and the failures are returned as a *FailedError.
// Items refused by the plan (a digest the source does not have) fail the
// run too, once the copies are done: a *FailedError listing them.
//
// With Limits, no copy starts from a host whose pull limit is below
// MinPulls (or exhausted: a copy refused with Docker Hub's 429 is not a
// failure but left for later); copies in flight finish. Then, with Wait,
// the host is asked again (one HEAD) every poll until the limit allows
// pulls and the rest go on; without Wait, Run returns a
// *RateLimitedError listing what is left.
func (r *Runner) Run(ctx context.Context, items []Item, keepGoing bool, done func(*Item)) error {
	for {
		left, limit, err := r.round(ctx, items, keepGoing, done)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return failures(items)
		}
		if !r.Wait {
			its := make([]Item, len(left))
			for i, it := range left {
				its[i] = *it
			}
			limited := &RateLimitedError{Limit: limit, Min: r.MinPulls, Items: its}
			var fe *FailedError
			if errors.As(failures(items), &fe) {
				// Failures too (with keepGoing): waiting would not mend
				// them, so they decide the exit, saying what is left.
				fe.Left = limited
				return fe
			}
			return limited
		}
		if err := r.waitFor(ctx, left[0]); err != nil {
			return err
		}
	}
}

// waitFor waits until the pull limit of it's host allows pulls again,
// asking the host with one HEAD of it every poll.
func (r *Runner) waitFor(ctx context.Context, it *Item) error {
	for {
		rl, low := r.Limits.low(it.host, r.MinPulls)
		if !low {
			return nil
		}
		if r.Waiting != nil {
			r.Waiting(rl)
		}
		select {
		case <-time.After(pollEvery(rl)):
		case <-ctx.Done():
			return ctx.Err()
		}
		if _, _, err := r.source(it.src, it.dst).ResolveTags(ctx, it.src, []string{it.id}, false, nil); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// round tries every copy not done yet and returns those a rate limit held
// back, with the limit.
func (r *Runner) round(ctx context.Context, items []Item, keepGoing bool, done func(*Item)) ([]*Item, Hold, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := max(r.Jobs, 1)
	perHost := r.PerHost
	if perHost < 1 {
		perHost = jobs
	}
	global := make(chan struct{}, jobs)
	hosts := map[string]chan struct{}{}
	var mu sync.Mutex
	var first error
	var firstItem *Item // the item first failed: first is its error
	var left []*Item
	var limit Hold
	var wg sync.WaitGroup
	for i := range items {
		it := &items[i]
		if it.Action != Copy || it.Done {
			continue
		}
		h := hosts[it.host]
		if h == nil {
			h = make(chan struct{}, perHost)
			hosts[it.host] = h
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case h <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-h }()
			select {
			case global <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-global }()
			if ctx.Err() != nil {
				return
			}
			if rl, low := r.Limits.low(it.host, r.MinPulls); low {
				mu.Lock()
				left, limit = append(left, it), rl
				mu.Unlock()
				return
			}
			if r.Started != nil {
				r.Started(it)
			}
			err := r.copy(ctx, it)
			mu.Lock()
			defer mu.Unlock()
			var re *transport.RetryError
			if errors.As(err, &re) && re.Limit != nil && r.Limits != nil {
				r.Limits.Observe(*re.Limit)
				it.Blobs, it.Bytes = 0, 0
				left, limit = append(left, it), Hold{RateLimit: *re.Limit}
				return
			}
			if until, ok := tooManyRequests(re, it.host); ok && r.Limits != nil {
				r.Limits.refuse(it.host, until)
				it.Blobs, it.Bytes = 0, 0
				rl, _ := r.Limits.low(it.host, r.MinPulls)
				left, limit = append(left, it), rl
				return
			}
			if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
				// Cut short (by the first failure, or Ctrl-C): not
				// failed, left for the next run.
				it.Blobs, it.Bytes = 0, 0
				return
			}
			it.Done = true
			if err == nil {
				r.remember(it, it.Digest)
			}
			if err != nil {
				it.Error = err.Error()
				if first == nil {
					first, firstItem = err, it
				}
				if !keepGoing {
					cancel()
				}
			}
			done(it)
		}()
	}
	wg.Wait()
	if first != nil && !keepGoing {
		// The copies the stop cut short are left, maybe earlier in
		// items: the error names the one that failed first.
		return nil, limit, fmt.Errorf("%s: %w", firstItem.Source, first)
	}
	if err := ctx.Err(); err != nil {
		return nil, limit, err
	}
	// With keepGoing, the failures are Run's to report once nothing is
	// left: what a rate limit held back is still to be waited for.
	return left, limit, nil
}

// tooManyRequests reports whether re is the source host's 429 Too Many
// Requests, left after the transport's retries or asking to wait longer
// than it waits, and until when to hold that host: the time it asked to
// retry at, else a minute from now. The sync is then stopped by a rate
// limit (or waits, with Wait), as by Docker Hub's exhausted pull limit.
func tooManyRequests(re *transport.RetryError, host string) (time.Time, bool) {
	var te *ggcr.Error
	if re == nil || !strings.EqualFold(transport.ShownHost(re.Host), transport.ShownHost(host)) ||
		!errors.As(re.Err, &te) || te.StatusCode != http.StatusTooManyRequests {
		return time.Time{}, false
	}
	if !re.RetryAfter.IsZero() {
		return re.RetryAfter, true
	}
	return time.Now().Add(time.Minute), true
}

// copy copies one item, with its referrers when asked.
func (r *Runner) copy(ctx context.Context, it *Item) error {
	var mu sync.Mutex
	count := func(ev registry.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.Kind {
		case registry.BlobDone:
			it.Blobs++
			it.Bytes += ev.Size
		case registry.BlobMounted:
			it.Blobs++
		}
		if r.Progress != nil {
			r.Progress(it, ev)
		}
	}
	switch {
	case r.To != nil:
		err := r.Source.ReadArtifact(ctx, it.src, it.sel, func(a registry.Artifact) (err error) {
			if it.Blobs, it.Bytes, err = r.To.write(a, it.repo, it.id); err != nil {
				return err
			}
			// What was written, as a copy to a registry reports it: the
			// tag may have moved since the plan's HEAD.
			d, err := a.Digest()
			it.Digest = d.String()
			return err
		})
		if err != nil || !it.referrers {
			return err
		}
		return r.referrersToLayout(ctx, it)
	case r.From != nil:
		h, err := v1.NewHash(it.Digest)
		if err != nil {
			return err
		}
		a, err := r.From.artifact(h)
		if err != nil {
			return fmt.Errorf("reading %s: %w", it.Source, err)
		}
		tag := it.Tag
		if tag == "" {
			tag = it.id
		}
		popts := registry.PushOptions{Progress: count}
		if _, err = r.Source.Push(ctx, it.dst, []registry.PushTag{{Tag: tag, Artifact: a}}, popts); err != nil || !it.referrers {
			return err
		}
		refs, err := r.From.referrers(it.repo, h)
		if err != nil {
			return err
		}
		_, err = r.Source.PushReferrers(ctx, it.dst, h, refs, popts)
		return err
	}
	var tree *registry.ReferrerTree
	var err error
	ropts := registry.ReferrersOptions{Platforms: true}
	if it.referrers {
		if tree, err = r.Source.Referrers(ctx, it.src, ropts); err != nil {
			return err
		}
	}
	res, err := r.Source.Copy(ctx, it.src, it.dst, registry.CopyOptions{Platforms: it.sel, Progress: count})
	if err != nil {
		return err
	}
	if len(res) > 0 {
		it.Digest = res[0].Digest.String()
	}
	if tree != nil && len(res) == 1 && (it.sel.IsZero() || it.sel.IsAll()) {
		// Copied whole: the referrers of what a mirror served.
		if tree, err = r.Source.ReferrersAt(ctx, it.src, tree, res[0].Digest, ropts); err != nil {
			return err
		}
	}
	if tree != nil {
		if _, err := r.Source.CopyReferrers(ctx, it.src, it.dst, tree, count); err != nil {
			return err
		}
	}
	return nil
}

// referrersToLayout writes what refers to it on the source (with the
// children of an index) into To, beside it: a referrer naming its subject
// as REPO@DIGEST, a cosign tag under that tag, as the source has them.
func (r *Runner) referrersToLayout(ctx context.Context, it *Item) error {
	tree, err := r.Source.Referrers(ctx, it.src, registry.ReferrersOptions{Platforms: true})
	if err != nil {
		return err
	}
	var nodes []registry.Referrer
	tree.Each(func(_ v1.Hash, n registry.Referrer) { nodes = append(nodes, n) })
	for _, n := range nodes {
		ref, err := it.src.WithDigest(n.Digest)
		if err != nil {
			return err
		}
		id := n.Tag
		if id == "" {
			id = n.Digest
		}
		err = r.Source.ReadArtifact(ctx, ref, platform.Selection{}, func(a registry.Artifact) error {
			blobs, size, err := r.To.write(a, it.repo, id)
			it.Blobs, it.Bytes = it.Blobs+blobs, it.Bytes+size
			return err
		})
		if err != nil {
			return fmt.Errorf("copying the referrer %s of %s: %w", n.Digest, it.Source, err)
		}
	}
	return nil
}

// Counts summarise items.
type Counts struct {
	Copied, UpToDate, Skipped, Failed, Pending int
}

// Summarize counts what became of items.
func Summarize(items []Item) Counts {
	var c Counts
	for _, it := range items {
		switch {
		case it.Action == UpToDate:
			c.UpToDate++
		case it.Action == Filtered || it.Action == Pinned:
			c.Skipped++
		case it.Failed() || it.Action == Refused:
			c.Failed++
		case it.Done:
			c.Copied++
		default:
			c.Pending++
		}
	}
	return c
}

func (r *Runner) warn(format string, args ...any) {
	if r.Warn != nil {
		r.warnMu.Lock()
		defer r.warnMu.Unlock()
		r.Warn(fmt.Sprintf(format, args...))
	}
}

// listedNames are the names in a listing of from (its tags, or the
// repositories of its catalog) that valid accepts, each once, in order.
// A registry's listing is not trusted to hold only names a reference can
// be made of, each once: the others are left out with a warning, rather
// than planned as copies of nothing (or twice, at once).
func (r *Runner) listedNames(from, what string, names []string, valid func(string) bool) []string {
	seen := make(map[string]bool, len(names))
	kept := make([]string, 0, len(names))
	var bad []string
	for _, n := range names {
		switch {
		case seen[n]:
		case !valid(n):
			bad = append(bad, strconv.Quote(n))
		default:
			kept = append(kept, n)
		}
		seen[n] = true
	}
	if len(bad) > 0 {
		shown := strings.Join(bad[:min(len(bad), 3)], ", ")
		if len(bad) > 3 {
			shown += ", ..."
		}
		r.warn("%s lists %d invalid %s name(s), left out: %s", from, len(bad), what, shown)
	}
	return kept
}

// where names an entry for messages.
func where(e *Entry) string {
	if e.Line == 0 {
		return e.Source
	}
	return fmt.Sprintf("entry at line %d", e.Line)
}

func tagsOf(names []string) []tagset.Tag {
	ts := make([]tagset.Tag, len(names))
	for i, n := range names {
		ts[i] = tagset.Tag{Name: n}
	}
	return ts
}

func names(ts []tagset.Tag) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}
