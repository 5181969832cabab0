package e2e

import (
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
