package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// TestSyncSourceDropsMidBlob: a source that cuts every blob download
// mid-body fails the image once the source's retries are spent: the
// message names the image and the source giving up, not the destination
// (which answered nothing) as unreachable, and the destination's PUT is
// not sent again for each of the source's failures, which would multiply
// the source's retries (five per blob, not five times five).
func TestSyncSourceDropsMidBlob(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	p.sp.AddFault(testenv.Fault{Method: "GET", PathRegexp: `/blobs/sha256:`, Kind: testenv.FaultDropMidBody, Bytes: 100})
	res := p.e.Run(t, "sync", "--tags", "1.0.0", p.sp.Host+"/app", p.dp.Host+"/mirror/app")
	if res.Code != 1 {
		t.Fatalf("sync from a source cutting its blobs: exit %d, want 1: %s", res.Code, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "Error: "+p.sp.Host+"/app:1.0.0: ") || !strings.Contains(res.Stderr, "giving up on "+p.sp.Host+" after ") ||
		strings.Contains(res.Stderr, "unreachable") || res.Stdout != "" {
		t.Errorf("the failure does not name the image and its source giving up:\n%s%s", res.Stdout, res.Stderr)
	}
	// Two blobs (config and layer), each read within one retry budget.
	if n := p.sp.Count("GET", `/blobs/sha256:`); n > 10 {
		t.Errorf("the source was asked for its blobs %d times, want at most 5 per blob", n)
	}
	if d := p.digest(t, p.dst, "mirror/app:1.0.0"); d != "" {
		t.Errorf("the mirror has 1.0.0 (%s) though its blobs never arrived", d)
	}
}

// TestSyncLyingTagList: a source whose tag list names a tag twice, or
// names that are no tags (a space, an escape sequence), has each tag
// copied once and the others left out with a warning, not planned as
// nameless copies "not found in the source" that fail the sync.
func TestSyncLyingTagList(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	p.sp.AddFault(testenv.Fault{Method: "GET", PathRegexp: `/app/tags/list`, Kind: testenv.FaultStatus, Status: 200,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   `{"name":"app","tags":["1.0.0","dev","1.0.0","BAD TAG","x\u001b[31m"]}`})
	src, dst := p.sp.Host+"/app", p.dp.Host+"/mirror/app"
	res := p.e.Run(t, "sync", "--dry-run", src, dst)
	if res.Code != 0 || strings.Count(res.Stdout, "copy "+src+":1.0.0 ") != 1 || strings.Count(res.Stdout, "\n") != 2 ||
		!strings.Contains(res.Stderr, "Warning: "+src+` lists 2 invalid tag name(s), left out: "BAD TAG", "x\x1b[31m"`) {
		t.Errorf("dry run of a lying tag list: exit %d, want each tag once and a warning:\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	res = p.e.Run(t, "sync", src, dst)
	if res.Code != 0 || strings.Count(res.Stdout, "\n") != 2 || !strings.Contains(res.Stderr, "2 copied, 0 up to date, 0 skipped, 0 failed") {
		t.Errorf("sync of a lying tag list: exit %d, want 1.0.0 and dev copied once each:\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	for _, tag := range []string{"1.0.0", "dev"} {
		if got := p.digest(t, p.dst, "mirror/app:"+tag); got != p.srcDigests[tag] {
			t.Errorf("mirror/app:%s is %q, want %s", tag, got, p.srcDigests[tag])
		}
	}
}

// TestSyncLyingCatalog: a pattern entry against a catalog that lists a
// repository twice, or a name that is no repository, mirrors each
// repository once and leaves the others out with a warning, rather than
// failing the whole plan on one bad name or copying a repository twice
// at once.
func TestSyncLyingCatalog(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	p.sp.AddFault(testenv.Fault{Method: "GET", PathRegexp: `/_catalog`, Kind: testenv.FaultStatus, Status: 200,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   `{"repositories":["app","UPPER","tools","app","-x"]}`})
	plan := p.plan(t, "sync:\n  - source: SRC/*\n    destination: DST/mirror\n    tags: [\"1.0.0\", edge]\n")
	res := p.e.Run(t, "sync", plan)
	if res.Code != 0 || strings.Count(res.Stdout, "\n") != 2 || !strings.Contains(res.Stderr, "2 copied, 0 up to date, 5 skipped, 0 failed") ||
		!strings.Contains(res.Stderr, "Warning: "+p.sp.Host+` lists 2 invalid repository name(s), left out: "UPPER", "-x"`) {
		t.Errorf("sync of a lying catalog: exit %d, want app:1.0.0 and tools:edge copied once each, and a warning:\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	if got := p.digest(t, p.dst, "mirror/app:1.0.0"); got != p.srcDigests["1.0.0"] {
		t.Errorf("mirror/app:1.0.0 is %q, want %s", got, p.srcDigests["1.0.0"])
	}
	if got := p.digest(t, p.dst, "mirror/tools:edge"); got == "" {
		t.Error("mirror/tools:edge was not copied")
	}
}

// TestSyncReportsWhatWasCopied: a tag whose HEAD answers another digest
// than the manifest its GET then serves (the tag moved between the plan
// and the copy, or a source that lies) is reported with the digest
// copied, whether to a registry or to an OCI layout.
func TestSyncReportsWhatWasCopied(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	other := p.srcDigests["dev"]
	p.sp.AddFault(testenv.Fault{Method: "HEAD", PathRegexp: `/app/manifests/1\.0\.0$`, Kind: testenv.FaultStatus, Status: 200,
		Header: http.Header{"Docker-Content-Digest": {other}, "Content-Type": {"application/vnd.oci.image.manifest.v1+json"}, "Content-Length": {"408"}}})
	want := ": digest " + p.srcDigests["1.0.0"] + " "
	res := p.e.Run(t, "sync", "--tags", "1.0.0", p.sp.Host+"/app", p.dp.Host+"/mirror/app")
	if res.Code != 0 || !strings.Contains(res.Stdout, want) {
		t.Errorf("sync to a registry: exit %d, want the copied digest reported (%s):\n%s%s", res.Code, want, res.Stdout, res.Stderr)
	}
	res = p.e.Run(t, "sync", "--tags", "1.0.0", "--to", "oci:"+t.TempDir(), p.sp.Host+"/app", p.dp.Host+"/mirror/app")
	if res.Code != 0 || !strings.Contains(res.Stdout, want) {
		t.Errorf("sync to a layout: exit %d, want the copied digest reported (%s):\n%s%s", res.Code, want, res.Stdout, res.Stderr)
	}
}
