package cmd

import (
	"strings"
	"testing"
)

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
		{[]string{"ref", "--nosuchflag", "nginx"}, 2, "Error: unknown flag: --nosuchflag\nUsage: ctl ref REF... [flags]\nSee 'ctl ref --help'.\n"},
		{[]string{"tag", "image-gallery"}, 2, "Error: requires at least 2 arg(s), only received 1\nUsage: ctl tag SOURCE TARGET... [flags]\nSee 'ctl tag --help'.\n"},
		{[]string{"tags", "list", "--al", "a"}, 2, "See 'ctl tags list --help'.\n"},
		{[]string{"ref", "gallery/UI"}, 2, `invalid reference "gallery/UI": repository name must be lowercase`},
		{[]string{"ref", "--format", "yaml", "nginx"}, 2, `invalid --format "yaml"`},
		{[]string{"ref", "--format", "{{.Nope", "nginx"}, 2, "invalid --format template"},
		{[]string{"version", "extra"}, 2, "unknown command"},
		{[]string{"ref", "--format", "{{.Nope}}", "nginx"}, 2, "invalid --format template: no field .Nope (the fields are .Registry .Repository .Tag"},
		{[]string{"version", "--format", "{{.Nope}}"}, 2, "invalid --format template"},
		{[]string{"completion", "tcsh"}, 2, `unknown command "tcsh" for "ctl completion"`},
		{[]string{"completion", "bash", "extra"}, 2, "unknown command"},
		{[]string{"pusj"}, 2, "unknown command \"pusj\" for \"ctl\"\nDid you mean pull or push?\n"},
		{[]string{"run", "alpine"}, 2, "unknown command \"run\" for \"ctl\"\nctl moves images between registries, archives and its store; it does not run containers.\nTo run an image with an engine: ctl pull --to-engine IMAGE, then docker run IMAGE.\n"},
		{[]string{"build", "."}, 2, "ctl does not build images."},
		{[]string{"image", "build", "."}, 2, "ctl does not build images."},
		{[]string{"manifest", "push", "app:v1"}, 2, "unknown command \"push\" for \"ctl manifest\"\nrun: ctl push LIST"},
		{[]string{"tags", "nginx"}, 2, "unknown command \"nginx\" for \"ctl tags\"\nrun: ctl tags list nginx\n"},
		{[]string{"tags", "lst", "nginx"}, 2, "Did you mean list?\n"},
		{[]string{"catalog", "registry.local:5000/gallery/ui"}, 2, "Error: \"registry.local:5000/gallery/ui\" is not a registry: catalog takes HOST[:PORT], without a repository\nrun: ctl catalog registry.local:5000 (or ctl tags list registry.local:5000/gallery/ui for that repository's tags)\n"},
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

// TestEveryErrorLinePrefixed: rmi of several missing images reports each on
// its own "Error:" line, as docker rmi does.
func TestEveryErrorLinePrefixed(t *testing.T) {
	t.Parallel()
	_, errOut, code := run(t, "--store", t.TempDir(), "rmi", "nope1", "nope2")
	if want := "Error: no such image: nope1\nError: no such image: nope2\n"; code != exitNotFound || errOut != want {
		t.Errorf("exit %d, stderr %q, want %q", code, errOut, want)
	}
}
