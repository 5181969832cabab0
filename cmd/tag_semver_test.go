package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestTagRemoteSemver(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	push := func(tag string) (string, int64) {
		img, _ := random.Image(32, 1)
		ref, _ := name.ParseReference(host+"/app:"+tag, name.Insecure)
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		sz, _ := img.Size()
		return d.String(), sz
	}
	c, err := registry.New()
	if err != nil {
		t.Fatal(err)
	}
	runFormat := func(format string, fl semverFlags, args ...string) (string, string, error) {
		streams, out, errOut := TestIO("")
		p, err := newPrinter(format)
		if err != nil {
			t.Fatal(err)
		}
		err = tagRemoteSemver(context.Background(), streams, p, c, args, fl)
		return out.String(), errOut.String(), err
	}
	run := func(fl semverFlags, args ...string) (string, string, error) { return runFormat("text", fl, args...) }

	d114, s114 := push("2.1.114")
	out, _, err := run(semverFlags{}, host+"/app:2.1.114")
	want := fmt.Sprintf("2.1.114: digest: %[1]s size: %[2]d\n2.1: digest: %[1]s size: %[2]d\n2: digest: %[1]s size: %[2]d\nlatest: digest: %[1]s size: %[2]d\n", d114, s114)
	if err != nil || out != want {
		t.Fatalf("first release: %v\n%s\nwant\n%s", err, out, want)
	}

	d106, s106 := push("build-106")
	out, errOut, err := run(semverFlags{NoLatest: true}, host+"/app:build-106", host+"/app:2.1.106")
	if err != nil || out != fmt.Sprintf("2.1.106: digest: %s size: %d\n", d106, s106) ||
		errOut != fmt.Sprintf("2.1: kept at %[1]s: 2.1.114 is newer than 2.1.106\n2: kept at %[1]s: 2.1.114 is newer than 2.1.106\n", d114) {
		t.Errorf("older patch: %v\nstdout %q\nstderr %q", err, out, errOut)
	}

	out, _, err = run(semverFlags{DryRun: true}, host+"/app@"+d106, host+"/app:3.0.0")
	want = fmt.Sprintf("3.0.0 -> %[1]s (created)\n3.0 -> %[1]s (created)\n3 -> %[1]s (created)\nlatest -> %[1]s (moved)\n", d106)
	if err != nil || out != want {
		t.Errorf("dry run: %v\n%s\nwant\n%s", err, out, want)
	}

	// --format: written tags are push results, a dry run's steps plan
	// items; kept tags stay on stderr as text.
	out, errOut, err = runFormat("json", semverFlags{NoLatest: true}, host+"/app:build-106", host+"/app:2.1.106")
	var pushed pushedItem
	if jerr := json.Unmarshal([]byte(out), &pushed); err != nil || jerr != nil ||
		pushed != (pushedItem{Repository: host + "/app", Tag: "2.1.106", Digest: d106, Size: s106}) ||
		!strings.Contains(errOut, "2.1: kept at "+d114) {
		t.Errorf("--format json: %v %v\nstdout %q\nstderr %q", err, jerr, out, errOut)
	}
	out, _, err = runFormat("{{.Tag}} {{.Action}} {{.Digest}} {{.Reason}}", semverFlags{DryRun: true}, host+"/app:build-106", host+"/app:2.0.1")
	want = fmt.Sprintf("2.0.1 created %[1]s \n2.0 created %[1]s \n2 kept %[2]s 2.1.114 is newer than 2.0.1\nlatest kept %[2]s 2.1.114 is newer than 2.0.1\n", d106, d114)
	if err != nil || out != want {
		t.Errorf("dry run with a template: %v\n%s\nwant\n%s", err, out, want)
	}
	out, _, err = runFormat("json", semverFlags{DryRun: true, NoLatest: true}, host+"/app:build-106", host+"/app:2.0.1")
	var step planItem
	if jerr := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &step); err != nil || jerr != nil ||
		step != (planItem{Repository: host + "/app", Tag: "2.0.1", Digest: d106, Action: "created"}) {
		t.Errorf("dry run as JSON: %v %v %q", err, jerr, out)
	}

	_, _, err = run(semverFlags{}, host+"/other:1", host+"/app:3.0.0")
	if code, _ := exitCode(err); code != exitUsage {
		t.Errorf("cross-repository: %v (exit %d)", err, code)
	}
	// The version tag as its own source must be on the registry: the
	// message names it once, and the hint the two ways to get there.
	_, _, err = run(semverFlags{}, host+"/app:4.0.0")
	code, hint := exitCode(err)
	if text := errorText(err); code != exitNotFound || !strings.HasPrefix(text, host+"/app:4.0.0: ") || strings.Count(text, "app:4.0.0") != 1 {
		t.Errorf("missing version tag: %q (exit %d), want exit 3 naming it once", text, code)
	}
	if want := "run: ctl push --semver " + host + "/app:4.0.0 (from the store), or ctl tag --semver --remote SOURCE " + host + "/app:4.0.0"; hint != want {
		t.Errorf("missing version tag: hint %q, want %q", hint, want)
	}
	_, _, err = run(semverFlags{}, host+"/app:nope", host+"/app:4.0.0")
	if code, hint := exitCode(err); code != exitNotFound || hint != "run: ctl tags list "+host+"/app (to see the tags it has)" {
		t.Errorf("missing source: %v (exit %d, hint %q)", err, code, hint)
	}
}
