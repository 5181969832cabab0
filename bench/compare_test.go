// Package bench compares whole ctl commands with crane's on the same
// registry, behind a proxy that adds a fixed latency per request, so that
// round trips count as they do against a real registry.
package bench

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// latency is added to every request through the proxy.
const latency = 20 * time.Millisecond

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// target is a registry seeded by the benchmark, and a delaying proxy in
// front of it that the compared commands talk to.
type target struct {
	Reg   *testenv.Registry
	Proxy *testenv.Proxy
	Env   *testenv.Env
}

// newTarget starts a registry (seeded directly by seed, without latency)
// and a proxy with latency in front of it.
func newTarget(b *testing.B, opts testenv.RegistryOptions, seed func(*testenv.Registry)) *target {
	b.Helper()
	reg := testenv.StartRegistry(b, opts)
	if seed != nil {
		seed(reg)
	}
	p := testenv.NewProxy(b, reg.URL, reg.CAPEM)
	p.SetDelay(latency)
	e := testenv.NewEnv(b)
	// Build both binaries before timing anything.
	testenv.CtlBinary(b)
	testenv.CraneBinary(b)
	return &target{Reg: reg, Proxy: p, Env: e}
}

// compare alternates ctl and crane runs (ctl first, then crane, per
// iteration), checks that both succeed with the same output when same is
// set, and reports the ratio of their medians ("ctl/crane") and both medians.
func (tg *target) compare(b *testing.B, ctlArgs, craneArgs []string, same bool) {
	b.Helper()
	tg.compareWith(b, ctlArgs, testenv.CraneBinary(b), craneArgs, same)
}

// compareWith is compare with the crane side run as peer peerArgs (a
// shell loop of crane commands, say).
func (tg *target) compareWith(b *testing.B, ctlArgs []string, peer string, peerArgs []string, same bool) {
	b.Helper()
	var ctlTimes, craneTimes []time.Duration
	ctl := testenv.CtlBinary(b)
	for b.Loop() {
		ctlOut, d := tg.run(b, ctl, ctlArgs)
		ctlTimes = append(ctlTimes, d)
		craneOut, d := tg.run(b, peer, peerArgs)
		craneTimes = append(craneTimes, d)
		if same && ctlOut != craneOut {
			b.Fatalf("outputs differ: ctl %d bytes, crane %d bytes", len(ctlOut), len(craneOut))
		}
	}
	cm, km := median(ctlTimes), median(craneTimes)
	b.ReportMetric(float64(cm)/float64(km), "ctl/crane")
	b.ReportMetric(float64(cm.Milliseconds()), "ctl-ms")
	b.ReportMetric(float64(km.Milliseconds()), "crane-ms")
	b.ReportMetric(0, "ns/op") // the medians above are what matter
}

// run times one command in the target's environment (without the per-run
// logging of Env.Exec, which would drown the results).
func (tg *target) run(b *testing.B, bin string, args []string) (string, time.Duration) {
	b.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = tg.Env.Environ()
	cmd.Dir = tg.Env.Dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		b.Fatalf("%s %v: %v\n%s", bin, args, err, errOut.String())
	}
	return out.String(), d
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
