// Command benchtable turns the output of `go test -bench` into the Markdown
// tables of bench/README.md, written between its markers
// (<!-- bench:start --> and <!-- bench:end -->), so that the figures there
// are always those of the last `make bench`. The hand-written prose outside
// the markers is kept.
//
// The whole-command benchmarks (bench/) report per tool NAME the metrics
// NAME-ms, NAME-req, NAME-MiB-rss, NAME-sync-ms and the paired ratios
// NAME-ratio-min/median/max (ctl's time over NAME's, iteration by
// iteration); those become one row per tool. Any other benchmark becomes
// one row listing its metrics as reported.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	startMarker = "<!-- bench:start -->"
	endMarker   = "<!-- bench:end -->"
)

func main() {
	in := flag.String("in", "", "file with the output of go test -bench (plain, not -json)")
	readme := flag.String("readme", "bench/README.md", "Markdown file to write the tables into, between its markers")
	loadStart := flag.String("load", "", "load average at the start of the run (/proc/loadavg)")
	benchtime := flag.String("benchtime", "", "the -benchtime of the whole-command benchmarks")
	flag.Parse()
	if err := run(*in, *readme, *loadStart, *benchtime); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

func run(in, readme, loadStart, benchtime string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	res, err := parse(f)
	if err != nil {
		return err
	}
	if len(res.Benchmarks) == 0 {
		return fmt.Errorf("%s: no benchmark results", in)
	}
	old, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	loadEnd, _ := os.ReadFile("/proc/loadavg")
	h := header{
		Date:      time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Go:        runtime.Version(),
		NProc:     runtime.NumCPU(),
		CPU:       res.CPU,
		LoadStart: loadAvg(loadStart),
		LoadEnd:   loadAvg(string(loadEnd)),
		Benchtime: benchtime,
	}
	out, err := splice(string(old), render(h, res.Benchmarks))
	if err != nil {
		return fmt.Errorf("%s: %w", readme, err)
	}
	return os.WriteFile(readme, []byte(out), 0o644)
}

// loadAvg keeps the three load averages of a /proc/loadavg line.
func loadAvg(s string) string {
	f := strings.Fields(s)
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}

// metric is one value reported by a benchmark, with its unit.
type metric struct {
	Value float64
	Unit  string
}

// benchmark is one result line.
type benchmark struct {
	Pkg     string // import path, from the "pkg:" line before it
	Name    string // without the -GOMAXPROCS suffix
	N       int    // iterations
	Metrics []metric
}

// results are the parsed output.
type results struct {
	CPU        string
	Benchmarks []benchmark
}

// parse reads go test -bench output (several packages' in a row).
func parse(r io.Reader) (results, error) {
	var res results
	var pkg string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
		case strings.HasPrefix(line, "cpu: "):
			res.CPU = strings.TrimPrefix(line, "cpu: ")
		case strings.HasPrefix(line, "Benchmark"):
			f := strings.Fields(line)
			if len(f) < 2 || len(f)%2 != 0 {
				continue // a benchmark's name alone, before its log or result
			}
			n, err := strconv.Atoi(f[1])
			if err != nil {
				continue
			}
			bm := benchmark{Pkg: pkg, Name: trimProcs(f[0]), N: n}
			for i := 2; i+1 < len(f); i += 2 {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					return res, fmt.Errorf("%s: bad value %q", bm.Name, f[i])
				}
				bm.Metrics = append(bm.Metrics, metric{v, f[i+1]})
			}
			res.Benchmarks = append(res.Benchmarks, bm)
		}
	}
	return res, sc.Err()
}

// trimProcs drops the -N GOMAXPROCS suffix of a benchmark name.
func trimProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

// header describes the run.
type header struct {
	Date, Go, CPU      string
	NProc              int
	LoadStart, LoadEnd string
	Benchtime          string
}

// The per-tool metrics of the whole-command benchmarks, by unit suffix.
var toolSuffixes = []string{"-ratio-median", "-ratio-min", "-ratio-max", "-sync-ms", "-MiB-rss", "-ms", "-req"}

// toolRow is one tool's figures in one benchmark.
type toolRow struct {
	Tool string
	M    map[string]float64 // by suffix
}

// splitTools separates the per-tool metrics (ctl first, then the others in
// the order they first appear) from the others, leaving out the ns/op a benchmark zeroes.
func splitTools(ms []metric) ([]toolRow, []metric) {
	var rows []toolRow
	var other []metric
	for _, m := range ms {
		tool, suffix := "", ""
		for _, s := range toolSuffixes {
			if t, ok := strings.CutSuffix(m.Unit, s); ok && t != "" {
				tool, suffix = t, s
				break
			}
		}
		if tool == "" {
			other = append(other, m)
			continue
		}
		// A "-sync" tool's ratio belongs to the tool's own row.
		if t, ok := strings.CutSuffix(tool, "-sync"); ok && strings.HasPrefix(suffix, "-ratio") {
			tool, suffix = t, "-sync"+suffix
		}
		i := slices.IndexFunc(rows, func(r toolRow) bool { return r.Tool == tool })
		if i < 0 {
			rows = append(rows, toolRow{Tool: tool, M: map[string]float64{}})
			i = len(rows) - 1
		}
		rows[i].M[suffix] = m.Value
	}
	// ctl first: go test prints the metrics sorted by unit.
	slices.SortStableFunc(rows, func(a, b toolRow) int {
		return boolInt(b.Tool == "ctl") - boolInt(a.Tool == "ctl")
	})
	if len(rows) > 0 {
		other = slices.DeleteFunc(other, func(m metric) bool { return m.Unit == "ns/op" && m.Value == 0 })
	}
	return rows, other
}

// render writes the tables: the whole-command comparisons first, then the
// other benchmarks.
func render(h header, bs []benchmark) string {
	var w strings.Builder
	fmt.Fprintf(&w, "Generated by `make bench` on %s: %s, %d CPUs", h.Date, h.Go, h.NProc)
	if h.CPU != "" {
		fmt.Fprintf(&w, " (%s)", h.CPU)
	}
	if h.LoadStart != "" {
		fmt.Fprintf(&w, ", load average %s at the start", h.LoadStart)
	}
	if h.LoadEnd != "" {
		fmt.Fprintf(&w, ", %s at the end", h.LoadEnd)
	}
	if h.Benchtime != "" {
		fmt.Fprintf(&w, "; whole commands -benchtime %s", h.Benchtime)
	}
	w.WriteString(". Do not edit: rerun `make bench`.\n\n")
	w.WriteString("Whole commands (bench/): median time and requests per run; ctl/tool is the paired ratio, ctl's time over the tool's in the same iteration, min / median / max; \"+ sync\" is the tool's pull followed by `sync -f` of what it wrote (ctl's pull is durable by itself).\n\n")
	w.WriteString("| Benchmark | tool | ms | req | ctl/tool | + sync ms | ctl/(tool + sync) | peak RSS MiB |\n|---|---|---|---|---|---|---|---|\n")
	var others []benchmark
	for _, b := range bs {
		rows, other := splitTools(b.Metrics)
		if len(rows) == 0 {
			others = append(others, b)
			continue
		}
		for _, r := range rows {
			fmt.Fprintf(&w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", b.Name, r.Tool,
				num(r.M, "-ms"), num(r.M, "-req"), ratios(r.M, ""),
				num(r.M, "-sync-ms"), ratios(r.M, "-sync"), num(r.M, "-MiB-rss"))
		}
		for _, m := range other {
			fmt.Fprintf(&w, "| %s | | %s %s | | | | | |\n", b.Name, format(m.Value), m.Unit)
		}
	}
	if len(others) > 0 {
		w.WriteString("\nIn-process benchmarks, per operation:\n\n| Package | Benchmark | figures |\n|---|---|---|\n")
		for _, b := range others {
			var fs []string
			for _, m := range b.Metrics {
				fs = append(fs, format(m.Value)+" "+m.Unit)
			}
			fmt.Fprintf(&w, "| %s | %s | %s |\n", b.Pkg, b.Name, strings.Join(fs, ", "))
		}
	}
	return w.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func num(m map[string]float64, suffix string) string {
	v, ok := m[suffix]
	if !ok {
		return ""
	}
	return format(v)
}

func ratios(m map[string]float64, prefix string) string {
	med, ok := m[prefix+"-ratio-median"]
	if !ok {
		return ""
	}
	return fmt.Sprintf("%.2f / **%.2f** / %.2f", m[prefix+"-ratio-min"], med, m[prefix+"-ratio-max"])
}

// format prints a whole or large value without decimals, others with
// three significant digits at most.
func format(v float64) string {
	switch {
	case v == float64(int64(v)) || v >= 100 || v <= -100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10 || v <= -10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// splice replaces what is between the markers in doc with table.
func splice(doc, table string) (string, error) {
	i := strings.Index(doc, startMarker)
	j := strings.Index(doc, endMarker)
	if i < 0 || j < i {
		return "", errors.New("no " + startMarker + " ... " + endMarker + " markers")
	}
	return doc[:i+len(startMarker)] + "\n" + table + doc[j:], nil
}
