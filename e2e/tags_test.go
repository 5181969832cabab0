package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// releases is a repository of 60 tags across three majors, as ctl push
// --semver leaves one plus the build tags of a CI:
//   - 20 versions M.m.p (M 1-3, m 0-2, p 0-1) and 3.3.0-rc.1, 3.3.0-rc.2,
//     created a day apart in version order, the last four within ten days;
//     major 3 are two-platform indexes;
//   - 13 moving tags: M and M.m on the newest patch of their line, latest
//     on 3.2.1;
//   - 12 CI aliases, ci-VERSION-a and -b, sharing the M.m.0 releases of
//     majors 1 and 2;
//   - 15 other CI tags: ci-new (the newest image of all) and ci-o00..13,
//     months old, o00/o01 and o02/o03 sharing a manifest, o04-o07 indexes.
type releases struct {
	items    []testenv.Tagged
	versions []string          // in version order
	moving   map[string]string // moving tag -> version
	aliases  map[string]string // CI alias -> version
	others   []string          // the 15 other CI tags
}

func newReleases(now time.Time) *releases {
	rs := &releases{moving: map[string]string{}, aliases: map[string]string{}}
	for m := 1; m <= 3; m++ {
		for n := 0; n <= 2; n++ {
			for p := 0; p <= 1; p++ {
				rs.versions = append(rs.versions, fmt.Sprintf("%d.%d.%d", m, n, p))
			}
			rs.moving[fmt.Sprintf("%d.%d", m, n)] = fmt.Sprintf("%d.%d.1", m, n)
		}
		rs.moving[fmt.Sprint(m)] = fmt.Sprintf("%d.2.1", m)
	}
	rs.moving["latest"] = "3.2.1"
	rs.versions = append(rs.versions, "3.3.0-rc.1", "3.3.0-rc.2")
	for i, v := range rs.versions {
		it := testenv.Tagged{Tags: []string{v}, Created: now.Add(-time.Duration((25.5 - float64(i)) * float64(24*time.Hour)))}
		for mt, target := range rs.moving {
			if target == v {
				it.Tags = append(it.Tags, mt)
			}
		}
		if strings.HasSuffix(v, ".0") && !strings.HasPrefix(v, "3.") {
			for _, s := range []string{"a", "b"} {
				alias := "ci-" + v + "-" + s
				it.Tags = append(it.Tags, alias)
				rs.aliases[alias] = v
			}
		}
		if strings.HasPrefix(v, "3.") {
			it.Platforms = []string{"linux/amd64", "linux/arm64"}
		}
		rs.items = append(rs.items, it)
	}
	rs.items = append(rs.items, testenv.Tagged{Tags: []string{"ci-new"}, Created: now.Add(-time.Hour)})
	rs.others = append(rs.others, "ci-new")
	for i := 0; i < 14; i++ {
		tag := fmt.Sprintf("ci-o%02d", i)
		rs.others = append(rs.others, tag)
		if i == 1 || i == 3 {
			last := &rs.items[len(rs.items)-1]
			last.Tags = append(last.Tags, tag)
			continue
		}
		it := testenv.Tagged{Tags: []string{tag}, Created: now.Add(-time.Duration(100+i) * 24 * time.Hour)}
		if i >= 4 && i <= 7 {
			it.Platforms = []string{"linux/amd64", "linux/arm64/v8", "linux/s390x"}
		}
		rs.items = append(rs.items, it)
	}
	return rs
}

// all is every tag of the repository.
func (rs *releases) all() []string {
	var out []string
	for _, it := range rs.items {
		out = append(out, it.Tags...)
	}
	slices.Sort(out)
	return out
}

// keep is the set of tags a rule set keeps, from the versions, aliases and
// other tags it keeps by itself: moving tags of kept versions stay, and so
// do the versions and aliases sharing a kept manifest.
func (rs *releases) keep(versions []string, direct ...string) []string {
	kept := map[string]bool{}
	for _, v := range versions {
		kept[v] = true
	}
	for _, d := range direct {
		kept[d] = true
		if v, ok := rs.aliases[d]; ok {
			kept[v] = true
		}
	}
	for a, v := range rs.aliases {
		if kept[v] {
			kept[a] = true
		}
	}
	for mt, v := range rs.moving {
		if kept[v] {
			kept[mt] = true
		}
	}
	if kept["ci-o00"] || kept["ci-o01"] {
		kept["ci-o00"], kept["ci-o01"] = true, true
	}
	if kept["ci-o02"] || kept["ci-o03"] {
		kept["ci-o02"], kept["ci-o03"] = true, true
	}
	return slices.Sorted(maps.Keys(kept))
}

// planDoc is tags prune --format json.
type planDoc struct {
	Repository string `json:"repository"`
	Tags       []struct {
		Tag, Digest, Action, Rule, Reason string
	} `json:"tags"`
	Delete      int   `json:"delete"`
	Reclaimable int64 `json:"reclaimableBytes"`
}

func TestTagsPrune(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
	now := time.Now()
	rs := newReleases(now)
	if n := len(rs.all()); n != 60 {
		t.Fatalf("fixture has %d tags", n)
	}
	e := testenv.NewEnv(t)
	var patch1 []string
	for _, v := range rs.versions {
		if strings.HasSuffix(v, ".1") && !strings.Contains(v, "-") {
			patch1 = append(patch1, v)
		}
	}
	var ci []string
	for _, tag := range rs.all() {
		if strings.HasPrefix(tag, "ci-") {
			ci = append(ci, tag)
		}
	}
	recent := []string{"3.2.0", "3.2.1", "3.3.0-rc.1", "3.3.0-rc.2"}
	tests := []struct {
		name string
		args []string
		keep []string
		// refuseTagDelete puts a proxy in front that answers 405 to
		// DELETE of a tag, as registries that delete only by digest do.
		refuseTagDelete bool
	}{
		{name: "semver-latest", args: []string{"--keep-semver-latest"}, keep: rs.keep(patch1)},
		{name: "keep-last", args: []string{"--keep-last", "5"}, keep: rs.keep([]string{"3.3.0-rc.2", "3.3.0-rc.1", "3.2.1", "3.2.0"}, "ci-new")},
		{name: "globs", args: []string{"--keep", "ci-*", "--keep", "1.*"}, keep: rs.keep([]string{"1.0.0", "1.0.1", "1.1.0", "1.1.1", "1.2.0", "1.2.1"}, append(ci, "1.0", "1.1", "1.2")...)},
		{name: "older-than", args: []string{"--older-than", "10d"}, keep: rs.keep(recent, "ci-new")},
		{name: "semver-latest and older-than, digest deletes", args: []string{"--keep-semver-latest", "--older-than", "1w3d"}, keep: rs.keep(append(patch1, recent...), "ci-new"), refuseTagDelete: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			repo := fmt.Sprintf("rules%d/app", i)
			digests := reg.PushTagged(t, repo, rs.items, 256)
			host := reg.Host
			if tt.refuseTagDelete {
				p := testenv.NewProxy(t, reg.URL, nil)
				p.AddFault(testenv.TagDeleteRefused())
				host = p.Host
			}
			args := append([]string{"tags", "prune", "--format", "json"}, tt.args...)
			r := e.Run(t, append(args, host+"/"+repo)...)
			wantCode(t, r, 0)
			var plan planDoc
			if err := json.Unmarshal([]byte(r.Stdout), &plan); err != nil {
				t.Fatalf("plan: %v\n%s", err, r.Stdout)
			}
			var kept, deleted []string
			for _, d := range plan.Tags {
				if d.Digest != digests[d.Tag] || d.Rule == "" || d.Reason == "" {
					t.Errorf("%+v: want digest %s and a rule", d, digests[d.Tag])
				}
				if d.Action == "keep" {
					kept = append(kept, d.Tag)
				} else {
					deleted = append(deleted, d.Tag)
				}
			}
			slices.Sort(kept)
			if !slices.Equal(kept, tt.keep) || len(plan.Tags) != 60 || plan.Delete != len(deleted) {
				t.Fatalf("plan keeps %v\nwant       %v", kept, tt.keep)
			}
			if len(deleted) > 0 && plan.Reclaimable <= 0 {
				t.Errorf("plan deletes %d tags and reclaims %d bytes", len(deleted), plan.Reclaimable)
			}

			text := e.Run(t, append([]string{"tags", "prune"}, append(tt.args, host+"/"+repo)...)...)
			wantCode(t, text, 0)
			if !strings.HasPrefix(text.Stdout, "ACTION") || !strings.Contains(text.Stdout, fmt.Sprintf("%d of 60 tags to delete", len(deleted))) {
				t.Errorf("text plan:\n%s", text.Stdout)
			}
			if got := crane(t, e, reg, repo); len(got) != 60 {
				t.Fatalf("the plan deleted something: %d tags left", len(got))
			}

			r = e.Run(t, append([]string{"tags", "prune", "--force"}, append(tt.args, host+"/"+repo)...)...)
			wantCode(t, r, 0)
			if got := crane(t, e, reg, repo); !slices.Equal(got, tt.keep) {
				t.Errorf("after --force crane ls: %v\nwant %v\n%s", got, tt.keep, r.Stdout)
			}
			// No kept tag lost its manifest, nor an index its children.
			for _, tag := range tt.keep {
				desc, err := remote.Get(reg.ParseRef(t, repo+":"+tag), reg.RemoteOptions()...)
				if err != nil || desc.Digest.String() != digests[tag] {
					t.Errorf("kept %s: %v (digest %v, want %s)", tag, err, desc, digests[tag])
					continue
				}
				if desc.MediaType.IsIndex() {
					idx, err := desc.ImageIndex()
					if err != nil {
						t.Fatal(err)
					}
					im, err := idx.IndexManifest()
					if err != nil {
						t.Fatal(err)
					}
					for _, c := range im.Manifests {
						if _, err := remote.Head(reg.ParseRef(t, repo+"@"+c.Digest.String()), reg.RemoteOptions()...); err != nil {
							t.Errorf("kept %s lost child %s: %v", tag, c.Digest, err)
						}
					}
				}
			}
			if n := strings.Count(r.Stdout, "Untagged: "); n != len(deleted) {
				t.Errorf("--force reported %d untagged, want %d:\n%s", n, len(deleted), r.Stdout)
			}
			if digestDeletes := strings.Contains(r.Stdout, "Deleted: "); digestDeletes != tt.refuseTagDelete {
				t.Errorf("manifests deleted by digest: %v, want %v:\n%s", digestDeletes, tt.refuseTagDelete, r.Stdout)
			}
		})
	}
}

// TestTagsPruneDigestOnlyRequests: on a registry that deletes only by
// digest, --force checks every tag it deletes against one scan of the
// repository (one listing, one HEAD per tag, one GET per index), not one
// scan per tag: the requests grow with the tags, not with their square.
func TestTagsPruneDigestOnlyRequests(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
	e := testenv.NewEnv(t)
	const n = 20
	now := time.Now()
	items := []testenv.Tagged{
		{Tags: []string{"multi"}, Created: now.Add(-time.Hour), Platforms: []string{"linux/amd64", "linux/arm64"}},
		{Tags: []string{"newest", "newest-alias"}, Created: now},
	}
	for i := range n {
		items = append(items, testenv.Tagged{Tags: []string{fmt.Sprintf("old%02d", i)}, Created: now.Add(-time.Duration(n-i) * 24 * time.Hour)})
	}
	reg.PushTagged(t, "app", items, 64)
	digestOnly := testenv.NewProxy(t, reg.URL, nil)
	digestOnly.AddFault(testenv.TagDeleteRefused())

	r := e.Run(t, "tags", "prune", "--keep", "multi", "--keep-last", "1", "--force", digestOnly.Host+"/app")
	wantCode(t, r, 0)
	if got := crane(t, e, reg, "app"); !slices.Equal(got, []string{"multi", "newest", "newest-alias"}) {
		t.Fatalf("tags left %v\n%s", got, r.Stdout)
	}
	if strings.Count(r.Stdout, "Untagged: ") != n || strings.Count(r.Stdout, "Deleted: ") != n {
		t.Errorf("--force printed:\n%s", r.Stdout)
	}
	// The plan costs about 3 requests a tag (its HEAD, manifest and
	// config), the deletion 3 a deleted tag (the check of its digest, its
	// HEAD in the one scan, the DELETE of its manifest) and a few more (the
	// listing, the index, the probes): a scan per deleted tag would be
	// n*tags more.
	tags := countTags(items)
	if reqs := digestOnly.Requests(); len(reqs) > 7*tags {
		t.Errorf("pruning %d of %d tags sent %d requests, want at most %d: %v", n, tags, len(reqs), 7*tags, reqs)
	}
	if got := digestOnly.Count("GET", "/tags/list"); got != 2 {
		t.Errorf("%d tag listings, want 2 (the plan's and the deletion's)", got)
	}
}

// crane lists repo's tags with crane ls, sorted.
func crane(t *testing.T, e *testenv.Env, reg *testenv.Registry, repo string) []string {
	t.Helper()
	r := e.Crane(t, "ls", reg.Host+"/"+repo)
	wantCode(t, r, 0)
	tags := strings.Fields(r.Stdout)
	slices.Sort(tags)
	return tags
}

func TestTagsPruneDeletionDisabledAndEmpty(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	rs := newReleases(time.Now())
	reg.PushTagged(t, "app", rs.items[:4], 128)
	e := testenv.NewEnv(t)
	r := e.Run(t, "tags", "prune", "--keep-last", "1", reg.Host+"/app")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "DELETE") {
		t.Errorf("plan:\n%s", r.Stdout)
	}
	r = e.Run(t, "tags", "prune", "--keep-last", "1", "--force", reg.Host+"/app")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "deletion is disabled on "+reg.Host+" (run the registry with REGISTRY_STORAGE_DELETE_ENABLED=true)") || r.Stdout != "" {
		t.Errorf("--force with deletion disabled: %q %q", r.Stdout, r.Stderr)
	}
	if got := crane(t, e, reg, "app"); len(got) != countTags(rs.items[:4]) {
		t.Errorf("tags left: %v", got)
	}

	// A repository whose tags are all gone: nothing to print.
	del := testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
	del.PushRandomImage(t, "empty:v1", 1, 64)
	wantCode(t, e.Run(t, "delete", del.Host+"/empty:v1"), 0)
	for _, args := range [][]string{
		{"tags", "prune", "--keep-last", "1", del.Host + "/empty"},
		{"tags", "prune", "--keep-last", "1", "--force", del.Host + "/empty"},
		{"tags", "list", "--long", del.Host + "/empty"},
		{"tags", "list", del.Host + "/empty"},
	} {
		r := e.Run(t, args...)
		wantCode(t, r, 0)
		if r.Stdout != "" {
			t.Errorf("%v: %q", args, r.Stdout)
		}
	}
}

func countTags(items []testenv.Tagged) int {
	n := 0
	for _, it := range items {
		n += len(it.Tags)
	}
	return n
}

func TestTagsListLong(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	rs := newReleases(time.Now())
	digests := reg.PushTagged(t, "app", rs.items, 256)
	p := testenv.NewProxy(t, reg.URL, nil)
	e := testenv.NewEnv(t)
	repo := p.Host + "/app"

	r := e.Run(t, "tags", "list", "--long", "--format", "json", "-j", "8", repo)
	wantCode(t, r, 0)
	var got []struct {
		Tag, Digest, MediaType string
		Platforms, SharedWith  []string
		Size                   int64
		Created                time.Time
	}
	if err := json.Unmarshal([]byte(r.Stdout), &got); err != nil || len(got) != 60 {
		t.Fatalf("%d tags: %v\n%s", len(got), err, r.Stdout)
	}
	byTag := map[string]int{}
	for i, d := range got {
		byTag[d.Tag] = i
	}
	// Every key is in every object, as docs/versioned-tags.md lists them.
	var keys []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.Stdout), &keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		for _, key := range []string{"tag", "digest", "mediaType", "platforms", "size", "sharedWith"} {
			if _, ok := k[key]; !ok {
				t.Errorf("object %s has no %q", k["tag"], key)
			}
		}
	}
	images, indexes := 0, 0
	for _, it := range rs.items {
		if it.Platforms == nil {
			images++
		} else {
			indexes++
			images += len(it.Platforms)
		}
		for _, tag := range it.Tags {
			d := got[byTag[tag]]
			want := it.Platforms
			if want == nil {
				want = []string{"linux/amd64"}
			}
			others := slices.DeleteFunc(slices.Clone(it.Tags), func(s string) bool { return s == tag })
			slices.Sort(others)
			if d.Digest != digests[tag] || !slices.Equal(d.Platforms, want) || !d.Created.Equal(it.Created) ||
				d.Size < 256*int64(len(want)) || !slices.Equal(d.SharedWith, others) {
				t.Errorf("%s: %+v\nwant digest %s platforms %v created %s shared with %v", tag, d, digests[tag], want, it.Created, others)
			}
		}
	}
	heads, manifests, configs := p.Count("HEAD", "/manifests/"), p.Count("GET", "/manifests/"), p.Count("GET", "/blobs/")
	if heads > 60 || manifests > images+indexes || configs > images {
		t.Errorf("requests: %d HEAD, %d manifest GET, %d config GET; want at most 60, %d, %d", heads, manifests, configs, images+indexes, images)
	}

	// The same manifest among the tags listed.
	r = e.Run(t, "tags", "list", "--long", "--filter", "3.2*", "--filter", "3", "--filter", "latest", "--sort", "semver", "-r", repo)
	wantCode(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "TAG ") || !strings.Contains(lines[0], "SAME MANIFEST AS") {
		t.Fatalf("table:\n%s", r.Stdout)
	}
	row := strings.Fields(lines[4])
	if row[0] != "3.2.1" || row[1] != strings.TrimPrefix(digests["3.2.1"], "sha256:")[:12] || row[2] != "linux/amd64,linux/arm64" ||
		!strings.Contains(lines[4], "days ago") || row[len(row)-1] != "3,3.2,latest" {
		t.Errorf("row %q", lines[4])
	}

	r = e.Run(t, "tags", "list", "--long", "--platform", "linux/arm64", "--semver", "^3", "--format", "{{.Tag}} {{.Platforms}}", "--sort", "name", repo)
	wantCode(t, r, 0)
	if r.Stdout != "3.0.0 [linux/arm64]\n3.0.1 [linux/arm64]\n3.1.0 [linux/arm64]\n3.1.1 [linux/arm64]\n3.2.0 [linux/arm64]\n3.2.1 [linux/arm64]\n" {
		t.Errorf("--platform:\n%s", r.Stdout)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--semver", ">=2.1 <3", "--sort", "semver", "-r"}, "2.2.1 2.2.0 2.1.1 2.1.0"},
		{[]string{"--semver", ">=3.3.0-rc.1", "--sort", "semver"}, "3.3.0-rc.1 3.3.0-rc.2"},
		{[]string{"--newest", "3", "--sort", "created", "-r"}, "ci-new 3.3.0-rc.2 3.3.0-rc.1"},
		{[]string{"--newest", "2", "--semver", "1.x"}, "1.2.0 1.2.1"},
		{[]string{"--filter", "ci-*", "--exclude", "ci-o*", "--exclude", "ci-2*", "--sort", "name"}, "ci-1.0.0-a ci-1.0.0-b ci-1.1.0-a ci-1.1.0-b ci-1.2.0-a ci-1.2.0-b ci-new"},
	} {
		r := e.Run(t, append(append([]string{"tags", "list"}, tt.args...), repo)...)
		wantCode(t, r, 0)
		if got := strings.Join(strings.Fields(r.Stdout), " "); got != tt.want {
			t.Errorf("%v: %s, want %s", tt.args, got, tt.want)
		}
	}

	p.Reset()
	r = e.Run(t, "tags", "list", "--semver", ">=2.1 <x3", repo)
	wantCode(t, r, 2)
	if !strings.Contains(r.Stderr, "  >=2.1 <x3\n") || !strings.Contains(r.Stderr, "         ^") || len(p.Requests()) != 0 {
		t.Errorf("bad range: %q, %d requests", r.Stderr, len(p.Requests()))
	}
}

// TestTagsListLongFaults: retried answers cost nothing but time; a config
// or manifest that does not match its digest, or a registry that hangs, is
// a clear failure that prints no partial table.
func TestTagsListLongFaults(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	rs := newReleases(time.Now())
	reg.PushTagged(t, "app", rs.items[:6], 128)
	e := testenv.NewEnv(t)
	tests := []struct {
		name  string
		fault testenv.Fault
		code  int
		want  string // part of stderr
	}{
		{name: "503 then fine", fault: testenv.Fault{Method: "GET", PathRegexp: "/blobs/", Kind: testenv.FaultStatus, Status: 503, RetryAfter: "0", Times: 3}},
		{name: "reset then fine", fault: testenv.Fault{Method: "HEAD", PathRegexp: "/manifests/", Kind: testenv.FaultDropBeforeResponse, Times: 2}},
		{name: "corrupt config", fault: testenv.Fault{Method: "GET", PathRegexp: "/blobs/", Kind: testenv.FaultCorruptBody, Bytes: 10}, code: 1, want: "content has digest"},
		{name: "corrupt manifest", fault: testenv.Fault{Method: "GET", PathRegexp: "/manifests/sha256:", Kind: testenv.FaultCorruptBody, Bytes: 30}, code: 1, want: "content has digest"},
		{name: "no such repository", fault: testenv.Fault{Method: "GET", PathRegexp: "/tags/list", Kind: testenv.FaultStatus, Status: 404, Body: `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}`}, code: 3, want: "repository name not known"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := testenv.NewProxy(t, reg.URL, nil)
			p.AddFault(tt.fault)
			r := e.Run(t, "tags", "list", "--long", p.Host+"/app")
			wantCode(t, r, tt.code)
			if tt.code == 0 && strings.Count(r.Stdout, "\n") != 1+countTags(rs.items[:6]) {
				t.Errorf("table:\n%s", r.Stdout)
			}
			if tt.code != 0 && (r.Stdout != "" || !strings.Contains(r.Stderr, tt.want)) {
				t.Errorf("stdout %q, stderr %q, want %q", r.Stdout, r.Stderr, tt.want)
			}
		})
	}
}

// TestTagsPruneIndexPartsAndReferrers: the plan keeps a tag on a platform
// image of a kept index and the referrer tags of kept images, deletes those
// of deleted ones, and names the --keep glob that matched; --force on a
// registry that deletes only by digest then leaves every kept index whole.
func TestTagsPruneIndexPartsAndReferrers(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
	e := testenv.NewEnv(t)
	children := map[string][]string{}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		idx := pushIndex(t, reg, "app:"+v, types.OCIImageIndex)
		d, err := idx.Digest()
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range im.Manifests {
			children[v] = append(children[v], m.Digest.String())
		}
		e.Crane(t, "tag", reg.Ref("app@"+children[v][0]), "amd64-"+v)
		reg.PushRandomImage(t, "app:"+strings.Replace(d.String(), ":", "-", 1)+".sig", 1, 64)
	}
	sig := func(v string) string {
		d := strings.TrimSpace(e.Run(t, "digest", reg.Ref("app:"+v)).Stdout)
		return strings.Replace(d, ":", "-", 1) + ".sig"
	}
	want := map[string]string{ // tag → action and rule
		"2.0.0": "keep keep", "amd64-2.0.0": "keep index-child", sig("2.0.0"): "keep referrer",
		"1.0.0": "delete none", "amd64-1.0.0": "delete none", sig("1.0.0"): "delete referrer",
	}
	args := []string{"--keep", "x*", "--keep", "2.*"}
	r := e.Run(t, append(append([]string{"tags", "prune", "--format", "json"}, args...), reg.Ref("app"))...)
	wantCode(t, r, 0)
	var plan planDoc
	if err := json.Unmarshal([]byte(r.Stdout), &plan); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range plan.Tags {
		got[d.Tag] = d.Action + " " + d.Rule
	}
	if !maps.Equal(got, want) {
		t.Fatalf("plan %v\nwant %v", got, want)
	}
	r = e.Run(t, append(append([]string{"tags", "prune"}, args...), reg.Ref("app"))...)
	wantCode(t, r, 0)
	for _, s := range []string{"--keep: name matches 2.*\n", "index child: part of the index 2.0.0\n", "referrer: refers to 2.0.0\n", "referrer: refers to 1.0.0, which is deleted\n"} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("text plan lacks %q:\n%s", s, r.Stdout)
		}
	}

	digestOnly := testenv.NewProxy(t, reg.URL, nil)
	digestOnly.AddFault(testenv.TagDeleteRefused())
	r = e.Run(t, append(append([]string{"tags", "prune", "--force"}, args...), digestOnly.Host+"/app")...)
	wantCode(t, r, 0)
	if strings.Contains(r.Stdout, "Skipped") {
		t.Errorf("--force skipped tags:\n%s", r.Stdout)
	}
	if got := crane(t, e, reg, "app"); !slices.Equal(got, []string{"2.0.0", "amd64-2.0.0", sig("2.0.0")}) {
		t.Errorf("tags left %v\n%s", got, r.Stdout)
	}
	for _, c := range children["2.0.0"] {
		if !exists(t, reg, "app@"+c) {
			t.Errorf("kept index 2.0.0 lost %s", c)
		}
	}
}
