package cmd

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/registry"
)

func TestNewCmdPull(t *testing.T) {
	t.Parallel()
	parseTable(t, newPullCmd, func(o *pullOptions) pullOptions {
		return pullOptions{Ref: o.Ref, Platform: o.Platform, transferFlags: o.transferFlags, ToEngine: o.ToEngine}
	}, []parseCase[pullOptions]{
		{[]string{"reg/app:v1"}, &pullOptions{Ref: "reg/app:v1", transferFlags: transferFlags{Jobs: registry.DefaultJobs, Format: "text"}}},
		{[]string{"--all-tags", "--platform", "linux/arm64/v8", "reg/app"},
			&pullOptions{Ref: "reg/app", Platform: "linux/arm64/v8", transferFlags: transferFlags{AllTags: true, Jobs: registry.DefaultJobs, Format: "text"}}},
		{[]string{"-j", "2", "-q", "--format", "json", "reg/app"},
			&pullOptions{Ref: "reg/app", transferFlags: transferFlags{Jobs: 2, Quiet: true, Format: "json"}}},
		{[]string{"--to-engine", "reg.example/app:v1"}, &pullOptions{Ref: "reg.example/app:v1", transferFlags: transferFlags{Jobs: registry.DefaultJobs, Format: "text"}, ToEngine: true}},
		{[]string{}, nil},
		{[]string{"a", "b"}, nil},
	})
	if o := parsed(newPullCmd, "--to-engine", "reg/app"); o == nil || o.Engine == nil {
		t.Error("pull --to-engine: no engine to load into")
	}
	usageErrors(t,
		[]string{"pull", "-a", "reg.example/app@sha256:" + strings.Repeat("a", 64)},
		[]string{"pull", "--platform", "linux", "reg.example/app"},
	)
}

// TestPullOutput pulls into a real store in-process and checks docker's
// lines exactly, on a terminal and off it, and the --format results.
func TestPullOutput(t *testing.T) {
	t.Parallel()
	host, digest := copyFixture(t)
	storeDir := t.TempDir()
	run := func(tty bool, args ...string) (string, string) {
		t.Helper()
		ios, out, errOut := TestIO("")
		ios.StderrTTY = tty
		if code := Main(t.Context(), ios, append([]string{"--store", storeDir}, args...)); code != 0 {
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

	// --format json: one object per image, for scripts.
	out, _ = run(false, "pull", "-q", "--format", "json", host+"/src:v1")
	var pulled pulledItem
	if err := json.Unmarshal([]byte(out), &pulled); err != nil || pulled.Reference != host+"/src:v1" || pulled.Digest != digest || !pulled.UpToDate || pulled.Image != digest {
		t.Errorf("pull --format json: %q (%v)", out, err)
	}
}
