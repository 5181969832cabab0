package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestShareFlagsToOptions(t *testing.T) {
	t.Parallel()
	ios, _, _ := TestIO("")
	f := &Factory{IO: ios, Opts: &GlobalOptions{}}

	var push *pushOptions
	c := newPushCmd(f, func(o *pushOptions) error { push = o; return nil })
	c.SetArgs([]string{"-a", "-j", "3", "-q", "reg/app"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if !push.AllTags || push.Jobs != 3 || !push.Quiet || push.Ref != "reg/app" {
		t.Errorf("push options: %+v", push)
	}

	var pull *pullOptions
	c = newPullCmd(f, func(o *pullOptions) error { pull = o; return nil })
	c.SetArgs([]string{"--all-tags", "--platform", "linux/arm64/v8", "reg/app"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if !pull.AllTags || pull.Platform != "linux/arm64/v8" || pull.Jobs != registry.DefaultJobs || pull.Ref != "reg/app" {
		t.Errorf("pull options: %+v", pull)
	}

	var cp *copyOptions
	c = newCopyCmd(f, func(o *copyOptions) error { cp = o; return nil })
	c.SetArgs([]string{"-a", "--platform", "linux/amd64", "a/b", "c/d"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if !cp.AllTags || cp.Platform != "linux/amd64" || cp.Src != "a/b" || cp.Dst != "c/d" {
		t.Errorf("copy options: %+v", cp)
	}
}

func TestShareUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"push", "-a", "reg.example/app:v1"},
		{"pull", "-a", "reg.example/app@sha256:" + strings.Repeat("a", 64)},
		{"pull", "--platform", "linux", "reg.example/app"},
		{"copy", "-j", "0", "reg.example/a", "reg.example/b"},
		{"copy", "a"},
	} {
		ios, _, errOut := TestIO("")
		if code := Main(context.Background(), ios, args); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, errOut)
		}
	}
	// A bad --platform is named as such (not as an invalid reference), the
	// same way by every command that takes it.
	for _, c := range []string{"pull", "copy", "digest"} {
		args := []string{c, "--platform", "bogus", "reg.example/a"}
		if c == "copy" {
			args = append(args, "reg.example/b")
		}
		_, errOut, code := run(t, args...)
		if want := "Error: invalid --platform \"bogus\": want OS/ARCH[/VARIANT], e.g. linux/arm64/v8\n"; code != exitUsage || errOut != want {
			t.Errorf("%s: exit %d, stderr %q, want %q", c, code, errOut, want)
		}
	}
}

// copyFixture is an in-process registry holding app:v1 (3 layers).
func copyFixture(t *testing.T) (string, string) {
	t.Helper()
	host, _, _ := lookRegistry(t)
	img, err := random.Image(4096, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/src:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return host, d.String()
}

// TestCopyOutput runs the copy command in-process and checks stdout and
// stderr exactly, without and with a terminal on stderr.
func TestCopyOutput(t *testing.T) {
	t.Parallel()
	host, digest := copyFixture(t)

	ios, out, errOut := TestIO("")
	if code := Main(context.Background(), ios, []string{"copy", host + "/src:v1", host + "/dst:v1"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// ggcr's in-process registry keeps blobs registry-wide, so a HEAD in
	// the new repository finds every layer.
	lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
	want := fmt.Sprintf("The push refers to repository [%s/dst]", host)
	if lines[0] != want || len(lines) != 4 {
		t.Fatalf("stderr:\n%s\nwant %q then 3 layer lines", errOut, want)
	}
	for _, l := range lines[1:] {
		if !regexp.MustCompile(`^[0-9a-f]{12}: Layer already exists$`).MatchString(l) {
			t.Errorf("layer line %q", l)
		}
	}
	if !regexp.MustCompile(`^v1: digest: ` + digest + ` size: \d+\n$`).MatchString(out.String()) {
		t.Errorf("stdout %q", out)
	}

	// On a terminal: bars redrawn in place (cursor movement), the same
	// stdout, and the final state names every layer.
	ios, out, errOut = TestIO("")
	ios.StderrTTY = true
	if code := Main(context.Background(), ios, []string{"copy", host + "/src:v1", host + "/tty:v1"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut.String(), "\x1b[2K") || strings.Count(errOut.String(), "Layer already exists") < 3 {
		t.Errorf("terminal stderr %q", errOut)
	}
	if !strings.HasPrefix(out.String(), "v1: digest: "+digest) {
		t.Errorf("terminal stdout %q", out)
	}

	// -q: results only.
	ios, out, errOut = TestIO("")
	if code := Main(context.Background(), ios, []string{"copy", "-q", host + "/src:v1", host + "/q:v1"}); code != 0 || errOut.Len() != 0 || out.Len() == 0 {
		t.Errorf("-q: exit %d stdout %q stderr %q", code, out, errOut)
	}

	// A missing source: the error alone, no push header before it.
	ios, out, errOut = TestIO("")
	if code := Main(context.Background(), ios, []string{"copy", host + "/nope:v1", host + "/dst:v1"}); code != exitNotFound ||
		out.Len() != 0 || !strings.HasPrefix(errOut.String(), "Error: ") || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("missing source: exit %d stdout %q stderr %q", code, out, errOut)
	}
}

// TestProgressBars feeds the progress printer a pull's events on a
// terminal: a bar per layer while bytes move, then docker's statuses; the
// total goes when the work ends.
func TestProgressBars(t *testing.T) {
	t.Parallel()
	ios, _, errOut := TestIO("")
	ios.StderrTTY = true
	p := newProgress(ios, false, pullWords)
	h1 := mustHash(t, strings.Repeat("1", 64))
	h2 := mustHash(t, strings.Repeat("2", 64))
	p.Event(registry.Event{Kind: registry.BlobExists, Digest: h1, Size: 10, Layer: true})
	p.Event(registry.Event{Kind: registry.BlobStarted, Digest: h2, Size: 1000, Layer: true})
	p.Event(registry.Event{Kind: registry.BlobProgress, Digest: h2, Size: 1000, Done: 500, Layer: true})
	p.draw(false)
	mid := errOut.String()
	if !strings.Contains(mid, "111111111111: Already exists") || !regexp.MustCompile(`222222222222: +50% \|`).MatchString(mid) {
		t.Errorf("mid-transfer drawing %q", mid)
	}
	if !regexp.MustCompile(`total: +50% \|`).MatchString(mid) {
		t.Errorf("mid-transfer total %q, want 50%%", mid)
	}
	p.Event(registry.Event{Kind: registry.BlobDone, Digest: h2, Size: 1000, Done: 1000, Layer: true})
	p.Close()
	final := errOut.String()[len(mid):]
	if !strings.Contains(final, "222222222222: Pull complete") || strings.Contains(final, "total") || !strings.HasSuffix(final, "\x1b[J") {
		t.Errorf("final drawing %q: want the layers, no total, and what was below erased", final)
	}
}

// TestBarLineFits: a bar line never exceeds the columns it is given, and
// narrows the id and the units before the bar.
func TestBarLineFits(t *testing.T) {
	t.Parallel()
	id := strings.Repeat("4d5c3d93500b", 6)[:64]
	for cols := 1; cols <= 120; cols++ {
		for _, done := range []int64{0, 1234, 45_600_000} {
			if l := barLine(id, done, 45_600_000, cols); width(l) > cols {
				t.Fatalf("%d columns: %q is %d wide", cols, l, width(l))
			}
			if l := statusLine(id, "Mounted from gallery/base", cols); width(l) > cols {
				t.Fatalf("%d columns: %q is %d wide", cols, l, width(l))
			}
		}
	}
	for _, tc := range []struct {
		cols int    // columns available
		want string // the line, bar filled to 50%
	}{
		{79, "4d5c3d93500b: 50% |███████████████               | 22.8MB/45.6MB"},
		{49, "4d5c3d9: 50% |███████████           | 22.8M/45.6M"},
		{30, "4d5c3d9: 50% |███████        |"},
		{12, "4d5c3d9: 50%"},
	} {
		if got := barLine(id, 22_800_000, 45_600_000, tc.cols); got != tc.want {
			t.Errorf("%d columns: %q, want %q", tc.cols, got, tc.want)
		}
	}
}

func mustHash(t *testing.T, hex string) v1.Hash {
	t.Helper()
	h, err := v1.NewHash("sha256:" + hex)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestPullPushOutput pulls and pushes through a real store in-process and
// checks docker's lines exactly, on a terminal and off it.
func TestPullPushOutput(t *testing.T) {
	t.Parallel()
	host, digest := copyFixture(t)
	storeDir := t.TempDir()
	run := func(tty bool, args ...string) (string, string) {
		t.Helper()
		ios, out, errOut := TestIO("")
		ios.StderrTTY = tty
		if code := Main(context.Background(), ios, append([]string{"--store", storeDir}, args...)); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out.String(), errOut.String()
	}

	out, errOut := run(false, "pull", host+"/src:v1")
	if want := "Digest: " + digest + "\nStatus: Downloaded newer image for " + host + "/src:v1\n"; out != want {
		t.Errorf("pull stdout %q, want %q", out, want)
	}
	if !regexp.MustCompile(`^v1: Pulling from src\n([0-9a-f]{12}: Pull complete\n){3}$`).MatchString(errOut) {
		t.Errorf("pull stderr %q", errOut)
	}
	out, errOut = run(true, "pull", host+"/src:v1")
	if !strings.HasSuffix(out, "Status: Image is up to date for "+host+"/src:v1\n") || !strings.HasPrefix(errOut, "v1: Pulling from src\n") {
		t.Errorf("second pull: stdout %q stderr %q", out, errOut)
	}

	// -q: the reference alone on stdout, nothing on stderr (docker pull -q).
	if out, errOut = run(true, "pull", "-q", host+"/src:v1"); out != host+"/src:v1\n" || errOut != "" {
		t.Errorf("pull -q: stdout %q stderr %q", out, errOut)
	}

	run(false, "tag", host+"/src:v1", host+"/pushed:v2")
	out, errOut = run(false, "push", host+"/pushed:v2")
	if !regexp.MustCompile(`^v2: digest: ` + digest + ` size: \d+\n$`).MatchString(out) {
		t.Errorf("push stdout %q", out)
	}
	// ggcr's in-process registry keeps blobs registry-wide: every layer
	// "already exists" in the new repository.
	if !regexp.MustCompile(`^The push refers to repository \[` + regexp.QuoteMeta(host) + `/pushed\]\n([0-9a-f]{12}: Layer already exists\n){3}$`).MatchString(errOut) {
		t.Errorf("push stderr %q", errOut)
	}

	// --format json and templates: one object per tag or image, for scripts.
	out, _ = run(false, "pull", "-q", "--format", "json", host+"/src:v1")
	var pulled pulledItem
	if err := json.Unmarshal([]byte(out), &pulled); err != nil || pulled.Reference != host+"/src:v1" || pulled.Digest != digest || !pulled.UpToDate || pulled.Image != digest {
		t.Errorf("pull --format json: %q (%v)", out, err)
	}
	out, _ = run(false, "push", "-q", "--format", "json", host+"/pushed:v2")
	var pushed pushedItem
	if err := json.Unmarshal([]byte(out), &pushed); err != nil || pushed.Repository != host+"/pushed" || pushed.Tag != "v2" || pushed.Digest != digest || pushed.Size == 0 {
		t.Errorf("push --format json: %q (%v)", out, err)
	}
	if out, _ = run(false, "push", "-q", "--format", "{{.Tag}}@{{.Digest}}", host+"/pushed:v2"); out != "v2@"+digest+"\n" {
		t.Errorf("push --format template: %q", out)
	}
	if out, _ = run(false, "copy", "-q", "--format", "{{.Repository}}:{{.Tag}}", host+"/src:v1", host+"/copied:v1"); out != host+"/copied:v1\n" {
		t.Errorf("copy --format template: %q", out)
	}
}
