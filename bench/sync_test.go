package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// BenchmarkSync mirrors R repositories × T tags (images sharing two base
// layers, one layer of their own) from one registry to another, both
// behind the latency proxy, with ctl sync, skopeo sync and regsync, each
// into its own fresh prefix per iteration: a first sync, then a no-op
// re-sync. It reports the ratios of medians to the faster peer, ctl's
// requests (and pings) on the no-op re-sync, and peak RSS. R and T default to
// the 20 × 25 (CTL_BENCH_SYNC_REPOS, CTL_BENCH_SYNC_TAGS); at most
// three iterations run.
func BenchmarkSync(b *testing.B) {
	repos, tags := envInt("CTL_BENCH_SYNC_REPOS", 20), envInt("CTL_BENCH_SYNC_TAGS", 25)
	src := newTarget(b, latency, func(reg *testenv.Registry) { seedSync(b, reg, repos, tags) })
	dst := newTarget(b, latency, nil)
	skopeo, regsync := testenv.SystemBinary(b, "skopeo"), testenv.ToolBinary(b, "regsync")
	e := src.Env

	var first, noop = map[string][]shareRun{}, map[string][]shareRun{}
	var noopRequests, noopPings int
	// Each iteration is three whole mirrorings and three re-syncs: make
	// bench's 20x would take most of its half hour at the size, so
	// at most three are run (the metrics are medians, not per-op times).
	for i := range min(b.N, 3) {
		prefix := func(tool string) string { return fmt.Sprintf("%s/%s-%d", dst.Proxy.Host, tool, i) }
		plan := writeFile(b, "plan.yaml", fmt.Sprintf("sync:\n  - source: %s/bench/*\n    destination: %s\n", src.Proxy.Host, prefix("ctl")))
		var images []string
		var targets []string
		for r := range repos {
			images = append(images, fmt.Sprintf("    bench/r%d: []", r))
			targets = append(targets, fmt.Sprintf("  - source: %s/bench/r%d\n    target: %s/bench/r%d\n    type: repository", src.Proxy.Host, r, prefix("regsync"), r))
		}
		skopeoYAML := writeFile(b, "skopeo.yaml", fmt.Sprintf("%s:\n  tls-verify: false\n  images:\n%s\n", src.Proxy.Host, strings.Join(images, "\n")))
		regsyncYAML := writeFile(b, "regsync.yaml", fmt.Sprintf("version: 1\ncreds:\n  - registry: %s\n    tls: disabled\n  - registry: %s\n    tls: disabled\ndefaults:\n  parallel: 4\nsync:\n%s\n",
			src.Proxy.Host, dst.Proxy.Host, strings.Join(targets, "\n")))
		runs := map[string][]string{
			"ctl":     {testenv.CtlBinary(b), "sync", "-q", plan},
			"skopeo":  {skopeo, "sync", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false", skopeoYAML, prefix("skopeo")},
			"regsync": {regsync, "once", "-c", regsyncYAML},
		}
		for _, tool := range []string{"ctl", "skopeo", "regsync"} {
			first[tool] = append(first[tool], runMeasured(b, e, runs[tool][0], runs[tool][1:]...))
		}
		for _, tool := range []string{"ctl", "skopeo", "regsync"} {
			if tool == "ctl" {
				src.Proxy.Reset()
				dst.Proxy.Reset()
			}
			noop[tool] = append(noop[tool], runMeasured(b, e, runs[tool][0], runs[tool][1:]...))
			if tool == "ctl" {
				noopRequests = len(src.Proxy.Requests()) + len(dst.Proxy.Requests())
				noopPings = src.Proxy.Count("GET", "^/v2/$") + dst.Proxy.Count("GET", "^/v2/$")
			}
		}
	}
	faster := func(m map[string][]shareRun) float64 {
		return float64(min(medianRun(m["skopeo"]), medianRun(m["regsync"])))
	}
	b.ReportMetric(float64(medianRun(first["ctl"]))/faster(first), "first-ctl/peer")
	b.ReportMetric(float64(medianRun(noop["ctl"]))/faster(noop), "noop-ctl/peer")
	for _, tool := range []string{"ctl", "skopeo", "regsync"} {
		b.ReportMetric(float64(medianRun(first[tool]).Milliseconds()), "first-"+tool+"-ms")
		b.ReportMetric(float64(medianRun(noop[tool]).Milliseconds()), "noop-"+tool+"-ms")
	}
	// The last iteration's no-op: the bound is repos × tags HEADs
	// plus a tag list per repository (2 × repos, both sides), and the
	// pattern's catalog listing.
	b.ReportMetric(float64(noopRequests)/float64(repos*tags), "noop-ctl-req/tag")
	b.ReportMetric(float64(noopRequests), "noop-ctl-req")
	b.ReportMetric(float64(noopPings), "noop-ctl-pings")
	var rss int64
	for _, r := range append(first["ctl"], noop["ctl"]...) {
		rss = max(rss, r.rss)
	}
	b.ReportMetric(float64(rss)/1024, "ctl-MiB-rss")
	b.ReportMetric(0, "ns/op")
}

// seedSync pushes repos × tags images sharing two base layers.
func seedSync(b *testing.B, reg *testenv.Registry, repos, tags int) {
	b.Helper()
	base, err := random.Image(64<<10, 2)
	if err != nil {
		b.Fatal(err)
	}
	var refs []string
	for r := range repos {
		for t := range tags {
			refs = append(refs, fmt.Sprintf("bench/r%d:v%d", r, t))
		}
	}
	testenv.ForEach(b, refs, func(ref string) error {
		own, err := random.Layer(16<<10, "application/vnd.docker.image.rootfs.diff.tar.gzip")
		if err != nil {
			return err
		}
		img, err := mutate.AppendLayers(base, own)
		if err != nil {
			return err
		}
		return remote.Write(reg.ParseRef(b, ref), img, reg.RemoteOptions()...)
	})
}

// medianRun is the median time of rs.
func medianRun(rs []shareRun) time.Duration {
	ds := make([]time.Duration, len(rs))
	for i, r := range rs {
		ds[i] = r.d
	}
	return median(ds)
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil && n > 0 {
		return n
	}
	return def
}

func writeFile(b *testing.B, name, body string) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}
