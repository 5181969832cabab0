package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/golden"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/spf13/cobra"
)

// run executes ctl in-process and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	io, out, errOut := TestIO("")
	code := Main(context.Background(), io, args)
	return out.String(), errOut.String(), code
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string // command line
		code int      // expected exit code
		err  string   // substring of stderr
	}{
		{[]string{"version"}, 0, ""},
		{[]string{"nosuchcommand"}, 2, `unknown command "nosuchcommand"`},
		{[]string{"ref"}, 2, "requires at least 1 arg"},
		{[]string{"ref", "--nosuchflag", "nginx"}, 2, "unknown flag"},
		{[]string{"ref", "gallery/UI"}, 2, `invalid reference "gallery/UI": repository name must be lowercase`},
		{[]string{"ref", "--format", "yaml", "nginx"}, 2, `invalid --format "yaml"`},
		{[]string{"ref", "--format", "{{.Nope", "nginx"}, 2, "invalid --format template"},
		{[]string{"version", "extra"}, 2, "unknown command"},
		{[]string{"ref", "--format", "{{.Nope}}", "nginx"}, 2, "invalid --format template: no field .Nope (the fields are .Registry .Repository .Tag"},
		{[]string{"version", "--format", "{{.Nope}}"}, 2, "invalid --format template"},
		{[]string{"completion", "tcsh"}, 2, `unknown command "tcsh" for "ctl completion"`},
		{[]string{"completion", "bash", "extra"}, 2, "unknown command"},
		{[]string{"pusj"}, 2, "unknown command \"pusj\" for \"ctl\"\nDid you mean pull or push?\n"},
		{[]string{"tags", "nginx"}, 2, "unknown command \"nginx\" for \"ctl tags\"\nrun: ctl tags list nginx\n"},
		{[]string{"tags", "lst", "nginx"}, 2, "Did you mean list?\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			out, errOut, code := run(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.err) {
				t.Errorf("stderr %q does not contain %q", errOut, tc.err)
			}
			if tc.code != 0 && out != "" {
				t.Errorf("stdout %q on failure, want nothing", out)
			}
		})
	}
}

func TestExitCodeMapping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error  // what a command returned
		code int    // exit code
		hint string // hint line
	}{
		{errors.New("boom"), exitFailure, ""},
		{fmt.Errorf("pulling: %w", store.ErrNotFound), exitNotFound, ""},
		{fmt.Errorf("reading x: %w", store.ErrInvalidInput), exitUsage, ""},
		{fmt.Errorf("get: %w", registry.ErrNotFound), exitNotFound, ""},
		{fmt.Errorf("push: %w", &registry.AuthError{Host: "reg.example:5000", Err: errors.New("denied")}), exitAuth, "run: ctl login reg.example:5000"},
		// Docker Hub is ctl login's default: docker's hint names no host.
		{fmt.Errorf("pull: %w", &registry.AuthError{Host: registry.DockerHub, Err: errors.New("denied")}), exitAuth, "run: ctl login docker.io"},
		{fmt.Errorf("delete: %w", registry.ErrDeleteDisabled), exitFailure, ""},
	} {
		code, hint := exitCode(tc.err)
		if code != tc.code || hint != tc.hint {
			t.Errorf("exitCode(%v) = %d, %q; want %d, %q", tc.err, code, hint, tc.code, tc.hint)
		}
	}
}

func TestEscapeControl(t *testing.T) {
	t.Parallel()
	if got, want := escapeControl("tag\x1b[31mred\x07\nnext\tok"), `tag\x1b[31mred\a`+"\nnext\tok"; got != want {
		t.Errorf("escapeControl = %q, want %q", got, want)
	}
}

func TestRefFlags(t *testing.T) {
	t.Parallel()
	io, _, _ := TestIO("")
	var got *refOptions
	c := newRefCmd(&Factory{IO: io, Opts: &GlobalOptions{}}, func(o *refOptions) error { got = o; return nil })
	c.SetArgs([]string{"--format", "json", "nginx", "diamol/golang"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Format != "json" || strings.Join(got.Refs, ",") != "nginx,diamol/golang" {
		t.Errorf("options = %+v", got)
	}
}

func TestRefOutput(t *testing.T) {
	t.Parallel()
	out, errOut, code := run(t, "ref", "--format", "json", "nginx", "localhost:5000/gallery/ui:v1", "diamol/golang@sha256:"+strings.Repeat("ab", 32))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var got []map[string]string
	for dec.More() {
		var m map[string]string
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	want := []map[string]string{
		{"registry": "docker.io", "repository": "library/nginx", "tag": "latest", "digest": "",
			"canonical": "docker.io/library/nginx:latest", "familiar": "nginx"},
		{"registry": "localhost:5000", "repository": "gallery/ui", "tag": "v1", "digest": "",
			"canonical": "localhost:5000/gallery/ui:v1", "familiar": "localhost:5000/gallery/ui:v1"},
		{"registry": "docker.io", "repository": "diamol/golang", "tag": "", "digest": "sha256:" + strings.Repeat("ab", 32),
			"canonical": "docker.io/diamol/golang@sha256:" + strings.Repeat("ab", 32), "familiar": "diamol/golang@sha256:" + strings.Repeat("ab", 32)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}

	out, _, _ = run(t, "ref", "diamol/golang")
	for _, line := range []string{"Registry:   docker.io", "Account:    diamol", "Repository: diamol/golang", "Tag:        latest", "Canonical:  docker.io/diamol/golang:latest"} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("text output lacks %q:\n%s", line, out)
		}
	}
	out, _, _ = run(t, "ref", "--format", "{{.Registry}} {{.Repository}}", "registry.local:5000/gallery/ui:v1")
	if out != "registry.local:5000 gallery/ui\n" {
		t.Errorf("template output %q", out)
	}
}

// TestFormatHelpExamples: the template each --format help offers as an
// example runs on the items that command prints.
func TestFormatHelpExamples(t *testing.T) {
	t.Parallel()
	items := map[string]any{
		"ctl catalog":          catalogItem{},
		"ctl copy":             pushedItem{},
		"ctl delete":           deletedItem{},
		"ctl load":             loadedItem{},
		"ctl image load":       loadedItem{},
		"ctl pull":             pulledItem{},
		"ctl pin":              pinnedItem{},
		"ctl push":             pushedItem{},
		"ctl check dockerfile": golden.Finding{},
		"ctl digest":           digestItem{},
		"ctl inspect":          &registry.Inspection{},
		"ctl manifest get":     map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json"},
		"ctl ref":              refInfo{},
		"ctl referrers":        &registry.ReferrerTree{},
		"ctl rmi":              rmiItem{},
		"ctl image rm":         rmiItem{},
		"ctl image prune":      pruneItem{},
		"ctl tag":              pushedItem{},
		"ctl image tag":        pushedItem{},
		"ctl tags list":        tagItem{},
		"ctl tags prune":       tagPruneItem{},
		"ctl version":          versionInfo{},
	}
	example := regexp.MustCompile(`such as '(\{\{[^']*\}\})'`)
	ios, _, _ := TestIO("")
	seen := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		fl := c.Flags().Lookup("format")
		if fl == nil {
			return
		}
		m := example.FindStringSubmatch(fl.Usage)
		if m == nil {
			return
		}
		seen++
		item, ok := items[c.CommandPath()]
		if !ok {
			t.Errorf("%s: --format example %s, but the test does not know its items", c.CommandPath(), m[1])
			return
		}
		p, err := newPrinter(m[1])
		if err == nil {
			err = p.Print(io.Discard, item, nil)
		}
		if err != nil {
			t.Errorf("%s: the --format example %s fails: %v", c.CommandPath(), m[1], err)
		}
	}
	walk(NewRootCmd(&Factory{IO: ios, Opts: &GlobalOptions{}}))
	if seen < len(items) {
		t.Errorf("%d commands offer a --format example, want %d", seen, len(items))
	}
}

// TestFormatEscapes: a template typed in a shell with \t and \n means a tab
// and a newline, as in docker's --format.
func TestFormatEscapes(t *testing.T) {
	t.Parallel()
	out, errOut, code := run(t, "ref", "--format", `{{.Registry}}\t{{.Repository}}\n`, "nginx:1.25")
	if code != 0 || out != "docker.io\tlibrary/nginx\n\n" {
		t.Errorf("exit %d, stdout %q (%s)", code, out, errOut)
	}
}

// TestEveryErrorLinePrefixed: rmi of several missing images reports each on
// its own "Error:" line, as docker rmi does.
func TestEveryErrorLinePrefixed(t *testing.T) {
	t.Parallel()
	_, errOut, code := run(t, "--store", t.TempDir(), "rmi", "nope1", "nope2")
	if want := "Error: no such image: nope1\nError: no such image: nope2\n"; code != exitNotFound || errOut != want {
		t.Errorf("exit %d, stderr %q, want %q", code, errOut, want)
	}
}
