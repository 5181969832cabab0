package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// syncPair is a source and a destination registry, each behind a counting
// proxy, and an environment to run ctl in.
type syncPair struct {
	src, dst   *testenv.Registry
	sp, dp     *testenv.Proxy
	e          *testenv.Env
	srcDigests map[string]string
}

func newSyncPair(t *testing.T) *syncPair {
	t.Helper()
	p := &syncPair{
		src: testenv.StartRegistry(t, testenv.RegistryOptions{}),
		dst: testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true}),
		e:   testenv.NewEnv(t),
	}
	p.sp = testenv.NewProxy(t, p.src.URL, nil)
	p.dp = testenv.NewProxy(t, p.dst.URL, nil)
	p.srcDigests = p.src.PushTagged(t, "app", []testenv.Tagged{
		{Tags: []string{"1.0.0"}},
		{Tags: []string{"1.1.0"}},
		{Tags: []string{"2.0.0"}},
		{Tags: []string{"2.1.0", "latest"}, Platforms: []string{"linux/amd64", "linux/arm64"}},
		{Tags: []string{"dev"}},
	}, 2048)
	p.src.PushTagged(t, "tools", []testenv.Tagged{{Tags: []string{"edge"}}}, 1024)
	return p
}

// plan writes a plan file, SRC and DST standing for the proxies' hosts,
// and returns its path.
func (p *syncPair) plan(t *testing.T, body string) string {
	t.Helper()
	return writePlan(t, strings.NewReplacer("SRC", p.sp.Host, "DST", p.dp.Host).Replace(body))
}

// writePlan writes a plan file and returns its path.
func writePlan(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// digest is what the destination's tag points at, read from the registry
// behind the proxy (not counted).
func (p *syncPair) digest(t *testing.T, reg *testenv.Registry, ref string) string {
	t.Helper()
	res := p.e.Crane(t, "digest", reg.Ref(ref))
	if res.Code != 0 {
		return ""
	}
	return strings.TrimSpace(res.Stdout)
}

const appPlan = `sync:
  - source: SRC/app
    destination: DST/mirror/app
    semver: ">=1.1"
    exclude: ["2.0.*"]
  - source: SRC/tools
    destination: DST/mirror/tools
    tags: [stable]
`

// TestSyncPlan: a plan copies exactly the tags its filters keep, digests
// kept; a filter matching nothing is a warning; a second run sends only
// HEADs (one per tag on each side) and one tag list per source repository
// and writes nothing.
func TestSyncPlan(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	plan := p.plan(t, appPlan)

	res := p.e.Run(t, "sync", plan)
	if res.Code != 0 {
		t.Fatalf("sync: exit %d: %s", res.Code, res.Stderr)
	}
	lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
	sort.Strings(lines)
	if len(lines) != 2 {
		t.Fatalf("want one line per image moved (1.1.0, 2.1.0), got:\n%s", res.Stdout)
	}
	for i, tag := range []string{"1.1.0", "2.1.0"} {
		want := fmt.Sprintf("%s/app:%s -> %s/mirror/app:%s: digest %s (", p.sp.Host, tag, p.dp.Host, tag, p.srcDigests[tag])
		if !strings.HasPrefix(lines[i], want) || !strings.Contains(lines[i], " blobs, ") {
			t.Errorf("line %q, want %q...(N blobs, M bytes)", lines[i], want)
		}
		if got := p.digest(t, p.dst, "mirror/app:"+tag); got != p.srcDigests[tag] {
			t.Errorf("mirror/app:%s is %q, want the source's %s", tag, got, p.srcDigests[tag])
		}
	}
	for _, tag := range []string{"1.0.0", "2.0.0", "latest", "dev"} {
		if got := p.digest(t, p.dst, "mirror/app:"+tag); got != "" {
			t.Errorf("filtered tag %s was copied (%s)", tag, got)
		}
	}
	if !strings.Contains(res.Stderr, "Warning: entry at line 6: no tag of "+p.sp.Host+"/tools matches the filters (1 listed)") {
		t.Errorf("no warning for the filter matching nothing: %s", res.Stderr)
	}
	if !strings.Contains(res.Stderr, "Synced: 2 copied, 0 up to date, 5 skipped, 0 failed") {
		t.Errorf("summary: %s", res.Stderr)
	}

	p.sp.Reset()
	p.dp.Reset()
	res = p.e.Run(t, "sync", plan)
	if res.Code != 0 || res.Stdout != "" {
		t.Fatalf("second sync: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "Synced: 0 copied, 2 up to date, 5 skipped, 0 failed") {
		t.Errorf("second summary: %s", res.Stderr)
	}
	assertNoopRequests(t, p, 2, 2)
}

// assertNoopRequests checks what a no-op re-sync of repos repositories
// and tags selected tags sent: one tag list per repository on each side,
// one HEAD per tag on the source and none on the destination (its tags
// were seen in step by the previous run), besides the source's catalog
// for a pattern entry and the pings (GET /v2/): at most one on the source
// and one on the destination. A session pings beside its first request
// only until the registry has answered one without credentials (then not
// at all, in later runs too), and the first repository is resolved before
// the others start. Nothing else, and no write anywhere.
func assertNoopRequests(t *testing.T, p *syncPair, repos, tags int) {
	t.Helper()
	for _, c := range []struct {
		px                  *testenv.Proxy
		side                string
		lists, heads, pings int
	}{{p.sp, "source", repos, tags, 1}, {p.dp, "destination", repos, 0, 1}} {
		if n := c.px.Count("GET", `/tags/list$`); n != c.lists {
			t.Errorf("%s tag lists: %d, want %d", c.side, n, c.lists)
		}
		if n := c.px.Count("HEAD", `/manifests/`); n != c.heads {
			t.Errorf("%s manifest HEADs: %d, want %d", c.side, n, c.heads)
		}
		pings := 0
		for _, r := range c.px.Requests() {
			isList := r.Method == "GET" && (strings.HasSuffix(r.Path, "/tags/list") || c.side == "source" && r.Path == "/v2/_catalog")
			switch {
			case r.Method == "GET" && r.Path == "/v2/":
				pings++
			case r.Method != "HEAD" && !isList:
				t.Errorf("no-op re-sync sent %s %s to the %s", r.Method, r.Path, c.side)
			}
		}
		if pings > c.pings {
			t.Errorf("%s pings: %d for %d repositories, want at most %d", c.side, pings, repos, c.pings)
		}
	}
	t.Logf("no-op re-sync of %d tags: %d requests to the source, %d to the destination (pings included)", tags, len(p.sp.Requests()), len(p.dp.Requests()))
}

// TestSyncNoopRequestCount: the bound, at the proxies: a re-sync
// with nothing new upstream of 3 repositories × 6 tags sends one HEAD per
// tag and one tag list per repository on each side (and a ping per
// registry).
func TestSyncNoopRequestCount(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	for _, repo := range []string{"r0", "r1", "r2"} {
		var tagged []testenv.Tagged
		for i := range 6 {
			tagged = append(tagged, testenv.Tagged{Tags: []string{fmt.Sprintf("v%d", i)}})
		}
		p.src.PushTagged(t, repo, tagged, 512)
	}
	plan := p.plan(t, "sync:\n  - source: SRC/r*\n    destination: DST/m\n")
	if res := p.e.Run(t, "sync", plan); res.Code != 0 || strings.Count(res.Stdout, "\n") != 18 {
		t.Fatalf("first sync: exit %d: %s%s", res.Code, res.Stdout, res.Stderr)
	}
	p.sp.Reset()
	p.dp.Reset()
	res := p.e.Run(t, "sync", plan)
	if res.Code != 0 || res.Stdout != "" || !strings.Contains(res.Stderr, "Synced: 0 copied, 18 up to date") {
		t.Fatalf("re-sync: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	// The pattern entry lists the source's catalog once as well.
	if n := p.sp.Count("GET", `/_catalog$`); n != 1 {
		t.Errorf("catalog listings: %d, want 1", n)
	}
	assertNoopRequests(t, p, 3, 18)
	p.sp.Reset()
	p.dp.Reset()
	if res := p.e.Run(t, "sync", p.sp.Host+"/r1", p.dp.Host+"/m/r1"); res.Code != 0 || res.Stdout != "" {
		t.Fatalf("one-line re-sync: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	assertNoopRequests(t, p, 1, 6)
	// Both registries have answered ctl without credentials by now: it
	// knows them open and pings neither, so the re-sync is the issue's
	// bound exactly: a HEAD per tag and a tag list per repository.
	if src, dst := len(p.sp.Requests()), len(p.dp.Requests()); src != 6+1 || dst != 1 {
		t.Errorf("one-line re-sync: %d requests to the source (%v), %d to the destination (%v); want 7 and 1",
			src, p.sp.Requests(), dst, p.dp.Requests())
	}
}

// TestSyncMirrorChangedBehindItsBack: what ctl remembers of the mirror
// never hides a change made there by others where sync looks: a tag
// deleted on the mirror is copied again by the next sync (the destination's
// tag list shows it gone); a tag overwritten on the mirror is drift for
// --check, which asks the destination for every tag, and the sync after
// it puts the source's image back. A lost state only costs HEADs.
func TestSyncMirrorChangedBehindItsBack(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	plan := p.plan(t, appPlan)
	if res := p.e.Run(t, "sync", plan); res.Code != 0 {
		t.Fatalf("sync: %s", res.Stderr)
	}
	if res := p.e.Crane(t, "delete", p.dst.Ref("mirror/app@"+p.srcDigests["1.1.0"])); res.Code != 0 {
		t.Fatalf("crane delete: %s", res.Stderr)
	}
	res := p.e.Run(t, "sync", plan)
	if res.Code != 0 || !strings.Contains(res.Stdout, "/mirror/app:1.1.0: digest "+p.srcDigests["1.1.0"]) {
		t.Fatalf("sync after a delete on the mirror: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if got := p.digest(t, p.dst, "mirror/app:1.1.0"); got != p.srcDigests["1.1.0"] {
		t.Errorf("mirror/app:1.1.0 is %q after the re-sync, want %s", got, p.srcDigests["1.1.0"])
	}

	// Someone pushes another image under the mirror's tag.
	if res := p.e.Crane(t, "copy", p.src.Ref("app:dev"), p.dst.Ref("mirror/app:2.1.0")); res.Code != 0 {
		t.Fatalf("crane copy: %s", res.Stderr)
	}
	p.dp.Reset()
	res = p.e.Run(t, "sync", "--check", plan)
	if res.Code != 1 || !strings.Contains(res.Stdout, "copy "+p.sp.Host+"/app:2.1.0 ") {
		t.Errorf("check after an overwrite on the mirror: exit %d, want 1: %s%s", res.Code, res.Stdout, res.Stderr)
	}
	if n := p.dp.Count("HEAD", `/manifests/`); n != 2 {
		t.Errorf("--check sent %d HEADs to the destination, want one per tag (2)", n)
	}
	if res := p.e.Run(t, "sync", plan); res.Code != 0 || !strings.Contains(res.Stdout, "/mirror/app:2.1.0: digest "+p.srcDigests["2.1.0"]) {
		t.Errorf("sync after the check: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if got := p.digest(t, p.dst, "mirror/app:2.1.0"); got != p.srcDigests["2.1.0"] {
		t.Errorf("mirror/app:2.1.0 is %q, want the source's %s", got, p.srcDigests["2.1.0"])
	}

	// Without the state every listed tag is asked again, and nothing moves.
	if err := os.RemoveAll(filepath.Join(p.e.Home, ".cache", "ctl", "sync")); err != nil {
		t.Fatal(err)
	}
	p.dp.Reset()
	if res := p.e.Run(t, "sync", plan); res.Code != 0 || res.Stdout != "" {
		t.Errorf("sync without state: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if n := p.dp.Count("HEAD", `/manifests/`); n != 2 {
		t.Errorf("sync without state sent %d HEADs to the destination, want 2", n)
	}
}

// TestSyncDryRunCheck: --dry-run prints the plan with sizes (text and
// JSON) and copies nothing; --check fails (exit 1) while the mirror lacks
// a tag and passes once it is in step.
func TestSyncDryRunCheck(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	plan := p.plan(t, appPlan)

	res := p.e.Run(t, "sync", "--dry-run", plan)
	if res.Code != 0 {
		t.Fatalf("dry run: exit %d: %s", res.Code, res.Stderr)
	}
	for _, want := range []string{
		"copy " + p.sp.Host + "/app:1.1.0 -> " + p.dp.Host + "/mirror/app:1.1.0 (",
		"skip (filtered) " + p.sp.Host + "/app:dev -> " + p.dp.Host + "/mirror/app:dev",
		"skip (filtered) " + p.sp.Host + "/tools:edge -> " + p.dp.Host + "/mirror/tools:edge",
	} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("dry run lacks %q:\n%s", want, res.Stdout)
		}
	}
	if !strings.Contains(res.Stdout, "B)") {
		t.Errorf("dry run shows no sizes:\n%s", res.Stdout)
	}
	if got := p.digest(t, p.dst, "mirror/app:1.1.0"); got != "" {
		t.Errorf("dry run copied 1.1.0")
	}
	res = p.e.Run(t, "sync", "--dry-run", "--format", "json", plan)
	var items []struct {
		Source, Action, Digest string
		Size                   int64
	}
	if err := json.Unmarshal([]byte(res.Stdout), &items); err != nil || res.Code != 0 {
		t.Fatalf("dry run json: exit %d, %v: %s", res.Code, err, res.Stdout)
	}
	copies := 0
	for _, it := range items {
		if it.Action == "copy" {
			copies++
			if it.Size <= 0 || it.Digest == "" {
				t.Errorf("copy item without size or digest: %+v", it)
			}
		}
	}
	if copies != 2 || len(items) != 7 {
		t.Errorf("json plan: %d copies of %d items, want 2 of 7: %s", copies, len(items), res.Stdout)
	}

	if res := p.e.Run(t, "sync", "--check", plan); res.Code != 1 || !strings.Contains(res.Stderr, "lacks") {
		t.Errorf("check before sync: exit %d, want 1: %s", res.Code, res.Stderr)
	}
	if res := p.e.Run(t, "sync", plan); res.Code != 0 {
		t.Fatalf("sync: %s", res.Stderr)
	}
	if res := p.e.Run(t, "sync", "--check", plan); res.Code != 0 {
		t.Errorf("check after sync: exit %d: %s", res.Code, res.Stderr)
	}
}

// TestSyncMoving: with --moving=false the mirror keeps its first copy of
// a tag that moved upstream; by default the tag moves on the mirror too.
func TestSyncMoving(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	src, pinned, moving := p.sp.Host+"/app", p.dp.Host+"/pinned", p.dp.Host+"/moving"
	for _, dst := range []string{pinned, moving} {
		if res := p.e.Run(t, "sync", src, dst, "--tags", "dev"); res.Code != 0 {
			t.Fatalf("first sync: %s", res.Stderr)
		}
	}
	moved := p.src.PushTagged(t, "app", []testenv.Tagged{{Tags: []string{"dev"}}}, 2048)["dev"]

	res := p.e.Run(t, "sync", "--dry-run", src, pinned, "--tags", "dev", "--moving=false")
	if !strings.Contains(res.Stdout, "skip (pinned) "+src+":dev") {
		t.Errorf("dry run with --moving=false: %s", res.Stdout)
	}
	if res := p.e.Run(t, "sync", src, pinned, "--tags", "dev", "--moving=false"); res.Code != 0 || res.Stdout != "" {
		t.Errorf("pinned sync: exit %d, stdout %q", res.Code, res.Stdout)
	}
	if got := p.digest(t, p.dst, "pinned:dev"); got != p.srcDigests["dev"] {
		t.Errorf("pinned:dev is %s, want the first copy %s", got, p.srcDigests["dev"])
	}
	if res := p.e.Run(t, "sync", src, moving, "--tags", "dev"); res.Code != 0 || !strings.Contains(res.Stdout, moved) {
		t.Errorf("moving sync: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if got := p.digest(t, p.dst, "moving:dev"); got != moved {
		t.Errorf("moving:dev is %s, want the moved %s", got, moved)
	}
}

// TestSyncKeepGoing: a destination that refuses one image fails that
// image with the registry's reason; --keep-going copies the rest and exits
// 1 listing the failure; without it the sync stops at exit 1.
func TestSyncKeepGoing(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	p.dp.AddFault(testenv.Fault{Method: "PUT", PathRegexp: `/manifests/1\.1\.0$`, Kind: testenv.FaultStatus, Status: 403,
		Body: `{"errors":[{"code":"DENIED","message":"quota exceeded"}]}`})
	plan := p.plan(t, appPlan)
	res := p.e.Run(t, "sync", "--keep-going", plan)
	if res.Code != 1 {
		t.Fatalf("keep-going: exit %d, want 1: %s", res.Code, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "1 image(s) failed to sync:") || !strings.Contains(res.Stderr, p.sp.Host+"/app:1.1.0: ") ||
		!strings.Contains(res.Stderr, "quota exceeded") {
		t.Errorf("keep-going does not list the failure with its reason: %s", res.Stderr)
	}
	if got := p.digest(t, p.dst, "mirror/app:2.1.0"); got != p.srcDigests["2.1.0"] {
		t.Errorf("keep-going did not copy 2.1.0: %q", got)
	}
	if !strings.Contains(res.Stderr, "1 copied, 0 up to date, 5 skipped, 1 failed") {
		t.Errorf("summary: %s", res.Stderr)
	}
}

// TestSyncFailFastNamesTheFailure: without --keep-going the first failure
// stops the sync, and its message names the image that failed, not
// another one the stop cut short (here 1.1.0, listed first, whose
// manifest PUT hangs until the sync stops), which the summary counts as
// left, not failed.
func TestSyncFailFastNamesTheFailure(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	p.dp.AddFault(testenv.Fault{Method: "PUT", PathRegexp: `/manifests/1\.1\.0$`, Kind: testenv.FaultHang})
	p.dp.AddFault(testenv.Fault{Method: "PUT", PathRegexp: `/manifests/2\.1\.0$`, Kind: testenv.FaultStatus, Status: 400,
		Body: `{"errors":[{"code":"MANIFEST_INVALID","message":"refused by policy"}]}`})
	res := p.e.Run(t, "sync", p.plan(t, appPlan))
	if res.Code != 1 {
		t.Fatalf("sync: exit %d, want 1: %s", res.Code, res.Stderr)
	}
	var errLine string
	for _, l := range strings.Split(res.Stderr, "\n") {
		if strings.Contains(l, "refused by policy") {
			errLine = l
		}
	}
	if want := p.sp.Host + "/app:2.1.0: "; !strings.Contains(errLine, want) || strings.Contains(errLine, "app:1.1.0") {
		t.Errorf("the failure is not labelled with the image that failed (want %q): %q\n%s", want, errLine, res.Stderr)
	}
	// The copy the stop cut short did not fail: it is left for the next run.
	if !strings.Contains(res.Stderr, "Synced: 0 copied, 0 up to date, 5 skipped, 1 failed, 1 left") {
		t.Errorf("the summary counts the copy the stop cut short as failed:\n%s", res.Stderr)
	}
}

// TestSyncBadPlan: a plan naming an unknown key, or with a bad value, is
// exit 2 with FILE:LINE, the line of the value at fault, and its key;
// referrers of a platform subset are refused as not yet.
func TestSyncBadPlan(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	for _, tc := range []struct{ body, want string }{
		{"sync:\n  - source: r.example/a\n    destination: m.example/a\n    tagz: [x]\n", `plan.yaml:4: unknown key "tagz" (an entry takes source, destination, tags, `},
		{"sync:\n  - source: r.example/a\n    destination: m.example/a\n  - source: r.example/b\n    destination: m.example/b\n    semver: banana\n", "plan.yaml:6: semver: invalid semver range"},
		{"sync:\n  - source: r.example/a\n    destination: m.example/a\n    platforms: [linux/amd64]\n    referrers: true\n", "plan.yaml:5: referrers: not supported yet with a platform subset (a new manifest)"},
		{"sync: [\n", "plan.yaml:1: "},
		{"sync:\n  - source: r.example/a\n    destination: m.example/a\n    newest: 2.5\n", "plan.yaml:4: newest: must be a positive integer, got 2.5"},
		{"sync:\n  - source: r.example/a\n    destination: m.example/a\n    newest: 0\n", "newest: must be a positive integer, got 0"},
	} {
		res := e.Run(t, "sync", writePlan(t, tc.body))
		if res.Code != 2 || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("plan %q: exit %d, stderr %q; want 2 and %q", tc.body, res.Code, res.Stderr, tc.want)
		}
	}
}

// TestSyncAirGap: a plan synced --to an OCI layout on the connected side
// and --from it on the other gives the destination the source's digests;
// each side run again moves nothing.
func TestSyncAirGap(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	plan := p.plan(t, appPlan)
	usb := "oci:" + filepath.Join(t.TempDir(), "usb")

	res := p.e.Run(t, "sync", plan, "--to", usb)
	if res.Code != 0 || strings.Count(res.Stdout, "\n") != 2 {
		t.Fatalf("sync --to: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if res := p.e.Run(t, "sync", plan, "--to", usb); res.Code != 0 || res.Stdout != "" {
		t.Errorf("second sync --to: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if n := p.dp.Count("", ""); n != 0 {
		t.Errorf("sync --to sent %d requests to the destination registry", n)
	}
	p.sp.Reset()
	res = p.e.Run(t, "sync", "--from", usb, plan)
	if res.Code != 0 || strings.Count(res.Stdout, "\n") != 2 {
		t.Fatalf("sync --from: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if n := p.sp.Count("", ""); n != 0 {
		t.Errorf("sync --from sent %d requests to the source registry", n)
	}
	for _, tag := range []string{"1.1.0", "2.1.0"} {
		if got := p.digest(t, p.dst, "mirror/app:"+tag); got != p.srcDigests[tag] {
			t.Errorf("mirror/app:%s is %q after the air gap, want the source's %s", tag, got, p.srcDigests[tag])
		}
	}
	if res := p.e.Run(t, "sync", "--from", usb, plan); res.Code != 0 || res.Stdout != "" {
		t.Errorf("second sync --from: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if res := p.e.Run(t, "sync", "--check", plan); res.Code != 0 {
		t.Errorf("check against the source after the air gap: exit %d: %s", res.Code, res.Stdout)
	}
}

// TestSyncAirGapPattern: a plan entry with a repository pattern serves
// both sides of the gap: --to lists the source's catalog, --from the
// repositories the layout holds under the entry's destination prefix, and
// each lands where the same plan puts it without a gap.
func TestSyncAirGapPattern(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	plan := p.plan(t, "sync:\n  - source: SRC/*\n    destination: DST/mirror\n    tags: [1.1.0, edge]\n  - source: SRC/nothing-*\n    destination: DST/none\n")
	usb := "oci:" + filepath.Join(t.TempDir(), "usb")
	if res := p.e.Run(t, "sync", plan, "--to", usb); res.Code != 0 || strings.Count(res.Stdout, "\n") != 2 {
		t.Fatalf("sync --to: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	p.sp.Reset()
	res := p.e.Run(t, "sync", "--from", usb, plan)
	if res.Code != 0 || strings.Count(res.Stdout, "\n") != 2 {
		t.Fatalf("sync --from: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "Warning: entry at line 5: no repository of "+p.sp.Host+` matches "nothing-*"`) {
		t.Errorf("no warning for the pattern the layout has nothing of: %s", res.Stderr)
	}
	if n := p.sp.Count("", ""); n != 0 {
		t.Errorf("sync --from sent %d requests to the source registry", n)
	}
	for mirror, source := range map[string]string{"mirror/app:1.1.0": "app:1.1.0", "mirror/tools:edge": "tools:edge"} {
		if got, want := p.digest(t, p.dst, mirror), p.digest(t, p.src, source); got == "" || got != want {
			t.Errorf("%s is %q after the air gap, want the source's %s", mirror, got, want)
		}
	}
	if res := p.e.Run(t, "sync", "--check", plan); res.Code != 0 {
		t.Errorf("check against the source after the air gap: exit %d: %s", res.Code, res.Stdout)
	}
}

// TestSyncAirGapArchive: oci:PATH naming a tar is an OCI archive: --to
// writes it (a tar skopeo's oci-archive: reads with the same digests as
// the layout directory of the same plan holds), a re-sync leaves it as it
// is, and --from reads it (gzip'd as well) into the destination with the
// source's digests. A sync that fails part way still writes what it
// copied into the archive; a file that is no archive is refused (exit 2).
func TestSyncAirGapArchive(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	plan := p.plan(t, appPlan)
	dir := t.TempDir()
	usb := filepath.Join(dir, "usb.tar")

	res := p.e.Run(t, "sync", plan, "--to", "oci:"+usb)
	if res.Code != 0 || strings.Count(res.Stdout, "\n") != 2 || !strings.Contains(res.Stdout, " -> oci:"+usb+" mirror/app:1.1.0: digest ") {
		t.Fatalf("sync --to an archive: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if fi, err := os.Stat(usb); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("no archive written: %v", err)
	}
	before, err := os.ReadFile(usb)
	if err != nil {
		t.Fatal(err)
	}
	if res := p.e.Run(t, "sync", plan, "--to", "oci:"+usb); res.Code != 0 || res.Stdout != "" {
		t.Errorf("second sync --to the archive: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if after, _ := os.ReadFile(usb); string(after) != string(before) {
		t.Errorf("a re-sync with nothing new rewrote the archive")
	}
	if res := p.e.Run(t, "sync", plan, "--to", "oci:"+filepath.Join(dir, "layout")); res.Code != 0 {
		t.Fatalf("sync --to a directory: %s", res.Stderr)
	}
	// skopeo reads the archive (and the directory) under the same names,
	// with the source's digests.
	skopeo := testenv.SystemBinary(t, "skopeo")
	for _, tag := range []string{"1.1.0", "2.1.0"} {
		for _, ref := range []string{"oci-archive:" + usb + ":mirror/app:" + tag, "oci:" + filepath.Join(dir, "layout") + ":mirror/app:" + tag} {
			res := p.e.Exec(t, skopeo, "", testenv.RunTimeout, "inspect", "--raw", ref)
			if res.Code != 0 {
				t.Fatalf("skopeo inspect %s: %s", ref, res.Stderr)
			}
			if got := manifestDigest(res.Stdout); got != p.srcDigests[tag] {
				t.Errorf("%s holds %s, want the source's %s", ref, got, p.srcDigests[tag])
			}
		}
	}

	gz := filepath.Join(dir, "usb.tar.gz")
	if res := p.e.Exec(t, "sh", "", testenv.RunTimeout, "-c", `gzip -c "$1" > "$2"`, "sh", usb, gz); res.Code != 0 {
		t.Fatalf("gzip: %s", res.Stderr)
	}
	p.sp.Reset()
	for i, archive := range []string{gz, usb} {
		res := p.e.Run(t, "sync", "--from", "oci:"+archive, plan)
		if want := []int{2, 0}[i]; res.Code != 0 || strings.Count(res.Stdout, "\n") != want {
			t.Fatalf("sync --from %s: exit %d, stdout %q, want %d lines: %s", archive, res.Code, res.Stdout, want, res.Stderr)
		}
	}
	if n := p.sp.Count("", ""); n != 0 {
		t.Errorf("sync --from an archive sent %d requests to the source registry", n)
	}
	for _, tag := range []string{"1.1.0", "2.1.0"} {
		if got := p.digest(t, p.dst, "mirror/app:"+tag); got != p.srcDigests[tag] {
			t.Errorf("mirror/app:%s is %q after the archive, want the source's %s", tag, got, p.srcDigests[tag])
		}
	}
	if res := p.e.Run(t, "sync", "--check", plan); res.Code != 0 {
		t.Errorf("check against the source after the archive: exit %d: %s", res.Code, res.Stdout)
	}
	// A sync to an archive that fails part way still writes what it
	// copied: the next run copies only the rest.
	partial := filepath.Join(dir, "partial.tar")
	p.sp.AddFault(testenv.Fault{Method: "GET", PathRegexp: `/manifests/1\.1\.0$`, Kind: testenv.FaultStatus, Status: 403,
		Body: `{"errors":[{"code":"DENIED","message":"not today"}]}`})
	if res := p.e.Run(t, "sync", "--keep-going", plan, "--to", "oci:"+partial); res.Code != 1 || !strings.Contains(res.Stdout, "mirror/app:2.1.0: digest ") {
		t.Fatalf("sync --to an archive with one image refused: exit %d, want 1, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	p.sp.ClearFaults()
	res = p.e.Run(t, "sync", plan, "--to", "oci:"+partial)
	if res.Code != 0 || strings.Count(res.Stdout, "\n") != 1 || !strings.Contains(res.Stdout, "mirror/app:1.1.0: digest ") {
		t.Errorf("sync --to the archive again: exit %d, stdout %q, want only 1.1.0: %s", res.Code, res.Stdout, res.Stderr)
	}

	if res := p.e.Run(t, "sync", "--from", "oci:"+plan, plan); res.Code != 2 || !strings.Contains(res.Stderr, "OCI archive "+plan+": ") {
		t.Errorf("--from a file that is no archive: exit %d, want 2: %s", res.Code, res.Stderr)
	}
	// Images are read under the destination's name: another destination
	// finds nothing, which is said, naming what the archive holds (a
	// warning, as for a filter that matches nothing), not a silent no-op.
	res = p.e.Run(t, "sync", "--from", "oci:"+usb, p.sp.Host+"/app", p.dp.Host+"/elsewhere/app")
	if res.Code != 0 || res.Stdout != "" || !strings.Contains(res.Stderr, "Warning: ") || !strings.Contains(res.Stderr, "holds no image of elsewhere/app (it holds mirror/app") {
		t.Errorf("--from an archive without the destination's repository: exit %d: %s%s", res.Code, res.Stdout, res.Stderr)
	}
}

// manifestDigest is the sha256 digest of a manifest's bytes.
func manifestDigest(raw string) string {
	sum := sha256.Sum256([]byte(raw))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestSyncReferrersThroughLayout: with referrers: true, sync --to an OCI
// layout (a directory and an archive) takes the signature, the SBOM and
// the SBOM's signature along, and sync --from it puts them on a registry
// of the other kind (referrers API -> tag schema) with the source's tree,
// digest by digest, as oras sees it; each side run again copies nothing,
// and a signature added upstream since is copied by the next run.
func TestSyncReferrersThroughLayout(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"dir", "archive"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			src, dst, e, want := copyPair(t, registryKinds[0], registryKinds[1])
			plan := writePlan(t, fmt.Sprintf("sync:\n  - source: %s\n    destination: %s\n    tags: [v1]\n    referrers: true\n", src.Ref("app"), dst.Ref("mirror/app")))
			usb := "oci:" + filepath.Join(t.TempDir(), "usb")
			if kind == "archive" {
				usb += ".tar"
			}
			if res := e.Run(t, "sync", plan, "--to", usb); res.Code != 0 || strings.Count(res.Stdout, "\n") != 1 {
				t.Fatalf("sync --to: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
			}
			if res := e.Run(t, "sync", plan, "--to", usb); res.Code != 0 || res.Stdout != "" {
				t.Errorf("second sync --to: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
			}
			if res := e.Run(t, "sync", "--from", usb, plan); res.Code != 0 || strings.Count(res.Stdout, "\n") != 1 {
				t.Fatalf("sync --from: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
			}
			if got := digestTree(e.OrasDiscover(t, dst.Ref("mirror/app:v1"))); got != want {
				t.Errorf("destination tree (oras discover):\n%s\nwant the source's:\n%s", got, want)
			}
			if res := e.Run(t, "sync", "--from", usb, plan); res.Code != 0 || res.Stdout != "" {
				t.Errorf("second sync --from: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
			}

			att := e.OrasAttach(t, src.Ref("app:v1"), "application/vnd.in-toto+json", "{}")
			res := e.Run(t, "sync", "--dry-run", plan, "--to", usb)
			if !strings.Contains(res.Stdout, "1 referrer(s) missing") {
				t.Errorf("dry run after a new attestation upstream: %s", res.Stdout)
			}
			for _, args := range [][]string{{"sync", plan, "--to", usb}, {"sync", "--from", usb, plan}} {
				if res := e.Run(t, args...); res.Code != 0 || strings.Count(res.Stdout, "\n") != 1 {
					t.Fatalf("%v after a new attestation: exit %d, stdout %q: %s", args, res.Code, res.Stdout, res.Stderr)
				}
			}
			if got := digestTree(e.OrasDiscover(t, dst.Ref("mirror/app:v1"))); !strings.Contains(got, att) {
				t.Errorf("the new attestation %s did not cross the air gap: %s", att, got)
			}
		})
	}
}

// TestSyncPatternNewestDigests: a registry-wide source lists its
// repositories through the catalog and maps those matching the pattern
// under the destination prefix; newest keeps the highest versions; a
// digest of the plan is mirrored untagged even when no tag is selected.
func TestSyncPatternNewestDigests(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dst := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	versions := []testenv.Tagged{{Tags: []string{"1.0.0"}}, {Tags: []string{"1.2.0"}}, {Tags: []string{"1.10.0"}}}
	a := src.PushTagged(t, "team/a", versions, 1024)
	src.PushTagged(t, "team/b", versions, 1024)
	c := src.PushTagged(t, "other/c", versions, 1024)
	plan := writePlan(t, fmt.Sprintf(`sync:
  - source: %[1]s/team/*
    destination: %[2]s/m
    newest: 2
  - source: %[1]s/other/c
    destination: %[2]s/m/c
    tags: [none]
    digests: [%[3]s]
`, src.Host, dst.Host, c["1.0.0"]))
	res := e.Run(t, "sync", plan)
	if res.Code != 0 {
		t.Fatalf("sync: exit %d: %s", res.Code, res.Stderr)
	}
	for _, repo := range []string{"a", "b"} {
		if got := strings.Fields(e.Crane(t, "ls", dst.Ref("m/"+repo)).Stdout); strings.Join(got, " ") != "1.10.0 1.2.0" {
			t.Errorf("m/%s has tags %v, want the newest two, 1.10.0 and 1.2.0", repo, got)
		}
	}
	if got := strings.TrimSpace(e.Crane(t, "digest", dst.Ref("m/a:1.10.0")).Stdout); got != a["1.10.0"] {
		t.Errorf("m/a:1.10.0 is %q, want %s", got, a["1.10.0"])
	}
	if res := e.Crane(t, "manifest", dst.Ref("m/c@"+c["1.0.0"])); res.Code != 0 {
		t.Errorf("the plan's digest was not mirrored: %s", res.Stderr)
	}
	if got := strings.Fields(e.Crane(t, "ls", dst.Ref("m/c")).Stdout); len(got) != 0 {
		t.Errorf("m/c has tags %v, want none (its filter matches nothing)", got)
	}
	if !strings.Contains(res.Stderr, "Warning: entry at line 5: no tag of "+src.Host+"/other/c matches the filters") {
		t.Errorf("no warning for the filter matching nothing: %s", res.Stderr)
	}
	if res := e.Run(t, "sync", "--check", plan); res.Code != 0 {
		t.Errorf("check: exit %d: %s", res.Code, res.Stdout)
	}
}

// TestSyncNeverWritesToAMirror: with a mirror configured for the
// destination registry, the destination is still read (HEADs) and written
// on its own registry; the mirror sees no request. A mirror of the source
// serves the source's reads.
func TestSyncNeverWritesToAMirror(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	dstMirror := testenv.NewProxy(t, testenv.StartRegistry(t, testenv.RegistryOptions{}).URL, nil)
	srcMirror := testenv.NewProxy(t, p.src.URL, nil) // the source's content, under another host
	plan := p.plan(t, appPlan)
	res := p.e.Run(t, "sync", "--registry-mirror", p.dp.Host+"="+dstMirror.Host, "--registry-mirror", p.sp.Host+"="+srcMirror.Host, plan)
	if res.Code != 0 {
		t.Fatalf("sync: exit %d: %s", res.Code, res.Stderr)
	}
	if n := dstMirror.Count("", ""); n != 0 {
		t.Errorf("the destination's mirror got %d requests, want none: %v", n, dstMirror.Requests())
	}
	if got := p.digest(t, p.dst, "mirror/app:2.1.0"); got != p.srcDigests["2.1.0"] {
		t.Errorf("mirror/app:2.1.0 is %q on the destination, want %s", got, p.srcDigests["2.1.0"])
	}
	if n := srcMirror.Count("HEAD", "/manifests/"); n == 0 {
		t.Errorf("the source's mirror served no reads")
	}
	if n := p.dp.Count("HEAD", "/manifests/(1.1.0|2.1.0)$"); n < 2 {
		t.Errorf("the destination registry got %d HEADs of the selected tags, want them all", n)
	}
}

// TestSyncPlatforms: platforms keep a subset of an index: one platform
// mirrors that image, several a filtered index; a second run sees both up
// to date (one GET of the source index each) and copies nothing.
func TestSyncPlatforms(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dst := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	src.PushTagged(t, "app", []testenv.Tagged{{Tags: []string{"v1"}, Platforms: []string{"linux/amd64", "linux/arm64", "linux/s390x"}}}, 1024)
	plan := writePlan(t, fmt.Sprintf(`sync:
  - source: %[1]s/app
    destination: %[2]s/one
    platforms: [linux/arm64]
  - source: %[1]s/app
    destination: %[2]s/two
    platforms: [linux/amd64, linux/arm64]
`, src.Host, dst.Host))
	if res := e.Run(t, "sync", plan); res.Code != 0 {
		t.Fatalf("sync: exit %d: %s", res.Code, res.Stderr)
	}
	arm := strings.TrimSpace(e.Crane(t, "digest", "--platform", "linux/arm64", src.Ref("app:v1")).Stdout)
	if got := strings.TrimSpace(e.Crane(t, "digest", dst.Ref("one:v1")).Stdout); got != arm {
		t.Errorf("one:v1 is %q, want the arm64 image %s", got, arm)
	}
	m := e.Crane(t, "manifest", dst.Ref("two:v1")).Stdout
	if strings.Count(m, `"architecture"`) != 2 || strings.Contains(m, "s390x") {
		t.Errorf("two:v1 is not an index of amd64 and arm64: %s", m)
	}
	res := e.Run(t, "sync", plan)
	if res.Code != 0 || res.Stdout != "" || !strings.Contains(res.Stderr, "0 copied, 2 up to date") {
		t.Errorf("second sync: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
}

// TestSyncMissingDigest: a digest of the plan the source does not have is
// refused; the rest of the plan is copied and the sync exits 1 naming the
// digest (with or without --keep-going, one-line form and plan alike): a
// sync that could not do all the plan asked for fails, as --check does.
func TestSyncMissingDigest(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	missing := "sha256:" + strings.Repeat("0", 64)
	plan := p.plan(t, "sync:\n  - source: SRC/app\n    destination: DST/plan/app\n    tags: [dev]\n    digests: ["+missing+"]\n")
	for _, args := range [][]string{
		{"sync", p.sp.Host + "/app", p.dp.Host + "/one/app", "--tags", "dev", "--digest", missing},
		{"sync", "--keep-going", p.sp.Host + "/app", p.dp.Host + "/kept/app", "--tags", "dev", "--digest", missing},
		{"sync", plan},
	} {
		res := p.e.Run(t, args...)
		if res.Code != 1 {
			t.Errorf("%v: exit %d, want 1: %s", args, res.Code, res.Stderr)
		}
		if want := p.sp.Host + "/app@" + missing + ": not found in the source"; !strings.Contains(res.Stderr, want) {
			t.Errorf("%v: stderr lacks %q: %s", args, want, res.Stderr)
		}
		if !strings.Contains(res.Stderr, "Synced: 1 copied, 0 up to date, 5 skipped, 1 failed") {
			t.Errorf("%v: summary: %s", args, res.Stderr)
		}
		if !strings.Contains(res.Stdout, ":dev: digest "+p.srcDigests["dev"]) {
			t.Errorf("%v: the tag the source has was not copied: %s", args, res.Stdout)
		}
	}
	if res := p.e.Run(t, "sync", "--dry-run", plan); res.Code != 0 || !strings.Contains(res.Stdout, "refused "+p.sp.Host+"/app@"+missing) {
		t.Errorf("dry run: exit %d, want 0 showing the refusal: %s%s", res.Code, res.Stdout, res.Stderr)
	}
}

// TestSyncBlobCountsAlike: each image's line counts the blobs it moved
// (configs and layers written, not those the destination had) and their
// bytes the same way whether the destination is a registry or an OCI
// layout; an image whose blobs the layout has already moves none.
func TestSyncBlobCountsAlike(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	plan := p.plan(t, appPlan)
	counts := func(stdout string) map[string]string {
		out := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
			src, _, _ := strings.Cut(l, " -> ")
			if i := strings.LastIndex(l, " ("); i >= 0 {
				out[src] = l[i:]
			}
		}
		return out
	}
	res := p.e.Run(t, "sync", plan)
	if res.Code != 0 {
		t.Fatalf("sync: exit %d: %s", res.Code, res.Stderr)
	}
	toRegistry := counts(res.Stdout)
	layout := "oci:" + filepath.Join(t.TempDir(), "usb")
	res = p.e.Run(t, "sync", plan, "--to", layout)
	if res.Code != 0 {
		t.Fatalf("sync --to: exit %d: %s", res.Code, res.Stderr)
	}
	toLayout := counts(res.Stdout)
	if len(toRegistry) != 2 || fmt.Sprint(toRegistry) != fmt.Sprint(toLayout) {
		t.Errorf("blob counts differ:\nto a registry: %v\nto a layout:   %v", toRegistry, toLayout)
	}
	// The same images under another name: the layout has every blob.
	again := p.plan(t, strings.Replace(appPlan, "DST/mirror/app", "DST/again/app", 1))
	res = p.e.Run(t, "sync", again, "--to", layout)
	for src, c := range counts(res.Stdout) {
		if c != " (0 blobs, 0B)" {
			t.Errorf("%s into a layout holding its blobs: %s, want (0 blobs, 0B)", src, c)
		}
	}
}

// TestSyncSameAsRegsync: ctl sync and regsync mirror one repository (an
// image, an OCI index, a docker manifest list, an SBOM attached to the
// index) to the same digests, tag by tag, with the same referrers as oras
// discovers them. (The sha256-<hex> tag schema's index is the
// destination's bookkeeping, rewritten by whoever pushes a referrer, so
// its digest is not compared.)
func TestSyncSameAsRegsync(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dst := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	src.PushTagged(t, "app", []testenv.Tagged{
		{Tags: []string{"1.0"}},
		{Tags: []string{"2.0", "latest"}, Platforms: []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}},
	}, 1024)
	pushIndex(t, src, "app:list", types.DockerManifestList)
	e.OrasAttach(t, src.Ref("app:2.0"), "application/spdx+json", `{"spdxVersion":"SPDX-2.3"}`)

	if res := e.Run(t, "sync", "--referrers", src.Ref("app"), dst.Ref("ctl/app")); res.Code != 0 {
		t.Fatalf("ctl sync: %s", res.Stderr)
	}
	conf := filepath.Join(t.TempDir(), "regsync.yml")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`version: 1
creds:
  - registry: %s
    tls: disabled
  - registry: %s
    tls: disabled
sync:
  - source: %s
    target: %s
    type: repository
    referrers: true
`, src.Host, dst.Host, src.Ref("app"), dst.Ref("regsync/app"))), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := e.Exec(t, testenv.ToolBinary(t, "regsync"), "", testenv.RunTimeout, "once", "-c", conf); res.Code != 0 {
		t.Fatalf("regsync: %s", res.Stderr)
	}

	tags := func(repo string) []string {
		t.Helper()
		res := e.Crane(t, "ls", repo)
		if res.Code != 0 {
			t.Fatalf("crane ls %s: %s", repo, res.Stderr)
		}
		return lines(res.Stdout)
	}
	want := tags(src.Ref("app"))
	for _, repo := range []string{"ctl/app", "regsync/app"} {
		if got := tags(dst.Ref(repo)); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s tags %v, want the source's %v", repo, got, want)
		}
	}
	for _, tag := range want {
		if strings.HasPrefix(tag, "sha256-") {
			continue
		}
		d := func(ref string) string {
			res := e.Crane(t, "digest", ref)
			return strings.TrimSpace(res.Stdout)
		}
		s, c, r := d(src.Ref("app:"+tag)), d(dst.Ref("ctl/app:"+tag)), d(dst.Ref("regsync/app:"+tag))
		if s == "" || c != s || r != s {
			t.Errorf("%s: source %s, ctl sync %s, regsync %s", tag, s, c, r)
		}
	}
	wantTree := digestTree(e.OrasDiscover(t, src.Ref("app:2.0")))
	for _, repo := range []string{"ctl/app", "regsync/app"} {
		if got := digestTree(e.OrasDiscover(t, dst.Ref(repo+":2.0"))); got != wantTree || wantTree == "" {
			t.Errorf("%s referrers:\n%s\nwant the source's:\n%s", repo, got, wantTree)
		}
	}
}
