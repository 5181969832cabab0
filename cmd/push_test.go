package cmd

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/registry"
)

func TestNewCmdPush(t *testing.T) {
	t.Parallel()
	flags := func(f transferFlags) transferFlags {
		if f.Jobs == 0 {
			f.Jobs = registry.DefaultJobs
		}
		f.Format = "text"
		return f
	}
	parseTable(t, newPushCmd, func(o *pushOptions) pushOptions {
		return pushOptions{Ref: o.Ref, transferFlags: o.transferFlags, Semver: o.Semver, FromEngine: o.FromEngine, Platform: o.Platform}
	}, []parseCase[pushOptions]{
		{[]string{"reg/app:v1"}, &pushOptions{Ref: "reg/app:v1", transferFlags: flags(transferFlags{})}},
		{[]string{"-a", "-j", "3", "-q", "reg/app"}, &pushOptions{Ref: "reg/app", transferFlags: flags(transferFlags{AllTags: true, Jobs: 3, Quiet: true})}},
		{[]string{"--semver", "--no-latest", "--dry-run", "reg/app:1.2.3"},
			&pushOptions{Ref: "reg/app:1.2.3", transferFlags: flags(transferFlags{}), Semver: semverFlags{Semver: true, NoLatest: true, DryRun: true}}},
		{[]string{"--from-engine", "-a", "reg.example/app"}, &pushOptions{Ref: "reg.example/app", transferFlags: flags(transferFlags{AllTags: true}), FromEngine: true}},
		{[]string{"--platform", "linux/arm64,linux/amd64", "-a", "reg/app"},
			&pushOptions{Ref: "reg/app", transferFlags: flags(transferFlags{AllTags: true}), Platform: "linux/arm64,linux/amd64"}},
		{[]string{"--platform", "linux/arm64", "--semver", "reg/app:1.2.3"}, nil},
		{[]string{"--platform", "linux/arm64", "--referrers", "reg/app:v1"}, nil},
		{[]string{"--platform", "linux/arm64", "--from-engine", "reg/app:v1"}, nil},
		{[]string{"--no-latest", "reg/app:v1"}, nil},
		{[]string{"--dry-run", "reg/app:v1"}, nil},
		{[]string{"--semver", "-a", "reg/app"}, nil},
		{[]string{}, nil},
		{[]string{"a", "b"}, nil},
	})
	usageErrors(t,
		[]string{"push", "-a", "reg.example/app:v1"},
		[]string{"push", "-j", "0", "reg.example/app:v1"},
		[]string{"push", "--format", "yaml", "reg.example/app:v1"},
	)
	if o := parsed(newPushCmd, "--from-engine", "reg/app"); o == nil || o.Engine == nil {
		t.Error("push --from-engine: no engine to push from")
	}
	usageMessage(t, "--semver and --from-engine cannot be combined", "push", "--from-engine", "--semver", "reg.example/app:1.2.3")
	usageMessage(t, "--platform cannot be combined with --semver, --referrers or --from-engine", "push", "--platform", "linux/arm64", "--referrers", "reg.example/app:v1")
}

// TestPushOutput pushes from a real store in-process and checks docker's
// lines exactly, and the --format results.
func TestPushOutput(t *testing.T) {
	t.Parallel()
	host, digest := copyFixture(t)
	storeDir := t.TempDir()
	run := func(args ...string) (string, string) {
		t.Helper()
		out, errOut, code := run(t, append([]string{"--store", storeDir}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out, errOut
	}
	run("pull", "-q", host+"/src:v1")
	run("tag", host+"/src:v1", host+"/pushed:v2")
	out, errOut := run("push", host+"/pushed:v2")
	if !regexp.MustCompile(`^v2: digest: ` + digest + ` size: \d+\n$`).MatchString(out) {
		t.Errorf("push stdout %q", out)
	}
	// ggcr's in-process registry keeps blobs registry-wide: every layer
	// "already exists" in the new repository.
	if !regexp.MustCompile(`^The push refers to repository \[` + regexp.QuoteMeta(host) + `/pushed\]\n([0-9a-f]{12}: Layer already exists\n){3}$`).MatchString(errOut) {
		t.Errorf("push stderr %q", errOut)
	}

	// --format json and templates: one object per tag, for scripts.
	out, _ = run("push", "-q", "--format", "json", host+"/pushed:v2")
	var pushed pushedItem
	if err := json.Unmarshal([]byte(out), &pushed); err != nil || pushed.Repository != host+"/pushed" || pushed.Tag != "v2" || pushed.Digest != digest || pushed.Size == 0 {
		t.Errorf("push --format json: %q (%v)", out, err)
	}
	if out, _ = run("push", "-q", "--format", "{{.Tag}}@{{.Digest}}", host+"/pushed:v2"); out != "v2@"+digest+"\n" {
		t.Errorf("push --format template: %q", out)
	}
}

// TestPushWithoutTagHint: a push without a tag means :latest (docker
// 20.10+); when the store lacks it but has other tags of the repository,
// the error says how to push them.
func TestPushWithoutTagHint(t *testing.T) {
	t.Parallel()
	host, _ := copyFixture(t)
	store := t.TempDir()
	if _, errOut, code := run(t, "--store", store, "pull", "-q", host+"/src:v1"); code != 0 {
		t.Fatalf("pull: exit %d: %s", code, errOut)
	}
	_, errOut, code := run(t, "--store", store, "push", host+"/src")
	if want := "Error: no such image: " + host + "/src:latest\nrun: ctl push --all-tags " + host + "/src, or name a tag: the store has v1\n"; code != exitNotFound || errOut != want {
		t.Errorf("push of a repository without latest: exit %d, stderr %q, want %q", code, errOut, want)
	}
	// No other tag, or a tag given: nothing to suggest.
	for _, ref := range []string{host + "/other", host + "/src:v9"} {
		if _, errOut, code := run(t, "--store", store, "push", ref); code != exitNotFound || strings.Contains(errOut, "run:") {
			t.Errorf("push %s: exit %d, stderr %q; want 3 without a hint", ref, code, errOut)
		}
	}
}
