package e2e

import (
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// TestSyncReferrersTagSchemaOnce: between registries without the
// referrers API, the source lists each image's sha256-<hex> referrers
// index as a tag, and two tags may name one image. With referrers: true
// every referrers tag is written once, by the copy of its subject: not
// copied again as a tag of its own, nor once per tag of the subject, at
// the same time; the destination ends with the source's tree and a
// re-sync copies nothing.
func TestSyncReferrersTagSchemaOnce(t *testing.T) {
	t.Parallel()
	kind := registryKinds[1]
	for round := range 3 {
		src, dstReg := kind.start(t), kind.start(t)
		e := testenv.NewEnv(t)
		supplyChain(t, e, src, "app")
		if res := e.Crane(t, "tag", src.Ref("app:v1"), "latest"); res.Code != 0 {
			t.Fatalf("crane tag: %s", res.Stderr)
		}
		want := digestTree(e.OrasDiscover(t, src.Ref("app:v1")))
		dst := testenv.NewProxy(t, dstReg.URL, nil)
		if res := e.Run(t, "sync", "--dry-run", "--referrers", src.Ref("app"), dst.Host+"/mirror/app"); res.Code != 0 ||
			strings.Count(res.Stdout, "(a referrers tag, copied with its subject)") != 2 || strings.Count("\n"+res.Stdout, "\ncopy ") != 2 {
			t.Errorf("round %d: dry run: exit %d, want the two referrers tags skipped and v1, latest copied: %s%s", round, res.Code, res.Stdout, res.Stderr)
		}
		res := e.Run(t, "sync", "-j", "8", "--referrers", src.Ref("app"), dst.Host+"/mirror/app")
		if res.Code != 0 {
			t.Fatalf("round %d: sync: exit %d: %s", round, res.Code, res.Stderr)
		}
		if n := dst.Count("PUT", `/manifests/sha256-[0-9a-f]{64}$`); n != 2 {
			t.Errorf("round %d: %d PUTs of referrers tags, want one each for the image and its SBOM (2): %v", round, n, dst.Requests())
		}
		if got := digestTree(e.OrasDiscover(t, dstReg.Ref("mirror/app:latest"))); got != want {
			t.Errorf("round %d: destination tree:\n%s\nwant the source's:\n%s", round, got, want)
		}
		if res := e.Run(t, "sync", "--referrers", src.Ref("app"), dst.Host+"/mirror/app"); res.Code != 0 || res.Stdout != "" {
			t.Errorf("round %d: re-sync: exit %d, stdout %q: %s", round, res.Code, res.Stdout, res.Stderr)
		}
	}
}
