package e2e

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// TestSyncResumesAfterSIGKILL: a sync of several repositories (an index
// among them, and an image with a signature), SIGKILLed at random points
// three times, then run to the end, leaves the mirror identical to the
// source: the digest of every tag and platform, and the referrers tree.
// A check afterwards finds nothing missing.
func TestSyncResumesAfterSIGKILL(t *testing.T) {
	t.Parallel()
	src := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dst := testenv.StartRegistry(t, testenv.RegistryOptions{})
	dp := testenv.NewProxy(t, dst.URL, nil)
	dp.SetDelay(15 * time.Millisecond) // long enough to be killed mid-way
	e := testenv.NewEnv(t)
	repos := []string{"a", "b", "c"}
	want := map[string]string{}
	for _, repo := range repos {
		for tag, d := range src.PushTagged(t, repo, []testenv.Tagged{
			{Tags: []string{"v1"}}, {Tags: []string{"v2"}},
			{Tags: []string{"multi"}, Platforms: []string{"linux/amd64", "linux/arm64", "linux/arm/v7"}},
		}, 256<<10) {
			want[repo+":"+tag] = d
		}
	}
	sig := e.OrasAttach(t, src.Ref("a:v1"), "application/vnd.dev.cosign.artifact.sig.v1+json", "signed")
	var plan strings.Builder
	plan.WriteString("sync:\n")
	for _, repo := range repos {
		fmt.Fprintf(&plan, "  - source: %s\n    destination: %s\n    referrers: true\n", src.Ref(repo), dp.Host+"/mirror/"+repo)
	}
	p := writePlan(t, plan.String())

	seed := uint64(time.Now().UnixNano())
	t.Logf("kill points from seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range 3 {
		proc := e.Start(t, testenv.CtlBinary(t), nil, testenv.RunTimeout, "sync", "-j", "2", p)
		time.Sleep(time.Duration(50+rng.IntN(1200)) * time.Millisecond)
		proc.Signal(syscall.SIGKILL)
		res := proc.Wait()
		t.Logf("run %d killed: exit %d, %d images reported copied", i, res.Code, strings.Count(res.Stdout, "\n"))
	}
	if res := e.Run(t, "sync", "-j", "2", p); res.Code != 0 {
		t.Fatalf("final sync: exit %d: %s", res.Code, res.Stderr)
	}
	for ref, d := range want {
		repo, tag, _ := strings.Cut(ref, ":")
		if got := strings.TrimSpace(e.Crane(t, "digest", dst.Ref("mirror/"+repo+":"+tag)).Stdout); got != d {
			t.Errorf("mirror/%s is %q, want %s", ref, got, d)
		}
		if tag == "multi" {
			for _, pl := range []string{"linux/amd64", "linux/arm64", "linux/arm/v7"} {
				s := strings.TrimSpace(e.Crane(t, "digest", "--platform", pl, src.Ref(ref)).Stdout)
				m := strings.TrimSpace(e.Crane(t, "digest", "--platform", pl, dst.Ref("mirror/"+ref)).Stdout)
				if s == "" || s != m {
					t.Errorf("%s %s: mirror %q, source %q", ref, pl, m, s)
				}
			}
		}
	}
	if got := digestTree(e.OrasDiscover(t, dst.Ref("mirror/a:v1"))); !strings.Contains(got, sig) ||
		got != digestTree(e.OrasDiscover(t, src.Ref("a:v1"))) {
		t.Errorf("mirror's referrers of a:v1: %s, want the source's (with %s)", got, sig)
	}
	if res := e.Run(t, "sync", "--check", p); res.Code != 0 {
		t.Errorf("check after resuming: exit %d:\n%s", res.Code, res.Stdout)
	}

	// A signature added upstream to an image the mirror has is drift, and
	// the next sync copies it.
	sbom := e.OrasAttach(t, src.Ref("b:v2"), "application/spdx+json", "{}")
	if res := e.Run(t, "sync", "--check", p); res.Code != 1 || !strings.Contains(res.Stdout, "1 referrer(s) missing") {
		t.Errorf("check with a new referrer upstream: exit %d, want 1:\n%s", res.Code, res.Stdout)
	}
	if res := e.Run(t, "sync", p); res.Code != 0 {
		t.Fatalf("sync of the new referrer: %s", res.Stderr)
	}
	if got := digestTree(e.OrasDiscover(t, dst.Ref("mirror/b:v2"))); !strings.Contains(got, sbom) {
		t.Errorf("the new referrer %s did not reach the mirror: %s", sbom, got)
	}
}

// TestSyncArchiveTempReclaimed: a sync to an OCI archive works in an
// unpacked copy under $TMPDIR. SIGKILLed, it leaves that copy; the next
// sync through an archive removes it (its owner is dead) and its own.
// (pkg/tempdir's test shows a live owner's copy kept.)
func TestSyncArchiveTempReclaimed(t *testing.T) {
	t.Parallel()
	p := newSyncPair(t)
	tmp := t.TempDir()
	p.e.Setenv("TMPDIR", tmp)
	plan := p.plan(t, appPlan)
	usb := filepath.Join(t.TempDir(), "usb.tar")
	temps := func() []string {
		m, _ := filepath.Glob(filepath.Join(tmp, "ctl-sync-oci-*"))
		return m
	}
	p.sp.SetDelay(50 * time.Millisecond) // long enough to be killed with its copy unpacked
	proc := p.e.Start(t, testenv.CtlBinary(t), nil, testenv.RunTimeout, "sync", plan, "--to", "oci:"+usb)
	testenv.WaitFor(t, 10*time.Second, "the sync's unpacked copy and lock file under $TMPDIR", func() bool { return len(temps()) >= 2 })
	proc.Signal(syscall.SIGKILL)
	proc.Wait()
	if left := temps(); len(left) != 2 {
		t.Fatalf("the killed sync left %v, want its copy and lock file", left)
	}
	p.sp.SetDelay(0)
	if res := p.e.Run(t, "sync", plan, "--to", "oci:"+usb); res.Code != 0 || strings.Count(res.Stdout, "\n") != 2 {
		t.Fatalf("sync after the kill: exit %d, stdout %q: %s", res.Code, res.Stdout, res.Stderr)
	}
	if left := temps(); len(left) != 0 {
		t.Errorf("after the next sync through an archive, %s holds %v", tmp, left)
	}
}
