package cmd

import (
	"strings"
	"testing"
)

// TestImageGroup: every subcommand of docker's "image" management command
// that ctl has exists under "ctl image" too (docker image pull, push, tag,
// ...), and runs the same command as the top-level one.
func TestImageGroup(t *testing.T) {
	t.Parallel()
	host, digest := copyFixture(t)
	store := t.TempDir()
	ctl := func(args ...string) (string, string, int) {
		return run(t, append([]string{"--store", store}, args...)...)
	}
	out, errOut, code := ctl("image", "pull", host+"/src:v1")
	if want := "Digest: " + digest + "\nStatus: Downloaded newer image for " + host + "/src:v1\n"; code != 0 || out != want {
		t.Fatalf("image pull: exit %d, stdout %q (want %q), stderr %q", code, out, want, errOut)
	}
	if _, errOut, code = ctl("image", "tag", host+"/src:v1", host+"/dst:v2"); code != 0 {
		t.Fatalf("image tag: exit %d, stderr %q", code, errOut)
	}
	out, errOut, code = ctl("image", "push", host+"/dst:v2")
	if want := "v2: digest: " + digest + " size: "; code != 0 || !strings.HasPrefix(out, want) {
		t.Fatalf("image push: exit %d, stdout %q (want %q...), stderr %q", code, out, want, errOut)
	}
	if !strings.HasPrefix(errOut, "The push refers to repository ["+host+"/dst]\n") {
		t.Errorf("image push: stderr %q", errOut)
	}
	for _, sub := range []string{"inspect", "load", "ls", "prune", "pull", "push", "rm", "save", "tag"} {
		if _, errOut, code := ctl("image", sub, "--help"); code != 0 {
			t.Errorf("image %s --help: exit %d, stderr %q", sub, code, errOut)
		}
	}
}
