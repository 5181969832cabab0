package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestCopyReferrers: an image with a signature, an SBOM and a signature of
// the SBOM (attached by oras), copied with --referrers between every pair
// of registry kinds (API → tag schema, tag schema → API, and each to its
// own kind), has the same referrers tree on the destination, digest by
// digest, as oras discover sees it. A second copy keeps what the
// destination's tree gained meanwhile.
func TestCopyReferrers(t *testing.T) {
	t.Parallel()
	for _, from := range registryKinds {
		for _, to := range registryKinds {
			t.Run(from.name+"-to-"+to.name, func(t *testing.T) {
				t.Parallel()
				src, dst, e, want := copyPair(t, from, to)

				res := e.Run(t, "copy", "--referrers", src.Ref("app:v1"), dst.Ref("mirror:v1"))
				if res.Code != 0 {
					t.Fatalf("copy --referrers: exit %d: %s", res.Code, res.Stderr)
				}
				if !strings.Contains(res.Stderr, "Copied 3 referrers") {
					t.Errorf("copy --referrers stderr: %s", res.Stderr)
				}
				oneResult(t, "copy --referrers", res, "v1")
				if got := digestTree(e.OrasDiscover(t, dst.Ref("mirror:v1"))); got != want {
					t.Errorf("destination tree (oras discover):\n%s\nwant the source's:\n%s", got, want)
				}
				for _, r := range []string{"app:v1", "mirror:v1"} {
					reg := src
					if r == "mirror:v1" {
						reg = dst
					}
					if d := e.Run(t, "digest", reg.Ref(r)); d.Code != 0 {
						t.Fatalf("digest %s: %s", r, d.Stderr)
					}
				}

				// The destination gains a note of its own and the source a
				// new attestation; copying again keeps both.
				note := e.OrasAttach(t, dst.Ref("mirror:v1"), "application/vnd.example.note", "kept")
				att := e.OrasAttach(t, src.Ref("app:v1"), "application/vnd.in-toto+json", "{}")
				if res := e.Run(t, "copy", "--referrers", src.Ref("app:v1"), dst.Ref("mirror:v1")); res.Code != 0 {
					t.Fatalf("second copy --referrers: %s", res.Stderr)
				}
				got := digestTree(e.OrasDiscover(t, dst.Ref("mirror:v1")))
				for _, d := range []string{note, att} {
					if !strings.Contains(got, d) {
						t.Errorf("after the second copy the destination lacks %s: %s", d, got)
					}
				}
			})
		}
	}
}

// oneResult checks that what of a copy or push --referrers is on stdout is
// the one result line of tag, as without --referrers, and that the
// referrers it wrote are told on stderr, a line each.
func oneResult(t *testing.T, what string, res testenv.Result, tag string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], tag+": digest: sha256:") {
		t.Errorf("%s stdout: want %s's result line only:\n%s", what, tag, res.Stdout)
	}
	if n := strings.Count(res.Stderr, ": digest: sha256:"); n != 3 {
		t.Errorf("%s stderr tells %d referrers written, want 3:\n%s", what, n, res.Stderr)
	}
}

// TestCopyReferrersBrokenSource: a referrer listed in the source's tag
// schema but deleted since (by a client that leaves the index as it was:
// crane) fails the copy before anything is written, naming it (exit 3),
// and the destination has no trace of the image.
func TestCopyReferrersBrokenSource(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
	dst := testenv.StartReferrersRegistry(t)
	e := testenv.NewEnv(t)
	sig, _, _ := supplyChain(t, e, src, "app")
	if res := e.Crane(t, "delete", src.Ref("app@"+sig)); res.Code != 0 {
		t.Fatalf("crane delete: %s", res.Stderr)
	}
	res := e.Run(t, "copy", "--referrers", src.Ref("app:v1"), dst.Ref("mirror:v1"))
	if res.Code != 3 || !strings.Contains(res.Stderr, sig) {
		t.Errorf("copy with a missing referrer: exit %d, stderr %s; want 3 naming %s", res.Code, res.Stderr, sig)
	}
	if res := e.Run(t, "digest", dst.Ref("mirror:v1")); res.Code != 3 {
		t.Errorf("the destination has mirror:v1 after a failed copy: exit %d %s", res.Code, res.Stdout)
	}
}

// TestCopyReferrersOfIndexChildren: the referrers of an index's children
// (which oras#816 leaves behind) are copied too, API to tag schema, and
// ctl referrers --platforms shows them under each child.
func TestCopyReferrersOfIndexChildren(t *testing.T) {
	t.Parallel()
	src := testenv.StartReferrersRegistry(t)
	dst := testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(src.ParseRef(t, "multi:v1"), idx, src.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	repo := src.ParseRef(t, "multi:v1").Context()
	var sigs []string
	for i, child := range im.Manifests {
		d := testenv.Attach(t, repo, child, sigType, map[string]string{"child": fmt.Sprint(i)}, src.RemoteOptions()...)
		sigs = append(sigs, d.Digest.String())
	}
	e := testenv.NewEnv(t)
	if res := e.Run(t, "copy", "--referrers", src.Ref("multi:v1"), dst.Ref("multi:v1")); res.Code != 0 {
		t.Fatalf("copy --referrers: %s", res.Stderr)
	}
	for i, child := range im.Manifests {
		if got := digestTree(e.OrasDiscover(t, dst.Ref("multi@"+child.Digest.String()))); got != sigs[i] {
			t.Errorf("child %d on the destination: referrers %q, want %s", i, got, sigs[i])
		}
	}
	res := e.Run(t, "referrers", "--platforms", "--format", "{{range .Manifests}}{{range .Referrers}}{{.Digest}} {{end}}{{end}}", dst.Ref("multi:v1"))
	if res.Code != 0 || strings.TrimSpace(res.Stdout) != strings.Join(sigs, " ") {
		t.Errorf("ctl referrers --platforms: %q, want %v (%s)", res.Stdout, sigs, res.Stderr)
	}
}

// TestPullPushReferrers: pull --referrers stores the image with its
// signature, SBOM and the SBOM's signature; push --referrers of a retag
// sends them all to the other kind of registry, where oras discover finds
// the same tree.
func TestPullPushReferrers(t *testing.T) {
	t.Parallel()
	for i, from := range registryKinds {
		to := registryKinds[1-i]
		t.Run(from.name+"-to-"+to.name, func(t *testing.T) {
			t.Parallel()
			src, dst, e, want := copyPair(t, from, to)

			digest := strings.TrimSpace(e.Run(t, "digest", src.Ref("app:v1")).Stdout)
			res := e.Run(t, "pull", "--referrers", src.Ref("app:v1"))
			if res.Code != 0 {
				t.Fatalf("pull --referrers: %s", res.Stderr)
			}
			// stdout is the image's result alone, as without
			// --referrers; the referrers stored are told on stderr.
			if want := "Digest: " + digest + "\nStatus: Downloaded newer image for " + src.Ref("app:v1") + "\n"; res.Stdout != want {
				t.Errorf("pull --referrers stdout:\n%s\nwant the image's result only:\n%s", res.Stdout, want)
			}
			if n := strings.Count(res.Stderr, "Status: Downloaded artifact for "); n != 3 || !strings.Contains(res.Stderr, "Pulled 3 referrers") {
				t.Errorf("pull --referrers stderr tells %d artifacts stored, want 3 and a count:\n%s", n, res.Stderr)
			}
			res = e.Run(t, "images", "--format", "{{.CreatedSince}}")
			if strings.Count(res.Stdout, "artifact") != 3 {
				t.Errorf("images after pull --referrers:\n%s", res.Stdout)
			}
			// Retagged for the mirror: its referrers are found in the
			// store by digest, whatever name they were pulled under.
			if res := e.Run(t, "tag", src.Ref("app:v1"), dst.Ref("mirror:v1")); res.Code != 0 {
				t.Fatalf("tag: %s", res.Stderr)
			}
			res = e.Run(t, "push", "--referrers", dst.Ref("mirror:v1"))
			if res.Code != 0 {
				t.Fatalf("push --referrers: %s", res.Stderr)
			}
			oneResult(t, "push --referrers", res, "v1")
			if !strings.Contains(res.Stderr, "Pushed 3 referrers") {
				t.Errorf("push --referrers stderr: %s", res.Stderr)
			}
			if got := digestTree(e.OrasDiscover(t, dst.Ref("mirror:v1"))); got != want {
				t.Errorf("pushed tree (oras discover):\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestReferrerSentAlone: an SBOM copied or pushed on its own (no
// --referrers), after its subject, is listed as the subject's referrer
// there, as crane, oras and regctl leave it: a registry without the
// referrers API gets it in the subject's sha256-<hex> index (the
// distribution spec makes that the client's job), one with the API none.
func TestReferrerSentAlone(t *testing.T) {
	t.Parallel()
	onEachKind(t, func(t *testing.T, kind registryKind, reg *testenv.Registry, e *testenv.Env) {
		reg.PushRandomImage(t, "app:v1", 1, 256)
		sbom := e.OrasAttach(t, reg.Ref("app:v1"), sbomType, `{"spdxVersion":"SPDX-2.3"}`)
		subject := strings.TrimSpace(e.Run(t, "digest", reg.Ref("app:v1")).Stdout)

		wantCode(t, e.Run(t, "copy", reg.Ref("app:v1"), reg.Ref("copied:v1")), 0)
		wantCode(t, e.Run(t, "copy", reg.Ref("app@"+sbom), reg.Ref("copied:sbom")), 0)

		wantCode(t, e.Run(t, "copy", reg.Ref("app:v1"), reg.Ref("pushed:v1")), 0)
		wantCode(t, e.Run(t, "pull", reg.Ref("app@"+sbom)), 0)
		wantCode(t, e.Run(t, "tag", reg.Ref("app@"+sbom), reg.Ref("pushed:sbom")), 0)
		wantCode(t, e.Run(t, "push", reg.Ref("pushed:sbom")), 0)

		for _, repo := range []string{"copied", "pushed"} {
			if got := digestTree(e.OrasDiscover(t, reg.Ref(repo+":v1"))); !strings.Contains(got, sbom) {
				t.Errorf("%s: oras discover lists %q, want the SBOM %s", repo, got, sbom)
			}
			res := e.Crane(t, "ls", reg.Ref(repo))
			schemaTag := strings.Replace(subject, ":", "-", 1)
			if has := strings.Contains(res.Stdout, schemaTag); has != (kind.name == "tag-schema") {
				t.Errorf("%s on a registry with the %s: tags %q", repo, kind.scheme, res.Stdout)
			}
		}
	})
}

// TestSyncReferrersSentAloneInParallel: a sync without --referrers copies
// tagged referrers of one subject in parallel, each of which adds itself
// to the subject's sha256-<hex> index on a registry without the referrers
// API; none is lost (the read-modify-writes of one index do not
// interleave).
func TestSyncReferrersSentAloneInParallel(t *testing.T) {
	t.Parallel()
	kind := registryKinds[1] // the tag schema
	src, dst := kind.start(t), kind.start(t)
	e := testenv.NewEnv(t)
	src.PushRandomImage(t, "app:v1", 1, 256)
	var want []string
	for i := range 12 {
		sbom := e.OrasAttach(t, src.Ref("app:v1"), sbomType, fmt.Sprintf(`{"spdxVersion":"SPDX-2.3","n":%d}`, i))
		if res := e.Crane(t, "tag", src.Ref("app@"+sbom), fmt.Sprintf("sbom%d", i)); res.Code != 0 {
			t.Fatalf("crane tag: %s", res.Stderr)
		}
		want = append(want, sbom)
	}
	sort.Strings(want)
	wantCode(t, e.Run(t, "sync", "-j", "16", "--exclude", "sha256-*", src.Ref("app"), dst.Ref("app")), 0)
	if got := digestTree(e.OrasDiscover(t, dst.Ref("app:v1"))); got != strings.Join(want, " ") {
		t.Errorf("oras discover of the destination lists\n%s\nwant every SBOM:\n%s", got, strings.Join(want, " "))
	}
}
