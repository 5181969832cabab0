package cmd

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/registry"
)

func TestNewCmdCopy(t *testing.T) {
	t.Parallel()
	parseTable(t, newCopyCmd, func(o *copyOptions) copyOptions {
		return copyOptions{Src: o.Src, Dst: o.Dst, Platform: o.Platform, transferFlags: o.transferFlags}
	}, []parseCase[copyOptions]{
		{[]string{"a/b:v1", "c/d:v1"}, &copyOptions{Src: "a/b:v1", Dst: "c/d:v1", transferFlags: transferFlags{Jobs: registry.DefaultJobs, Format: "text"}}},
		{[]string{"-a", "--platform", "linux/amd64", "a/b", "c/d"},
			&copyOptions{Src: "a/b", Dst: "c/d", Platform: "linux/amd64", transferFlags: transferFlags{AllTags: true, Jobs: registry.DefaultJobs, Format: "text"}}},
		{[]string{"a"}, nil},
		{[]string{"a", "b", "c"}, nil},
	})
	usageErrors(t,
		[]string{"copy", "-j", "0", "reg.example/a", "reg.example/b"},
		[]string{"copy", "-a", "reg.example/a:v1", "reg.example/b"},
	)
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

	// A missing source: the error and how to see the tags there are, no
	// push header before it.
	ios, out, errOut = TestIO("")
	if code := Main(context.Background(), ios, []string{"copy", host + "/nope:v1", host + "/dst:v1"}); code != exitNotFound ||
		out.Len() != 0 || !strings.HasPrefix(errOut.String(), "Error: ") || !strings.HasSuffix(errOut.String(), "\nrun: ctl tags list "+host+"/nope (to see the tags it has)\n") || strings.Count(errOut.String(), "\n") != 2 {
		t.Errorf("missing source: exit %d stdout %q stderr %q", code, out, errOut)
	}

	// --format templates: one item per tag, for scripts.
	if out, errOut, code := run(t, "copy", "-q", "--format", "{{.Repository}}:{{.Tag}}", host+"/src:v1", host+"/copied:v1"); code != 0 || out != host+"/copied:v1\n" {
		t.Errorf("copy --format template: exit %d, %q (%s)", code, out, errOut)
	}
}
