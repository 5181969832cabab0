package e2e

import (
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
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
				src, dst := from.start(t), to.start(t)
				e := testenv.NewEnv(t)
				supplyChain(t, e, src, "app")
				want := digestTree(e.OrasDiscover(t, src.Ref("app:v1")))

				res := e.Run(t, "copy", "--referrers", src.Ref("app:v1"), dst.Ref("mirror:v1"))
				if res.Code != 0 {
					t.Fatalf("copy --referrers: exit %d: %s", res.Code, res.Stderr)
				}
				if !strings.Contains(res.Stderr, "Copied 3 referrers") {
					t.Errorf("copy --referrers stderr: %s", res.Stderr)
				}
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

// TestCopyReferrersBrokenSource: a referrer listed in the source's tag
// schema but deleted since fails the copy before anything is written,
// naming it (exit 3), and the destination has no trace of the image.
func TestCopyReferrersBrokenSource(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
	dst := testenv.StartReferrersRegistry(t)
	e := testenv.NewEnv(t)
	sig, _, _ := supplyChain(t, e, src, "app")
	if res := e.Run(t, "delete", src.Ref("app@"+sig)); res.Code != 0 {
		t.Fatalf("delete: %s", res.Stderr)
	}
	res := e.Run(t, "copy", "--referrers", src.Ref("app:v1"), dst.Ref("mirror:v1"))
	if res.Code != 3 || !strings.Contains(res.Stderr, sig) {
		t.Errorf("copy with a missing referrer: exit %d, stderr %s; want 3 naming %s", res.Code, res.Stderr, sig)
	}
	if res := e.Run(t, "digest", dst.Ref("mirror:v1")); res.Code != 3 {
		t.Errorf("the destination has mirror:v1 after a failed copy: exit %d %s", res.Code, res.Stdout)
	}
}
