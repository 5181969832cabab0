package e2e

import (
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// TestDeleteReferrers: on both registry kinds, delete --referrers lists
// the referrers first (and with --dry-run changes nothing), then leaves
// neither a referrer manifest, nor a cosign tag, nor a sha256-<hex> index
// (tag or manifest) behind; a plain delete of a digest with referrers says
// how many it leaves orphaned.
func TestDeleteReferrers(t *testing.T) {
	t.Parallel()
	onEachKind(t, func(t *testing.T, kind registryKind, reg *testenv.Registry, e *testenv.Env) {
		sig, sbom, sbomSig := supplyChain(t, e, reg, "app")
		subject := strings.TrimSpace(e.Run(t, "digest", reg.Ref("app:v1")).Stdout)
		cosignTag := strings.Replace(subject, ":", "-", 1) + ".sig"
		cosign := reg.PushRandomImage(t, "app:"+cosignTag, 1, 64)
		cosignDigest, _ := cosign.Digest()
		// Every manifest that must go, referrers indexes included.
		gone := []string{sig, sbom, sbomSig, cosignDigest.String()}
		for _, d := range []string{subject, sbom} {
			res := e.Run(t, "digest", reg.Ref("app:"+strings.Replace(d, ":", "-", 1)))
			if res.Code == 0 {
				gone = append(gone, strings.TrimSpace(res.Stdout))
			}
		}
		if kind.name == "tag-schema" && len(gone) != 6 {
			t.Fatalf("distribution lacks the tag schema's indexes: %v", gone)
		}

		ref := reg.Ref("app@" + subject)
		res := e.Run(t, "delete", "--referrers", "--dry-run", ref)
		lines := strings.Split(strings.TrimSpace(res.Stdout), "\n")
		if res.Code != 0 || lines[len(lines)-1] != "Would delete: "+ref {
			t.Fatalf("dry run: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
		}
		for _, d := range gone {
			if !strings.Contains(res.Stdout, "Would delete: "+reg.Ref("app@"+d)) {
				t.Errorf("dry run does not list %s", d)
			}
		}
		if got := digestTree(e.OrasDiscover(t, ref)); strings.Count(got, "sha256:") != 3 {
			t.Errorf("the dry run changed the tree: %s", got)
		}

		res = e.Run(t, "delete", "--referrers", ref)
		if res.Code != 0 {
			t.Fatalf("delete --referrers: %s", res.Stderr)
		}
		for _, d := range append(gone, subject) {
			if res := e.Run(t, "digest", reg.Ref("app@"+d)); res.Code != 3 {
				t.Errorf("%s is still there after delete --referrers (exit %d)", d, res.Code)
			}
		}
		tags := e.Run(t, "tags", "list", reg.Ref("app"))
		if strings.Contains(tags.Stdout, "sha256-") {
			t.Errorf("orphan tags after delete --referrers:\n%s", tags.Stdout)
		}

		// A plain delete of a digest with referrers says what it orphans.
		_, sbom2, sbomSig2 := supplyChain(t, e, reg, "other")
		res = e.Run(t, "delete", reg.Ref("other@"+sbom2))
		if res.Code != 0 || !strings.Contains(res.Stderr, "has 1 referrers; they remain, orphaned") || !strings.Contains(res.Stderr, sbomSig2) {
			t.Errorf("plain delete of a digest with referrers: exit %d, stderr %s", res.Code, res.Stderr)
		}
	})
}

// TestDeleteReferrerUnlisted: deleting one referrer by digest (an SBOM)
// takes it out of its subject's sha256-<hex> index, where there is one, as
// oras does, keeping the others: ctl referrers and copy --referrers of the
// image still work (a listed referrer that is gone fails them, exit 3),
// oras discover lists what is left, and oras attaches more.
func TestDeleteReferrerUnlisted(t *testing.T) {
	t.Parallel()
	onEachKind(t, func(t *testing.T, kind registryKind, reg *testenv.Registry, e *testenv.Env) {
		sig, sbom, sbomSig := supplyChain(t, e, reg, "app")
		wantCode(t, e.Run(t, "delete", reg.Ref("app@"+sbomSig)), 0)
		wantCode(t, e.Run(t, "delete", reg.Ref("app@"+sbom)), 0)
		res := e.Run(t, "referrers", reg.Ref("app:v1"))
		if res.Code != 0 || !strings.Contains(res.Stdout, sig) || strings.Contains(res.Stdout, sbom) {
			t.Errorf("referrers after deleting the SBOM: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
		}
		if got := digestTree(e.OrasDiscover(t, reg.Ref("app:v1"))); got != sig {
			t.Errorf("oras discover after deleting the SBOM: %q, want the signature %s alone", got, sig)
		}
		wantCode(t, e.Run(t, "copy", "--referrers", reg.Ref("app:v1"), reg.Ref("mirror:v1")), 0)
		// oras keeps the index beside the referrers API too: one naming
		// a deleted manifest, go-containerregistry's registry refuses it,
		// and oras attach with it.
		e.OrasAttach(t, reg.Ref("app:v1"), "application/vnd.in-toto+json", "{}")
	})
}
