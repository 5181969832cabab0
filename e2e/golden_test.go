package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// writeDockerfile writes content to name in the Env's working directory.
func writeDockerfile(t *testing.T, e *testenv.Env, name, content string) string {
	t.Helper()
	p := filepath.Join(e.Dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckDockerfileBinary runs the CI check on the built binary: the
// report on stdout, the verdict in the exit code.
func TestCheckDockerfileBinary(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	writeDockerfile(t, e, "Dockerfile", `# escape=\
ARG REGISTRY=registry.local:5000
FROM --platform=$BUILDPLATFORM ${REGISTRY}/golden/golang:1.22 AS build
RUN go build -o /app
FROM build AS test
FROM docker.io/golden/aspnet-core:3.0
COPY --from=build /app /app
`)
	writeDockerfile(t, e, "svc/Dockerfile", "FROM golden/aspnet-core:3.0 AS base\nFROM \\\n  nginx:latest\n")

	allow := []string{"--allow", "golden/", "--allow", "registry.local:5000/golden/"}
	r := e.Run(t, append([]string{"check", "dockerfile"}, allow...)...)
	if r.Code != 0 || r.Stdout != "" {
		t.Errorf("clean Dockerfile: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}

	r = e.Run(t, append([]string{"check", "dockerfile", "Dockerfile", "svc/Dockerfile"}, allow...)...)
	want := "svc/Dockerfile:2: base image nginx:latest is not approved (allowed: golden/, registry.local:5000/golden/)\n"
	if r.Code != 1 || r.Stdout != want || !strings.Contains(r.Stderr, "1 problem found") {
		t.Errorf("unapproved base: exit %d stdout %q stderr %q; want exit 1, %q", r.Code, r.Stdout, r.Stderr, want)
	}

	r = e.Run(t, "check", "dockerfile", "--require-pinned", "--format", "{{.Line}} {{.Problem}}", "Dockerfile")
	if r.Code != 1 || r.Stdout != "3 unpinned\n6 unpinned\n" {
		t.Errorf("--require-pinned: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}

	writeDockerfile(t, e, "bad/Dockerfile", "FROM golden/App:1\n")
	for _, args := range [][]string{
		{"check", "dockerfile", "--allow", "golden/", "bad/Dockerfile"},
		{"check", "dockerfile", "--allow", "golden/", "missing/Dockerfile"},
		{"check", "dockerfile", "Dockerfile"},
	} {
		if r := e.Run(t, args...); r.Code != 2 || r.Stdout != "" || !strings.HasPrefix(r.Stderr, "Error: ") {
			t.Errorf("%q: exit %d stdout %q stderr %q; want exit 2", args, r.Code, r.Stdout, r.Stderr)
		}
	}
}

// TestPinBinary pins FROM lines against the real registry: the digests are
// exactly what crane digest prints, for an image and a multi-platform index,
// and a second run changes nothing.
func TestPinBinary(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	reg.PushRandomImage(t, "golden/base:1.0", 1, 256)
	idx, err := random.Index(256, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(reg.ParseRef(t, "golden/multi:2"), idx, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
	craneDigest := func(ref string) string {
		r := e.Crane(t, "digest", "--insecure", ref)
		if r.Code != 0 {
			t.Fatalf("crane digest %s: %+v", ref, r)
		}
		return strings.TrimSpace(r.Stdout)
	}
	dBase, dMulti := craneDigest(reg.Ref("golden/base:1.0")), craneDigest(reg.Ref("golden/multi:2"))

	src := "# syntax=docker/dockerfile:1\nARG MULTI=" + reg.Ref("golden/multi:2") + "\n" +
		"FROM " + reg.Ref("golden/base:1.0") + " AS build\nRUN make\nFROM ${MULTI}\nCOPY --from=build /app /app\n"
	want := "# syntax=docker/dockerfile:1\nARG MULTI=" + reg.Ref("golden/multi:2") + "@" + dMulti + "\n" +
		"FROM " + reg.Ref("golden/base:1.0") + "@" + dBase + " AS build\nRUN make\nFROM ${MULTI}\nCOPY --from=build /app /app\n"
	p := writeDockerfile(t, e, "Dockerfile", src)

	r := e.Run(t, "pin", "--dry-run")
	if b, _ := os.ReadFile(p); r.Code != 0 || string(b) != src || !strings.Contains(r.Stdout, "+FROM "+reg.Ref("golden/base:1.0")+"@"+dBase+" AS build\n") {
		t.Errorf("pin --dry-run: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	// With --format a dry run prints what would be pinned as items, no
	// diff, in line order (the ARG on line 2 is pinned for the second FROM).
	r = e.Run(t, "pin", "--dry-run", "--format", "json")
	wantItems := `{"file":"Dockerfile","line":2,"old":"` + reg.Ref("golden/multi:2") + `","new":"` + reg.Ref("golden/multi:2") + "@" + dMulti + `","dryRun":true}` + "\n" +
		`{"file":"Dockerfile","line":3,"old":"` + reg.Ref("golden/base:1.0") + `","new":"` + reg.Ref("golden/base:1.0") + "@" + dBase + `","dryRun":true}` + "\n"
	if b, _ := os.ReadFile(p); r.Code != 0 || string(b) != src || r.Stdout != wantItems {
		t.Errorf("pin --dry-run --format json: exit %d stdout %q, want %q; stderr %q", r.Code, r.Stdout, wantItems, r.Stderr)
	}
	r = e.Run(t, "pin", "--format", "{{.Line}} {{.New}} {{.DryRun}}")
	if b, _ := os.ReadFile(p); r.Code != 0 || string(b) != want ||
		r.Stdout != "2 "+reg.Ref("golden/multi:2")+"@"+dMulti+" false\n3 "+reg.Ref("golden/base:1.0")+"@"+dBase+" false\n" {
		t.Errorf("pin --format: exit %d stdout %q stderr %q\n%s\nwant\n%s", r.Code, r.Stdout, r.Stderr, b, want)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	r = e.Run(t, "pin")
	wantText := "Dockerfile:2: " + reg.Ref("golden/multi:2") + " -> " + reg.Ref("golden/multi:2") + "@" + dMulti + "\n" +
		"Dockerfile:3: " + reg.Ref("golden/base:1.0") + " -> " + reg.Ref("golden/base:1.0") + "@" + dBase + "\n"
	if b, _ := os.ReadFile(p); r.Code != 0 || string(b) != want || r.Stdout != wantText {
		t.Errorf("pin: exit %d stdout %q stderr %q\n%s\nwant\n%s", r.Code, r.Stdout, r.Stderr, b, want)
	}
	r = e.Run(t, "pin")
	if b, _ := os.ReadFile(p); r.Code != 0 || string(b) != want || r.Stdout != "" {
		t.Errorf("second pin: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	// The pinned file passes the CI check.
	r = e.Run(t, "check", "dockerfile", "--allow", reg.Host+"/golden/", "--require-pinned")
	if r.Code != 0 {
		t.Errorf("check after pin: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}

	// A symlinked Dockerfile is pinned through the link, which stays one.
	target := writeDockerfile(t, e, "shared/Dockerfile.base", "FROM "+reg.Ref("golden/base:1.0")+"\n")
	link := filepath.Join(e.Dir, "svc", "Dockerfile")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "shared", "Dockerfile.base"), link); err != nil {
		t.Fatal(err)
	}
	r = e.Run(t, "pin", "svc/Dockerfile")
	b, _ := os.ReadFile(target)
	if fi, err := os.Lstat(link); r.Code != 0 || err != nil || fi.Mode()&os.ModeSymlink == 0 || string(b) != "FROM "+reg.Ref("golden/base:1.0")+"@"+dBase+"\n" {
		t.Errorf("pin through a symlink: exit %d stderr %q, link %v, target %q", r.Code, r.Stderr, err, b)
	}

	// One unreachable registry does not stop the others: exit 1, the
	// rest pinned, the failure reported.
	down := testenv.StartRegistry(t, testenv.RegistryOptions{})
	down.Stop()
	writeDockerfile(t, e, "partial/Dockerfile", "FROM "+down.Ref("golden/base:1.0")+"\nFROM "+reg.Ref("golden/base:1.0")+"\n")
	r = e.Run(t, "pin", "partial/Dockerfile")
	if b, _ := os.ReadFile(filepath.Join(e.Dir, "partial", "Dockerfile")); r.Code != 1 ||
		string(b) != "FROM "+down.Ref("golden/base:1.0")+"\nFROM "+reg.Ref("golden/base:1.0")+"@"+dBase+"\n" ||
		!strings.Contains(r.Stderr, "partial/Dockerfile:1: not pinned: ") {
		t.Errorf("pin with one registry down: exit %d stderr %q, file %q", r.Code, r.Stderr, b)
	}
}

// TestSemverRemoteBinary writes versioned tags on the real registry and
// checks the never-backwards rule against tags that are really there.
func TestSemverRemoteBinary(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	digest := func(tag string) string {
		r := e.Crane(t, "digest", "--insecure", reg.Ref("app:"+tag))
		if r.Code != 0 {
			return ""
		}
		return strings.TrimSpace(r.Stdout)
	}
	push := func(tag string) (string, int64) {
		img := reg.PushRandomImage(t, "app:"+tag, 1, 128)
		d, _ := img.Digest()
		n, _ := img.Size()
		return d.String(), n
	}
	line := func(tag, d string, n int64) string { return fmt.Sprintf("%s: digest: %s size: %d\n", tag, d, n) }

	d114, n114 := push("2.1.114")
	r := e.Run(t, "tag", "--semver", "--remote", reg.Ref("app:2.1.114"))
	if want := line("2.1.114", d114, n114) + line("2.1", d114, n114) + line("2", d114, n114) + line("latest", d114, n114); r.Code != 0 || r.Stdout != want {
		t.Fatalf("first release: exit %d stdout %q stderr %q; want %q", r.Code, r.Stdout, r.Stderr, want)
	}

	// 2.1.106 after 2.1.114: only its own tag is written.
	d106, n106 := push("build-106")
	r = e.Run(t, "tag", "--semver", "--remote", "--dry-run", reg.Ref("app:build-106"), reg.Ref("app:2.1.106"))
	if r.Code != 0 || !strings.Contains(r.Stdout, "2.1 -> "+d114+" (kept: 2.1.114 is newer than 2.1.106)\n") || digest("2.1.106") != "" {
		t.Errorf("dry run: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = e.Run(t, "tag", "--semver", "--remote", reg.Ref("app:build-106"), reg.Ref("app:2.1.106"))
	if r.Code != 0 || r.Stdout != line("2.1.106", d106, n106) || !strings.Contains(r.Stderr, "latest: kept at "+d114+": 2.1.114 is newer than 2.1.106\n") {
		t.Errorf("older patch: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	for tag, want := range map[string]string{"2.1.106": d106, "2.1": d114, "2": d114, "latest": d114} {
		if got := digest(tag); got != want {
			t.Errorf("after 2.1.106: %s -> %s, want %s", tag, got, want)
		}
	}
	r = e.Run(t, "tag", "--semver", "--remote", "--format", "{{.Repository}} {{.Tag}} {{.Size}}", reg.Ref("app:2.1.106"))
	if want := fmt.Sprintf("%[1]s 2.1.106 %[2]d\n", reg.Ref("app"), n106); r.Code != 0 || r.Stdout != want {
		t.Errorf("--format template: exit %d stdout %q, want %q; stderr %q", r.Code, r.Stdout, want, r.Stderr)
	}

	// A pre-release moves nothing; a newer minor moves 2 and latest.
	dRC, _ := push("rc")
	e.Run(t, "tag", "--semver", "--remote", reg.Ref("app:rc"), reg.Ref("app:2.2.0-rc.1"))
	d220, _ := push("build-220")
	r = e.Run(t, "tag", "--semver", "--remote", "--no-latest", reg.Ref("app@"+d220), reg.Ref("app:2.2.0"))
	for tag, want := range map[string]string{"2.2.0-rc.1": dRC, "2.2.0": d220, "2.2": d220, "2": d220, "2.1": d114, "latest": d114} {
		if got := digest(tag); got != want {
			t.Errorf("after 2.2.0: %s -> %s, want %s (%s)", tag, got, want, r.Stderr)
		}
	}

	for _, args := range [][]string{
		{"tag", "--semver", "--remote", reg.Ref("app:2.1")},
		{"tag", "--semver", "--remote", reg.Ref("app:latest")},
		{"tag", "--semver", "--remote", reg.Ref("other:1"), reg.Ref("app:3.0.0")},
		{"tag", "--remote", reg.Ref("app:3.0.0")},
	} {
		if r := e.Run(t, args...); r.Code != 2 || r.Stdout != "" {
			t.Errorf("%q: exit %d stdout %q stderr %q; want exit 2", args, r.Code, r.Stdout, r.Stderr)
		}
	}
	if r := e.Run(t, "tag", "--semver", "--remote", reg.Ref("app:9.9.9")); r.Code != 3 {
		t.Errorf("missing version tag: exit %d stderr %q", r.Code, r.Stderr)
	}
}

// TestSemverLocalBinary writes versioned tags in the local store.
func TestSemverLocalBinary(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	load := func(name string) {
		img, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(e.Dir, strings.ReplaceAll(name, ":", "_")+".tar")
		if err := tarball.WriteToFile(p, mustTag(t, name), img); err != nil {
			t.Fatal(err)
		}
		if r := e.Run(t, "load", "-i", p); r.Code != 0 {
			t.Fatalf("load: %+v", r)
		}
	}
	load("build:114")
	load("build:106")
	r := e.Run(t, "tag", "--semver", "build:114", "registry.local:5000/app:v2.1.114")
	want := "registry.local:5000/app:v2.1.114\nregistry.local:5000/app:v2.1\nregistry.local:5000/app:v2\nregistry.local:5000/app:latest\n"
	if r.Code != 0 || r.Stdout != want {
		t.Fatalf("tag --semver: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = e.Run(t, "tag", "--semver", "build:106", "registry.local:5000/app:v2.1.106")
	if r.Code != 0 || r.Stdout != "registry.local:5000/app:v2.1.106\n" || strings.Count(r.Stderr, "v2.1.114 is newer than v2.1.106") != 3 {
		t.Errorf("older patch: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	ids := func(ref string) string {
		r := e.Run(t, "images", "--format", "{{.ID}}", ref)
		return r.Stdout
	}
	if ids("build:114") == "" || ids("build:114") == ids("build:106") ||
		ids("registry.local:5000/app:latest") != ids("build:114") || ids("registry.local:5000/app:v2.1.106") != ids("build:106") {
		t.Errorf("tags point at the wrong images")
	}
	// --format: a written tag is a push result, a dry run's step a plan
	// item; plain tag prints nothing and takes no --format.
	r = e.Run(t, "tag", "--semver", "--format", "json", "build:114", "registry.local:5000/app:v2.1.115")
	var written []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("tag --semver --format json: %v in %q", err, r.Stdout)
		}
		written = append(written, m)
	}
	d114 := strings.TrimSpace(e.Run(t, "images", "--format", "{{.Digest}}", "build:114").Stdout)
	if r.Code != 0 || len(written) != 4 || written[0]["repository"] != "registry.local:5000/app" || written[0]["tag"] != "v2.1.115" ||
		written[3]["tag"] != "latest" || written[3]["digest"] != d114 || written[3]["size"].(float64) <= 0 {
		t.Errorf("tag --semver --format json: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = e.Run(t, "tag", "--semver", "--dry-run", "--format", "{{.Tag}} {{.Action}} {{.Reason}}", "build:106", "registry.local:5000/app:v2.1.107")
	want = "v2.1.107 created \nv2.1 kept v2.1.115 is newer than v2.1.107\nv2 kept v2.1.115 is newer than v2.1.107\nlatest kept v2.1.115 is newer than v2.1.107\n"
	if r.Code != 0 || r.Stdout != want {
		t.Errorf("tag --semver --dry-run --format: exit %d stdout %q, want %q; stderr %q", r.Code, r.Stdout, want, r.Stderr)
	}
	if r := e.Run(t, "tag", "--format", "json", "build:106", "other:1"); r.Code != 2 || r.Stdout != "" {
		t.Errorf("tag --format without --semver: exit %d stdout %q", r.Code, r.Stdout)
	}
	if r := e.Run(t, "tag", "build:106", "other:1"); r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
		t.Errorf("plain tag: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if r := e.Run(t, "tag", "--semver", "build:106", "registry.local:5000/app:2.1"); r.Code != 2 || !strings.Contains(r.Stderr, "MAJOR.MINOR.PATCH") {
		t.Errorf("invalid version: exit %d stderr %q", r.Code, r.Stderr)
	}
}

func mustTag(t *testing.T, s string) name.Tag {
	t.Helper()
	tag, err := name.NewTag(s)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

// TestSemverRemoteTokenAuth tags through a bearer-token registry with the
// credentials docker's config holds; without them the exit code is 4.
func TestSemverRemoteTokenAuth(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Token: true})
	e := testenv.NewEnv(t)
	reg.PushRandomImage(t, "team/app:1.0.0", 1, 128)
	if r := e.Run(t, "tag", "--semver", "--remote", reg.Ref("team/app:1.0.0")); r.Code != 4 || !strings.Contains(r.Stderr, "ctl login "+reg.Host) {
		t.Errorf("without credentials: exit %d stderr %q", r.Code, r.Stderr)
	}
	user, pass := reg.User()
	e.AddDockerAuth(t, reg.Host, user, pass)
	r := e.Run(t, "tag", "--semver", "--remote", reg.Ref("team/app:1.0.0"))
	if r.Code != 0 || strings.Count(r.Stdout, ": digest: sha256:") != 4 {
		t.Errorf("with credentials: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if got := e.Crane(t, "ls", "--insecure", reg.Ref("team/app")); got.Code != 0 || strings.Count(got.Stdout, "\n") != 4 {
		t.Errorf("tags on the registry: %q", got.Stdout)
	}
}

// TestPushSemverBinary pushes a version from the store and writes its
// moving tags on the real registry.
func TestPushSemverBinary(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	load := func(ref string) string {
		img, err := random.Image(128, 2)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(e.Dir, strings.NewReplacer(":", "_", "/", "_").Replace(ref)+".tar")
		if err := tarball.WriteToFile(p, mustTag(t, ref), img); err != nil {
			t.Fatal(err)
		}
		if r := e.Run(t, "load", "-i", p); r.Code != 0 {
			t.Fatalf("load: %+v", r)
		}
		// The store keeps what load made of the tar, not img's digest.
		r := e.Run(t, "images", "--format", "{{.Digest}}", ref)
		if r.Code != 0 || !strings.HasPrefix(r.Stdout, "sha256:") {
			t.Fatalf("images: %+v", r)
		}
		return strings.TrimSpace(r.Stdout)
	}
	digest := func(tag string) string {
		r := e.Crane(t, "digest", "--insecure", reg.Ref("app:"+tag))
		return strings.TrimSpace(r.Stdout)
	}
	d114 := load(reg.Ref("app:2.1.114"))
	d106 := load(reg.Ref("app:2.1.106"))

	r := e.Run(t, "push", "--semver", "--dry-run", reg.Ref("app:2.1.114"))
	if r.Code != 0 || !strings.Contains(r.Stdout, "latest -> "+d114+" (created)\n") || digest("2.1.114") != "" {
		t.Errorf("dry run: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = e.Run(t, "push", "--semver", reg.Ref("app:2.1.114"))
	if r.Code != 0 || strings.Count(r.Stdout, ": digest: "+d114) != 4 || !strings.HasPrefix(r.Stdout, "2.1.114: digest: ") {
		t.Errorf("push --semver: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = e.Run(t, "push", "--semver", reg.Ref("app:2.1.106"))
	if r.Code != 0 || strings.Count(r.Stdout, "\n") != 1 || !strings.Contains(r.Stderr, "2: kept at "+d114) {
		t.Errorf("older patch: exit %d stdout %q stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	// --format reaches the moving tags too.
	r = e.Run(t, "push", "--semver", "--format", "{{.Tag}} {{.Digest}}", reg.Ref("app:2.1.114"))
	if want := "2.1.114 " + d114 + "\n2.1 " + d114 + "\n2 " + d114 + "\nlatest " + d114 + "\n"; r.Code != 0 || r.Stdout != want {
		t.Errorf("push --semver --format: exit %d stdout %q, want %q; stderr %q", r.Code, r.Stdout, want, r.Stderr)
	}
	// A dry run prints its plan in the --format chosen, as tag --semver does.
	r = e.Run(t, "push", "--semver", "--dry-run", "--format", "{{.Tag}} {{.Action}}", reg.Ref("app:2.1.114"))
	if want := "2.1.114 unchanged\n2.1 unchanged\n2 unchanged\nlatest unchanged\n"; r.Code != 0 || r.Stdout != want {
		t.Errorf("push --semver --dry-run --format: exit %d stdout %q, want %q; stderr %q", r.Code, r.Stdout, want, r.Stderr)
	}
	for tag, want := range map[string]string{"2.1.114": d114, "2.1.106": d106, "2.1": d114, "2": d114, "latest": d114} {
		if got := digest(tag); got != want {
			t.Errorf("%s -> %s, want %s", tag, got, want)
		}
	}
	if r := e.Run(t, "push", "--semver", "--all-tags", reg.Ref("app:2.1.114")); r.Code != 2 {
		t.Errorf("--semver --all-tags: exit %d", r.Code)
	}
}
