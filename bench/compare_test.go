// Package bench compares whole ctl commands with its peers' (crane, oras,
// regctl) on the same registry, behind the fault proxy, which counts the
// requests and, where marked, adds a fixed latency per request, so that
// round trips count as they do against a real registry.
//
// Fairness: in each iteration every tool works on blobs the registry has
// not seen (a fresh random image per iteration and tool, where the
// benchmark can make one), the order of the tools is reversed every other
// iteration, and ratios are paired (ctl's time in iteration i over the
// peer's in the same iteration), reported as min, median and max.
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

// target is a registry seeded by the benchmark, and a proxy in front of it
// that the compared commands talk to.
type target struct {
	Reg   *testenv.Registry
	Proxy *testenv.Proxy
	Env   *testenv.Env
	// Also are more proxies whose requests count with Proxy's (a copy's
	// source).
	Also []*testenv.Proxy
}

// newTarget starts a registry (seeded directly by seed, without the
// proxy) and a proxy with delay per request in front of it.
func newTarget(b *testing.B, delay time.Duration, seed func(*testenv.Registry)) *target {
	b.Helper()
	reg := testenv.StartRegistry(b, testenv.RegistryOptions{})
	if seed != nil {
		seed(reg)
	}
	p := testenv.NewProxy(b, reg.URL, reg.CAPEM)
	p.SetDelay(delay)
	e := testenv.NewEnv(b)
	// Build every binary before timing anything.
	testenv.CtlBinary(b)
	for _, t := range peerTools {
		testenv.ToolBinary(b, t)
	}
	return &target{Reg: reg, Proxy: p, Env: e}
}

// peerTools are the peers every whole-command comparison runs.
var peerTools = []string{"crane", "oras", "regctl"}

// side is one tool in a comparison. prep readies iteration i, untimed,
// and returns the commands to time, run one after another (argv, the
// binary first); when there are several, the first alone is also reported,
// as "NAME-ms", and all of them together as "NAME-sync-ms" (a pull and the
// sync -f that makes it durable).
type side struct {
	name string
	prep func(b *testing.B, i int) [][]string
	// after cleans up after iteration i, untimed (nil for nothing).
	after func(b *testing.B, i int)
}

// sideRuns are one side's measurements, one entry per iteration.
type sideRuns struct {
	first, all []time.Duration
	reqs       []float64
	rss        int64 // KiB, the peak over all runs
	synced     bool
}

// compare runs sides[0] (ctl) against the others, alternating their
// order per iteration, and reports per side the median time and request
// count at the proxy, and per peer the paired ratios ctl/peer.
func (tg *target) compare(b *testing.B, sides ...side) {
	b.Helper()
	runs := make([]sideRuns, len(sides))
	order := make([]int, len(sides))
	i := 0
	for b.Loop() {
		for k := range order {
			order[k] = k
		}
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, k := range order {
			s := sides[k]
			b.StopTimer()
			cmds := s.prep(b, i)
			for _, p := range tg.proxies() {
				p.Reset()
			}
			b.StartTimer()
			var total time.Duration
			for j, c := range cmds {
				r := runMeasured(b, tg.Env, c[0], c[1:]...)
				total += r.d
				runs[k].rss = max(runs[k].rss, r.rss)
				if j == 0 {
					runs[k].first = append(runs[k].first, r.d)
				}
			}
			b.StopTimer()
			runs[k].all = append(runs[k].all, total)
			runs[k].synced = len(cmds) > 1
			n := 0
			for _, p := range tg.proxies() {
				n += len(p.Requests())
			}
			runs[k].reqs = append(runs[k].reqs, float64(n))
			if s.after != nil {
				s.after(b, i)
			}
			b.StartTimer()
		}
		i++
	}
	ctl := runs[0].all
	for k, s := range sides {
		r := runs[k]
		b.ReportMetric(ms(median(r.first)), s.name+"-ms")
		if len(tg.proxies()) > 0 {
			b.ReportMetric(medianF(r.reqs), s.name+"-req")
		}
		b.ReportMetric(float64(r.rss)/1024, s.name+"-MiB-rss")
		if k > 0 {
			reportRatios(b, s.name, ctl, r.first)
		}
		if r.synced {
			b.ReportMetric(ms(median(r.all)), s.name+"-sync-ms")
			if k > 0 {
				reportRatios(b, s.name+"-sync", ctl, r.all)
			}
		}
	}
	b.ReportMetric(0, "ns/op") // the figures above are what matter
}

// proxies are the proxies whose requests are counted.
func (tg *target) proxies() []*testenv.Proxy {
	if tg.Proxy == nil {
		return tg.Also
	}
	return append([]*testenv.Proxy{tg.Proxy}, tg.Also...)
}

// reportRatios reports min, median and max of ctl[i]/peer[i].
func reportRatios(b *testing.B, name string, ctl, peer []time.Duration) {
	b.Helper()
	rs := make([]float64, len(ctl))
	for i := range ctl {
		rs[i] = float64(ctl[i]) / float64(peer[i])
	}
	slices.Sort(rs)
	b.ReportMetric(rs[0], name+"-ratio-min")
	b.ReportMetric(medianF(rs), name+"-ratio-median")
	b.ReportMetric(rs[len(rs)-1], name+"-ratio-max")
}

// fixed is a side that runs the same command in every iteration.
func fixed(name, bin string, args ...string) side {
	argv := append([]string{bin}, args...)
	return side{name: name, prep: func(*testing.B, int) [][]string { return [][]string{argv} }}
}

// sameOutput checks once that ctl with ctlArgs prints what crane with
// craneArgs does, then compares the two.
func (tg *target) sameOutput(b *testing.B, ctlArgs, craneArgs []string) {
	b.Helper()
	ctl, crane := testenv.CtlBinary(b), testenv.ToolBinary(b, "crane")
	if c, k := tg.run(b, ctl, ctlArgs...), tg.run(b, crane, craneArgs...); c != k {
		b.Fatalf("outputs differ: ctl %d bytes, crane %d bytes", len(c), len(k))
	}
	tg.compare(b, fixed("ctl", ctl, ctlArgs...), fixed("crane", crane, craneArgs...))
}

// run runs one command in the target's environment (without the per-run
// logging of Env.Exec, which would drown the results).
func (tg *target) run(b *testing.B, bin string, args ...string) string {
	b.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = tg.Env.Environ()
	cmd.Dir = tg.Env.Dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v\n%s", bin, args, err, errOut.String())
	}
	return out.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianF(fs []float64) float64 {
	if len(fs) == 0 {
		return 0
	}
	s := slices.Clone(fs)
	slices.Sort(s)
	return s[len(s)/2]
}
