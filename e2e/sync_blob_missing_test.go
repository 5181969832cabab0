package e2e

import (
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// TestMissingSourceBlob: a source that has the manifest asked for but
// answers 404 for one of its blobs (a broken registry, a blob lost to
// garbage collection) is a failed copy, exit 1, with copy as with sync:
// not the not-found 3, which says that what was asked for does not exist.
func TestMissingSourceBlob(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	m := p.e.Crane(t, "manifest", p.src.Ref("app:dev"))
	if m.Code != 0 {
		t.Fatalf("crane manifest: %s", m.Stderr)
	}
	i := strings.Index(m.Stdout, `"layers"`)
	j := strings.Index(m.Stdout[i:], "sha256:")
	layer := m.Stdout[i+j : i+j+71]
	p.sp.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/blobs/" + layer + "$", Kind: testenv.FaultStatus, Status: 404,
		Body: `{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}`})
	for _, args := range [][]string{
		{"copy", p.sp.Host + "/app:dev", p.dp.Host + "/copied/app:dev"},
		{"sync", p.sp.Host + "/app", p.dp.Host + "/synced/app", "--tags", "dev"},
		{"sync", "--keep-going", p.sp.Host + "/app", p.dp.Host + "/kept/app", "--tags", "dev"},
	} {
		res := p.e.Run(t, args...)
		if res.Code != 1 || !strings.Contains(res.Stderr, layer) {
			t.Errorf("%v with a blob missing upstream: exit %d, want 1 naming the blob: %s", args, res.Code, res.Stderr)
		}
	}
}
