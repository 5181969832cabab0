package cmd

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// TestRemoteTagCompletions: a reference with a ":" completes to the
// repository's tags from the registry.
func TestRemoteTagCompletions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, f, _ := registryFixture(t, "v1", "latest")
	if got := RemoteTagCompletions(ctx, f, host+"/app:"); strings.Join(got, " ") != host+"/app:latest "+host+"/app:v1" {
		t.Errorf("completions: %q", got)
	}
	if got := RemoteTagCompletions(ctx, f, host+"/app"); got != nil {
		t.Errorf("completions without a colon: %q", got)
	}
}

// TestLocalImageCompletion: the commands that take local images complete
// them live from the store, the way the shell asks (ctl __complete ...).
func TestLocalImageCompletion(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "s")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(100, 1)
	for _, ref := range []string{"user/app:v1", "user/app:v2", "localhost:5000/gallery/ui:1", "nginx"} {
		r, _ := reference.Parse(ref)
		if _, err := s.WriteImage(context.Background(), img, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"push", "user/"}, "user/app:v1\nuser/app:v2\n"},
		{[]string{"push", "user/app:v1", ""}, ""},
		{[]string{"rmi", "user/app:v1", "loc"}, "localhost:5000/gallery/ui:1\n"},
		{[]string{"tag", "ng"}, "nginx:latest\n"},
		{[]string{"save", "-o", "x.tar", "docker.io/library/"}, "docker.io/library/nginx:latest\n"},
		{[]string{"images", "user/app:v2"}, "user/app:v2\n"},
		{[]string{"image", "inspect", "nginx"}, "nginx:latest\n"},
		{[]string{"pull", "user/"}, "user/app:v1\nuser/app:v2\n"}, // no ":" yet: no registry asked
	} {
		out, _, code := run(t, append([]string{"__complete", "--store", dir}, tc.args...)...)
		got, _, _ := strings.Cut(out, ":4\n")
		if code != 0 || got != tc.want {
			t.Errorf("complete %q: %q (exit %d), want %q", tc.args, out, code, tc.want)
		}
	}
	// A store that does not exist completes to nothing and is not created.
	missing := filepath.Join(t.TempDir(), "none")
	if out, _, _ := run(t, "__complete", "--store", missing, "rmi", ""); out != ":4\n" {
		t.Errorf("missing store: %q", out)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("completion created a store")
	}
}

// TestNoFileCompletion: where a command takes a registry, a server, a
// reference to explain or nothing at all, the shell offers no file names.
func TestNoFileCompletion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"login"}, {"logout"}, {"catalog"}, {"ref"}, {"image", "prune"}, {"version"}} {
		out, _, code := run(t, append(append([]string{"__complete", "--config", t.TempDir()}, args...), "")...)
		if code != 0 || out != ":4\n" {
			t.Errorf("complete %q: %q (exit %d), want no file names (:4)", args, out, code)
		}
	}
}

// TestLogoutCompletion: logout completes the registries there is a login
// for, Docker Hub as docker.io.
func TestLogoutCompletion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := `{"auths": {"https://index.docker.io/v1/": {"auth": "eDp5"}, "reg.example:5000": {}, "ghcr.io": {"auth": "eDp5"}}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ args, want string }{
		{"", "docker.io\nghcr.io\nreg.example:5000\n:4\n"},
		{"re", "reg.example:5000\n:4\n"},
	} {
		if out, _, code := run(t, "__complete", "--config", dir, "logout", tc.args); code != 0 || out != tc.want {
			t.Errorf("complete logout %q: %q (exit %d), want %q", tc.args, out, code, tc.want)
		}
	}
	if out, _, _ := run(t, "__complete", "--config", dir, "logout", "ghcr.io", ""); out != ":4\n" {
		t.Errorf("complete logout's second argument: %q", out)
	}
}
