package e2e

import (
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// exists reports whether ref resolves on reg.
func exists(t testing.TB, reg *testenv.Registry, ref string) bool {
	t.Helper()
	_, err := remote.Head(reg.ParseRef(t, ref), reg.RemoteOptions()...)
	return err == nil
}

func TestDigestMatchesCrane(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	docker, err := random.Image(64, 2)
	if err != nil {
		t.Fatal(err)
	}
	docker = mutate.MediaType(docker, types.DockerManifestSchema2)
	if err := remote.Write(reg.ParseRef(t, "d/docker:v1"), docker, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	reg.PushRandomImage(t, "d/oci:v1", 1, 64)
	pushIndex(t, reg, "d/list:v1", types.DockerManifestList)
	idx := pushIndex(t, reg, "d/index:v1", types.OCIImageIndex)
	proxy := testenv.NewProxy(t, reg.URL, nil)

	for _, repo := range []string{"d/docker:v1", "d/oci:v1", "d/list:v1", "d/index:v1"} {
		proxy.Reset()
		r := e.Run(t, "digest", proxy.Host+"/"+repo)
		wantCode(t, r, 0)
		c := e.Crane(t, "digest", reg.Host+"/"+repo)
		wantCode(t, c, 0)
		if r.Stdout != c.Stdout {
			t.Errorf("%s: ctl %q, crane %q", repo, r.Stdout, c.Stdout)
		}
		if n := len(proxy.Requests()) - proxy.Count("GET", `^/v2/$`); n != 1 {
			t.Errorf("%s: digest took %d requests besides the ping, want 1: %v", repo, n, proxy.Requests())
		}
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	r := e.Run(t, "digest", "--platform", "linux/arm64", reg.Host+"/d/index:v1")
	wantCode(t, r, 0)
	if got := strings.TrimSpace(r.Stdout); got != im.Manifests[1].Digest.String() {
		t.Errorf("--platform linux/arm64: %s, want %s", got, im.Manifests[1].Digest)
	}
	wantCode(t, e.Run(t, "digest", "--platform", "linux/s390x", reg.Host+"/d/index:v1"), 3)
	wantCode(t, e.Run(t, "digest", "--platform", "linux", reg.Host+"/d/index:v1"), 2)
	wantCode(t, e.Run(t, "digest", reg.Host+"/d/index:missing"), 3)

	// manifest get: the exact bytes, equal to crane's.
	r = e.Run(t, "manifest", "get", reg.Host+"/d/list:v1")
	wantCode(t, r, 0)
	if c := e.Crane(t, "manifest", reg.Host+"/d/list:v1"); r.Stdout != c.Stdout {
		t.Errorf("manifest get differs from crane manifest:\n%s\n%s", r.Stdout, c.Stdout)
	}
	r = e.Run(t, "inspect", "--format", "json", reg.Host+"/d/index:v1")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, `"platform":"linux/arm64/v8"`) {
		t.Errorf("inspect of an index: %s", r.Stdout)
	}
	r = e.Run(t, "inspect", reg.Host+"/d/docker:v1")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "Layers:") || !strings.Contains(r.Stdout, string(types.DockerManifestSchema2)) {
		t.Errorf("inspect of an image: %s", r.Stdout)
	}
}

func TestDeleteExactlyWhatWasAsked(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{DeleteEnabled: true})
	e := testenv.NewEnv(t)
	img := reg.PushRandomImage(t, "app:v1", 1, 64)
	for _, tag := range []string{"v1.0", "latest"} {
		if err := remote.Tag(reg.ParseRef(t, "app:"+tag).(name.Tag), img, reg.RemoteOptions()...); err != nil {
			t.Fatal(err)
		}
	}
	proxy := testenv.NewProxy(t, reg.URL, nil)

	// Dry run changes nothing.
	r := e.Run(t, "delete", "--dry-run", proxy.Host+"/app:v1")
	wantCode(t, r, 0)
	if r.Stdout != "Would untag: "+proxy.Host+"/app:v1\n" {
		t.Errorf("dry run: %q", r.Stdout)
	}
	if n := proxy.Count("DELETE", "."); n != 0 {
		t.Fatalf("dry run sent %d DELETEs", n)
	}

	// By tag: one DELETE of the tag, siblings survive.
	proxy.Reset()
	r = e.Run(t, "delete", proxy.Host+"/app:v1")
	wantCode(t, r, 0)
	if r.Stdout != "Untagged: "+proxy.Host+"/app:v1\n" {
		t.Errorf("delete by tag: %q", r.Stdout)
	}
	if n := len(proxy.Requests()) - proxy.Count("GET", `^/v2/$`); n != 1 {
		t.Errorf("delete by tag took %d requests besides the ping, want 1", n)
	}
	if exists(t, reg, "app:v1") || !exists(t, reg, "app:v1.0") || !exists(t, reg, "app:latest") {
		t.Fatal("delete by tag did not remove exactly the tag")
	}

	// By digest: the manifest and all its tags, named.
	dig, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	r = e.Run(t, "delete", "--dry-run", reg.Host+"/app@"+dig.String())
	wantCode(t, r, 0)
	want := "Would untag: " + reg.Host + "/app:latest\nWould untag: " + reg.Host + "/app:v1.0\nWould delete: " + reg.Host + "/app@" + dig.String() + "\n"
	if r.Stdout != want {
		t.Errorf("dry run by digest:\n%s\nwant\n%s", r.Stdout, want)
	}
	r = e.Run(t, "delete", reg.Host+"/app@"+dig.String())
	wantCode(t, r, 0)
	if r.Stdout != strings.NewReplacer("Would untag", "Untagged", "Would delete", "Deleted").Replace(want) {
		t.Errorf("delete by digest: %q", r.Stdout)
	}
	if exists(t, reg, "app:v1.0") || exists(t, reg, "app:latest") {
		t.Fatal("tags survived the deletion of their manifest")
	}

	// A multi-arch tag: the index goes, the platform images stay.
	idx := pushIndex(t, reg, "multi:v1", types.OCIImageIndex)
	r = e.Run(t, "delete", reg.Host+"/multi:v1")
	wantCode(t, r, 0)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if exists(t, reg, "multi:v1") {
		t.Error("multi-arch tag survived")
	}
	for _, m := range im.Manifests {
		if !exists(t, reg, "multi@"+m.Digest.String()) {
			t.Errorf("platform child %s was deleted", m.Digest)
		}
	}

	// Not found: exit 3, by tag and by digest.
	r = e.Run(t, "delete", reg.Host+"/app:nope")
	wantCode(t, r, 3)
	wantCode(t, e.Run(t, "delete", reg.Host+"/app@"+dig.String()), 3)
	wantCode(t, e.Run(t, "delete", reg.Host+"/app:UPPER:x"), 2)
}

func TestDeleteDisabled(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	img := reg.PushRandomImage(t, "app:v1", 1, 64)
	dig, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	proxy := testenv.NewProxy(t, reg.URL, nil)
	msg := "Error: deletion is disabled on " + proxy.Host + " (run the registry with REGISTRY_STORAGE_DELETE_ENABLED=true)\n"
	for _, ref := range []string{"/app:v1", "/app@" + dig.String()} {
		r := e.Run(t, "delete", proxy.Host+ref)
		wantCode(t, r, 1)
		if r.Stderr != msg || r.Stdout != "" {
			t.Errorf("delete %s: stdout %q stderr %q", ref, r.Stdout, r.Stderr)
		}
	}
	if !exists(t, reg, "app:v1") {
		t.Error("the tag is gone from a registry with deletion disabled")
	}
}
