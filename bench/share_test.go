package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// The sharing benchmarks push and pull one image with ctl and with crane,
// alternating, each run against a fresh repository (or a fresh local
// store/layout) so that every run does the whole transfer. crane pushes
// from an OCI image layout (crane push DIR REF): like ctl's store it
// streams layers from blob files, with no tarball to decompress or scan,
// which is the fairest crane invocation. crane pulls with --format oci into
// a new layout, as ctl pulls into its (OCI layout) store.

// shareRun is one timed command and its peak RSS.
type shareRun struct {
	d   time.Duration
	rss int64 // KiB
}

// timeBin is GNU time, which reports a command's peak RSS. The rusage of
// a child started straight from this (large) test process is no good:
// Go starts children with vfork, so their peak includes the parent's
// pages until exec.
const timeBin = "/usr/bin/time"

// runMeasured runs bin with args in e, timing it and reading its peak RSS.
func runMeasured(b *testing.B, e *testenv.Env, bin string, args ...string) shareRun {
	b.Helper()
	rssFile := filepath.Join(b.TempDir(), "rss")
	cmd := exec.Command(bin, args...)
	if _, err := os.Stat(timeBin); err == nil {
		cmd = exec.Command(timeBin, append([]string{"-f", "%M", "-o", rssFile, bin}, args...)...)
	}
	cmd.Env = e.Environ()
	cmd.Dir = e.Dir
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v\n%s", filepath.Base(bin), args, err, errOut.String())
	}
	d := time.Since(start)
	var rss int64
	if out, err := os.ReadFile(rssFile); err == nil {
		rss, _ = strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss // an upper bound, see timeBin
	}
	return shareRun{d: d, rss: rss}
}

// mustRun runs an untimed setup command.
func mustRun(b *testing.B, e *testenv.Env, bin string, args ...string) {
	b.Helper()
	runMeasured(b, e, bin, args...)
}

// report prints the ratio of medians and both medians, plus peak RSS.
func report(b *testing.B, ctl, crane []shareRun) {
	b.Helper()
	times := func(rs []shareRun) []time.Duration {
		out := make([]time.Duration, len(rs))
		for i, r := range rs {
			out[i] = r.d
		}
		return out
	}
	peak := func(rs []shareRun) int64 {
		var m int64
		for _, r := range rs {
			m = max(m, r.rss)
		}
		return m
	}
	cm, km := median(times(ctl)), median(times(crane))
	b.ReportMetric(float64(cm)/float64(km), "ctl/crane")
	b.ReportMetric(float64(cm.Milliseconds()), "ctl-ms")
	b.ReportMetric(float64(km.Milliseconds()), "crane-ms")
	b.ReportMetric(float64(peak(ctl))/1024, "ctl-MiB-rss")
	b.ReportMetric(float64(peak(crane))/1024, "crane-MiB-rss")
	b.ReportMetric(0, "ns/op")
}

// seedImage pushes a random image to a scratch registry, pulls it into the
// env's store (ctl) and into an OCI layout (crane), and returns the store
// reference and the layout directory. The scratch registry is another
// host, so ctl finds no repository on the target registry to mount from:
// both tools upload every blob.
func seedImage(b *testing.B, tg *target, layers int, size int64) (string, string) {
	b.Helper()
	scratch := testenv.StartRegistry(b, testenv.RegistryOptions{})
	scratch.PushRandomImage(b, "seed/img:v1", layers, size)
	src := scratch.Ref("seed/img:v1")
	mustRun(b, tg.Env, testenv.CtlBinary(b), "pull", "-q", src)
	dir := filepath.Join(b.TempDir(), "layout")
	mustRun(b, tg.Env, testenv.CraneBinary(b), "pull", "--format", "oci", src, dir)
	return src, dir
}

// benchPush alternates `ctl push` and `crane push DIR` of the seeded image
// to host, each run to a repository never pushed to before.
func benchPush(b *testing.B, tg *target, host string, layers int, size int64) {
	src, dir := seedImage(b, tg, layers, size)
	ctl, crane := testenv.CtlBinary(b), testenv.CraneBinary(b)
	var ctlRuns, craneRuns []shareRun
	i := 0
	for b.Loop() {
		i++
		ref := fmt.Sprintf("%s/ctl%d/img:v1", host, i)
		b.StopTimer()
		mustRun(b, tg.Env, ctl, "tag", src, ref)
		b.StartTimer()
		ctlRuns = append(ctlRuns, runMeasured(b, tg.Env, ctl, "push", "-q", ref))
		craneRuns = append(craneRuns, runMeasured(b, tg.Env, crane, "push", dir, fmt.Sprintf("%s/crane%d/img:v1", host, i)))
		// Forget the pushed reference, or the next run would mount every
		// blob from this repository instead of uploading it.
		b.StopTimer()
		mustRun(b, tg.Env, ctl, "rmi", ref)
		b.StartTimer()
	}
	report(b, ctlRuns, craneRuns)
}

// BenchmarkPushLatency: 10 layers of 100 KB to a registry 20 ms away,
// where round trips are the whole cost. Target: ctl/crane <= 0.5.
func BenchmarkPushLatency(b *testing.B) {
	tg := newTarget(b, testenv.RegistryOptions{}, nil)
	benchPush(b, tg, tg.Proxy.Host, 10, 100_000)
}

// BenchmarkPushBandwidth: 5 layers of 48 MiB over loopback, straight to
// the registry. Target: ctl/crane <= 1.0 and ctl's peak RSS <= 96 MiB.
func BenchmarkPushBandwidth(b *testing.B) {
	tg := newTarget(b, testenv.RegistryOptions{}, nil)
	benchPush(b, tg, tg.Reg.Host, 5, 48<<20)
}

// BenchmarkPullBandwidth: the same image pulled over loopback into an
// empty store (ctl) and an empty layout (crane --format oci).
func BenchmarkPullBandwidth(b *testing.B) {
	tg := newTarget(b, testenv.RegistryOptions{}, nil)
	tg.Reg.PushRandomImage(b, "seed/img:v1", 5, 48<<20)
	src := tg.Reg.Ref("seed/img:v1")
	benchPull(b, tg, src)
}

// benchPull alternates `ctl pull` (with ctlFlags) of src into an empty
// store and `crane pull --format oci` into an empty layout.
func benchPull(b *testing.B, tg *target, src string, ctlFlags ...string) {
	ctl, crane := testenv.CtlBinary(b), testenv.CraneBinary(b)
	var ctlRuns, craneRuns []shareRun
	// The registry wrote the seed without syncing: let it reach the disk
	// before the first run, as the removals after each run do below.
	syscall.Sync()
	for b.Loop() {
		b.StopTimer()
		tmp, err := os.MkdirTemp("", "ctl-bench-pull-")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		args := append([]string{"--store", filepath.Join(tmp, "store"), "pull", "-q"}, ctlFlags...)
		ctlRuns = append(ctlRuns, runMeasured(b, tg.Env, ctl, append(args, src)...))
		craneRuns = append(craneRuns, runMeasured(b, tg.Env, crane, "pull", "--format", "oci", src, filepath.Join(tmp, "layout")))
		b.StopTimer()
		os.RemoveAll(tmp)
		// Let the removal reach the disk now: with the discard mount
		// option its cost otherwise lands in the next run's first journal
		// commit, always ctl's, which is the first to sync.
		syscall.Sync()
		b.StartTimer()
	}
	report(b, ctlRuns, craneRuns)
}
