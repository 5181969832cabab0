package e2e

import (
	"crypto/sha256"
	"encoding/hex"
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
	r = e.Run(t, "manifest", "get", "--platform", "linux/amd64", reg.Host+"/d/index:v1")
	wantCode(t, r, 0)
	if sum := sha256.Sum256([]byte(r.Stdout)); "sha256:"+hex.EncodeToString(sum[:]) != im.Manifests[0].Digest.String() {
		t.Errorf("manifest get --platform linux/amd64 is not the amd64 child")
	}
	wantCode(t, e.Run(t, "digest", "--platform", "linux/s390x", reg.Host+"/d/index:v1"), 3)
	wantCode(t, e.Run(t, "digest", "--platform", "linux", reg.Host+"/d/index:v1"), 2)
	wantCode(t, e.Run(t, "digest", reg.Host+"/d/index:missing"), 3)

	// Shell completion lists the repository's tags live.
	r = e.Run(t, "__complete", "digest", reg.Host+"/d/index:")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.Stdout, reg.Host+"/d/index:v1\n") {
		t.Errorf("completion: %q", r.Stdout)
	}

	// manifest get: the exact bytes, equal to crane's.
	r = e.Run(t, "manifest", "get", reg.Host+"/d/list:v1")
	wantCode(t, r, 0)
	if c := e.Crane(t, "manifest", reg.Host+"/d/list:v1"); r.Stdout != c.Stdout {
		t.Errorf("manifest get differs from crane manifest:\n%s\n%s", r.Stdout, c.Stdout)
	}
	// --format: json is the same bytes (they are JSON); a template sees
	// the manifest's own fields.
	raw := r.Stdout
	r = e.Run(t, "manifest", "get", "--format", "json", reg.Host+"/d/list:v1")
	wantCode(t, r, 0)
	if r.Stdout != raw {
		t.Errorf("manifest get --format json is not the stored bytes: %q", r.Stdout)
	}
	r = e.Run(t, "manifest", "get", "--format", "{{.mediaType}} {{len .manifests}}", reg.Host+"/d/list:v1")
	wantCode(t, r, 0)
	if want := string(types.DockerManifestList) + " 2\n"; r.Stdout != want {
		t.Errorf("manifest get --format template: %q, want %q", r.Stdout, want)
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

	// Dry run changes nothing: its one DELETE asks about a tag no one
	// pushed, to know the registry deletes tags.
	r := e.Run(t, "delete", "--dry-run", proxy.Host+"/app:v1")
	wantCode(t, r, 0)
	if r.Stdout != "Would untag: "+proxy.Host+"/app:v1\n" {
		t.Errorf("dry run: %q", r.Stdout)
	}
	if n, probes := proxy.Count("DELETE", "."), proxy.Count("DELETE", "/manifests/ctl-delete-probe-[0-9a-f]{16}$"); n != 1 || probes != 1 {
		t.Fatalf("dry run sent %d DELETEs (%d of an absent tag)", n, probes)
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
	// By tag: the tag DELETE is refused, then the digest DELETE, once each
	// (no retries); by digest: one DELETE.
	for ref, deletes := range map[string]int{"/app:v1": 2, "/app@" + dig.String(): 1} {
		proxy.Reset()
		r := e.Run(t, "delete", proxy.Host+ref)
		wantCode(t, r, 1)
		if r.Stderr != msg || r.Stdout != "" {
			t.Errorf("delete %s: stdout %q stderr %q", ref, r.Stdout, r.Stderr)
		}
		if n := proxy.Count("DELETE", "."); n != deletes {
			t.Errorf("delete %s sent %d DELETEs, want %d", ref, n, deletes)
		}
	}
	if !exists(t, reg, "app:v1") {
		t.Error("the tag is gone from a registry with deletion disabled")
	}

	// A tag whose manifest another tag shares: still the contract's
	// message (not the refusal to take the other tag along), with or
	// without --force, and both tags stay.
	e.Crane(t, "tag", reg.Host+"/app:v1", "v2")
	for _, args := range [][]string{{"delete"}, {"delete", "--force"}} {
		r := e.Run(t, append(args, proxy.Host+"/app:v1")...)
		wantCode(t, r, 1)
		if r.Stderr != msg || r.Stdout != "" {
			t.Errorf("%v of a shared tag: stdout %q stderr %q", args, r.Stdout, r.Stderr)
		}
	}
	if !exists(t, reg, "app:v1") || !exists(t, reg, "app:v2") {
		t.Error("a tag is gone from a registry with deletion disabled")
	}
}

// TestLookWithTokenAuth: anonymous reads of a public repository, exit 4 with
// the login hint for a private one, and credentials from docker's config
// for listing and deleting.
func TestLookWithTokenAuth(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Token: true, DeleteEnabled: true, PublicRepos: []string{"public"}})
	reg.PushRandomImage(t, "public/app:v1", 1, 64)
	reg.PushRandomImage(t, "private/app:v1", 1, 64)
	reg.PushRandomImage(t, "private/app:v2", 1, 64)
	e := testenv.NewEnv(t)

	r := e.Run(t, "tags", "ls", reg.Host+"/public/app")
	wantCode(t, r, 0)
	if r.Stdout != "v1\n" {
		t.Errorf("anonymous public tags: %q", r.Stdout)
	}
	r = e.Run(t, "tags", "ls", reg.Host+"/private/app")
	wantCode(t, r, 4)
	if !strings.Contains(r.Stderr, "run: ctl login "+reg.Host) {
		t.Errorf("no login hint: %s", r.Stderr)
	}
	wantCode(t, e.Run(t, "delete", reg.Host+"/public/app:v1"), 4)

	user, pass := reg.User()
	e.AddDockerAuth(t, reg.Host, user, pass)
	r = e.Run(t, "tags", "ls", reg.Host+"/private/app")
	wantCode(t, r, 0)
	if r.Stdout != "v1\nv2\n" {
		t.Errorf("private tags: %q", r.Stdout)
	}
	r = e.Run(t, "delete", reg.Host+"/private/app:v1")
	wantCode(t, r, 0)
	if exists(t, reg, "private/app:v1") || !exists(t, reg, "private/app:v2") {
		t.Error("delete with credentials did not remove exactly private/app:v1")
	}
	r = e.Run(t, "catalog", reg.Host)
	wantCode(t, r, 0)
	if r.Stdout != "private/app\npublic/app\n" {
		t.Errorf("catalog: %q", r.Stdout)
	}
}

// TestLookOverTLS: a TLS registry on a loopback address (where an
// unauthenticated first request over plain HTTP meets a TLS port) with
// htpasswd: exit 4 without credentials, the tags with them.
func TestLookOverTLS(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{HTPasswd: true, DeleteEnabled: true})
	reg.PushRandomImage(t, "app:v1", 1, 64)
	e := testenv.NewEnv(t)
	r := e.Run(t, "--ca-file", reg.CACertFile, "tags", "ls", reg.Host+"/app")
	wantCode(t, r, 4)
	user, pass := reg.User()
	e.AddDockerAuth(t, reg.Host, user, pass)
	r = e.Run(t, "--ca-file", reg.CACertFile, "tags", "ls", reg.Host+"/app")
	wantCode(t, r, 0)
	if r.Stdout != "v1\n" {
		t.Errorf("tags over TLS: %q", r.Stdout)
	}
	r = e.Run(t, "--ca-file", reg.CACertFile, "digest", reg.Host+"/app:v1")
	wantCode(t, r, 0)
	if !strings.HasPrefix(r.Stdout, "sha256:") || len(r.Stdout) != 72 {
		t.Errorf("digest over TLS: %q", r.Stdout)
	}
}
