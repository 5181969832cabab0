package e2e

import (
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestDeleteKeepsTaggedIndexesWhole: a platform image of a tagged index is
// never deleted by digest, asked by digest or by a tag the registry deletes
// only with its manifest, even with --force (and --dry-run says so too);
// by a tag the registry deletes alone, or once the index is untagged, it
// goes.
func TestDeleteKeepsTaggedIndexesWhole(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
	e := testenv.NewEnv(t)
	idx := pushIndex(t, reg, "multi:v1", types.OCIImageIndex)
	e.Crane(t, "tag", reg.Ref("multi:v1"), "stable")
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	child := im.Manifests[0].Digest.String()
	e.Crane(t, "tag", reg.Ref("multi@"+child), "amd64")
	e.Crane(t, "tag", reg.Ref("multi@"+im.Manifests[1].Digest.String()), "arm64")
	digestOnly := testenv.NewProxy(t, reg.URL, nil)
	digestOnly.AddFault(testenv.TagDeleteRefused())

	whole := func() {
		t.Helper()
		for _, m := range im.Manifests {
			if !exists(t, reg, "multi@"+m.Digest.String()) {
				t.Fatalf("platform image %s of multi:v1 is gone", m.Digest)
			}
		}
	}
	for _, ref := range []string{reg.Ref("multi@" + child), digestOnly.Host + "/multi:amd64"} {
		for _, flags := range [][]string{nil, {"--force"}, {"--dry-run"}, {"--dry-run", "--force"}} {
			r := e.Run(t, append(append([]string{"delete"}, flags...), ref)...)
			wantCode(t, r, 1)
			if r.Stdout != "" || !strings.Contains(r.Stderr, "refusing to delete "+ref) ||
				!strings.Contains(r.Stderr, "part of the index tagged stable, v1") || !strings.Contains(r.Stderr, "--force does not override this") {
				t.Errorf("delete %v %s: stdout %q stderr %q", flags, ref, r.Stdout, r.Stderr)
			}
			whole()
		}
	}
	for _, m := range im.Manifests {
		if n := digestOnly.Count("DELETE", "/manifests/"+m.Digest.String()); n != 0 {
			t.Errorf("%d DELETEs of %s", n, m.Digest)
		}
	}

	// A registry that deletes tags alone: the tag goes, the image stays.
	r := e.Run(t, "delete", reg.Ref("multi:amd64"))
	wantCode(t, r, 0)
	if r.Stdout != "Untagged: "+reg.Ref("multi:amd64")+"\n" {
		t.Errorf("delete of the child's tag: %q", r.Stdout)
	}
	whole()

	// Once no tag points at the index, its images are free to go.
	wantCode(t, e.Run(t, "delete", reg.Ref("multi:v1"), reg.Ref("multi:stable")), 0)
	r = e.Run(t, "delete", digestOnly.Host+"/multi:arm64")
	wantCode(t, r, 0)
	if want := "Untagged: " + digestOnly.Host + "/multi:arm64\nDeleted: " + digestOnly.Host + "/multi@" + im.Manifests[1].Digest.String() + "\n"; r.Stdout != want {
		t.Errorf("delete of an untagged index's image: %q, want %q", r.Stdout, want)
	}
	wantCode(t, e.Run(t, "delete", reg.Ref("multi@"+child)), 0)
}

// TestDeleteChecksEveryRefFirst: of several references, one missing or
// refused deletes none of them; all fine, they all go, in order, a tag
// that went with an earlier one's manifest reported once.
func TestDeleteChecksEveryRefFirst(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
	e := testenv.NewEnv(t)
	reg.PushRandomImage(t, "app:a", 1, 64)
	reg.PushRandomImage(t, "app:b", 1, 64)
	idx := pushIndex(t, reg, "multi:v1", types.OCIImageIndex)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	child := reg.Ref("multi@" + im.Manifests[0].Digest.String())
	for _, tc := range []struct {
		last string
		code int
	}{{reg.Ref("app:nope"), 3}, {child, 1}} {
		r := e.Run(t, "delete", reg.Ref("app:a"), reg.Ref("app:b"), tc.last)
		wantCode(t, r, tc.code)
		if r.Stdout != "" || !exists(t, reg, "app:a") || !exists(t, reg, "app:b") {
			t.Fatalf("delete a b %s deleted something: stdout %q", tc.last, r.Stdout)
		}
	}

	// On a registry that deletes only by digest, two tags of one manifest
	// asked together go together, without --force.
	digestOnly := testenv.NewProxy(t, reg.URL, nil)
	digestOnly.AddFault(testenv.TagDeleteRefused())
	e.Crane(t, "tag", reg.Ref("app:a"), "a2")
	dig := strings.TrimSpace(e.Run(t, "digest", reg.Ref("app:a")).Stdout)
	host := digestOnly.Host
	wantCode(t, e.Run(t, "delete", host+"/app:a"), 1) // a2 would go too
	dry := e.Run(t, "delete", "--dry-run", host+"/app:a", host+"/app:a2", host+"/app:b")
	wantCode(t, dry, 0)
	r := e.Run(t, "delete", host+"/app:a", host+"/app:a2", host+"/app:b")
	wantCode(t, r, 0)
	if got := strings.NewReplacer("Would untag", "Untagged", "Would delete", "Deleted").Replace(dry.Stdout); got != r.Stdout {
		t.Errorf("dry run of a a2 b:\n%s\nreal run:\n%s", dry.Stdout, r.Stdout)
	}
	digB := r.Stdout[strings.LastIndex(r.Stdout, "@")+1 : len(r.Stdout)-1]
	want := "Untagged: " + host + "/app:a\nUntagged: " + host + "/app:a2\nDeleted: " + host + "/app@" + dig + "\n" +
		"Untagged: " + host + "/app:b\nDeleted: " + host + "/app@" + digB + "\n"
	if r.Stdout != want {
		t.Errorf("delete a a2 b:\n%s\nwant\n%s", r.Stdout, want)
	}
	if exists(t, reg, "app:a") || exists(t, reg, "app:a2") || exists(t, reg, "app:b") {
		t.Error("tags left")
	}
}

// TestDeleteDryRunPredicts: --dry-run prints what the real run then does,
// or fails as it fails, sending no DELETE but of a tag and a digest that
// do not exist: on a registry that deletes tags, one that deletes only by
// digest, and one with deletion disabled.
func TestDeleteDryRunPredicts(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
	e := testenv.NewEnv(t)
	img := reg.PushRandomImage(t, "app:solo", 1, 64)
	solo, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	reg.PushRandomImage(t, "app:v1", 1, 64)
	e.Crane(t, "tag", reg.Ref("app:v1"), "v2")
	reg.PushRandomImage(t, "app:alone", 1, 64)
	digestOnly := testenv.NewProxy(t, reg.URL, nil)
	digestOnly.AddFault(testenv.TagDeleteRefused())
	tagsToo := testenv.NewProxy(t, reg.URL, nil)
	real := strings.NewReplacer("Would untag", "Untagged", "Would delete", "Deleted")

	// dryThenReal runs the dry run and then the real one, and checks they
	// agree and that the dry run sent no DELETE that could remove anything.
	dryThenReal := func(p *testenv.Proxy, code int, args ...string) (dry, wet testenv.Result) {
		t.Helper()
		p.Reset()
		dry = e.Run(t, append([]string{"delete", "--dry-run"}, args...)...)
		for _, rec := range p.Requests() {
			if rec.Method == "DELETE" && !strings.Contains(rec.Path, "/manifests/ctl-delete-probe-") && !strings.HasSuffix(rec.Path, "/manifests/sha256:"+strings.Repeat("0", 64)) {
				t.Errorf("dry run %v sent DELETE %s", args, rec.Path)
			}
		}
		wet = e.Run(t, append([]string{"delete"}, args...)...)
		wantCode(t, dry, code)
		wantCode(t, wet, code)
		if real.Replace(dry.Stdout) != wet.Stdout || dry.Stderr != wet.Stderr {
			t.Errorf("delete %v: dry run\n%s%s\nreal run\n%s%s", args, dry.Stdout, dry.Stderr, wet.Stdout, wet.Stderr)
		}
		return dry, wet
	}

	// Tag deletes: the tag alone.
	dry, _ := dryThenReal(tagsToo, 0, tagsToo.Host+"/app:alone")
	if dry.Stdout != "Would untag: "+tagsToo.Host+"/app:alone\n" {
		t.Errorf("dry run with tag deletes: %q", dry.Stdout)
	}
	// Only by digest: the manifest, or the refusal to take v2 along.
	dry, _ = dryThenReal(digestOnly, 0, digestOnly.Host+"/app:solo")
	if dry.Stdout != "Would untag: "+digestOnly.Host+"/app:solo\nWould delete: "+digestOnly.Host+"/app@"+solo.String()+"\n" {
		t.Errorf("dry run by digest: %q", dry.Stdout)
	}
	dry, _ = dryThenReal(digestOnly, 1, digestOnly.Host+"/app:v1")
	if !strings.Contains(dry.Stderr, "would also remove v2") {
		t.Errorf("dry run of a shared tag: %q", dry.Stderr)
	}
	dryThenReal(digestOnly, 0, "--force", digestOnly.Host+"/app:v1")
	if exists(t, reg, "app:v2") {
		t.Error("--force left v2")
	}

	// Deletion disabled: the contract's message, by tag and by digest.
	off := testenv.StartRegistry(t, testenv.RegistryOptions{})
	oimg := off.PushRandomImage(t, "app:v1", 1, 64)
	od, err := oimg.Digest()
	if err != nil {
		t.Fatal(err)
	}
	offProxy := testenv.NewProxy(t, off.URL, nil)
	msg := "Error: deletion is disabled on " + offProxy.Host + " (run the registry with REGISTRY_STORAGE_DELETE_ENABLED=true)\n"
	for _, ref := range []string{"/app:v1", "/app@" + od.String()} {
		dry, _ := dryThenReal(offProxy, 1, offProxy.Host+ref)
		if dry.Stderr != msg || dry.Stdout != "" {
			t.Errorf("dry run of %s with deletion disabled: %q %q", ref, dry.Stdout, dry.Stderr)
		}
	}
	if !exists(t, off, "app:v1") {
		t.Error("deleted where deletion is disabled")
	}
}
