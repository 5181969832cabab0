package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// galleryBuild is the book's image-gallery, built FROM scratch (no
// network): an index page and a file big enough (256 KiB) that a broken
// stream breaks off inside a layer.
func galleryBuild() map[string]string {
	return map[string]string{
		"Dockerfile": "FROM scratch\nCOPY index.html /usr/share/nginx/html/\nCOPY gallery.js /usr/share/nginx/html/\nCMD [\"/index.html\"]\n",
		"index.html": "<h1>Image Gallery</h1>\n",
		"gallery.js": strings.Repeat("// the gallery's script\n", 256<<10/24),
	}
}

// engineEnv is a ctl environment pointed at the podman service.
func engineEnv(t *testing.T, host string) *testenv.Env {
	t.Helper()
	e := testenv.NewEnv(t)
	e.Setenv("DOCKER_HOST", host)
	return e
}

func TestEngineBookWorkflow(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	id := p.Build(t, "image-gallery", galleryBuild())
	e := engineEnv(t, p.Host)

	// docker image build -t image-gallery . ; ctl load --from-engine:
	// the name is the engine's (Podman's localhost/ for a local build).
	res := e.Run(t, "load", "--from-engine", "image-gallery")
	wantCode(t, res, 0)
	if res.Stdout != "Loaded image: localhost/image-gallery:latest\n" {
		t.Errorf("load --from-engine stdout %q", res.Stdout)
	}
	res = e.Run(t, "images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
	wantCode(t, res, 0)
	if res.Stdout != "localhost/image-gallery:latest "+id+"\n" {
		t.Errorf("images after load: %q, want the engine's ID %s", res.Stdout, id)
	}

	// tag and push as the book does; the registry has the engine's image.
	v1, v2 := reg.Ref("diamol/image-gallery:v1"), reg.Ref("diamol/image-gallery:v2")
	wantCode(t, e.Run(t, "tag", "localhost/image-gallery", v1, v2), 0)
	res = e.Run(t, "push", "--all-tags", reg.Ref("diamol/image-gallery"))
	wantCode(t, res, 0)
	wantCode(t, e.Crane(t, "manifest", v1), 0)
	res = e.Crane(t, "config", v2)
	wantCode(t, res, 0)
	if sum := sha256.Sum256([]byte(res.Stdout)); "sha256:"+hex.EncodeToString(sum[:]) != id {
		t.Errorf("the pushed config is not the engine's image %s", id)
	}

	// Elsewhere, pull --to-engine of the other tag: the engine has it
	// next (docker run v2 works), with the same image ID.
	other := engineEnv(t, p.Host)
	res = other.Run(t, "pull", "--to-engine", v2)
	wantCode(t, res, 0)
	if !strings.HasSuffix(res.Stdout, "Status: Downloaded newer image for "+v2+"\nLoaded image: "+v2+"\n") {
		t.Errorf("pull --to-engine stdout %q", res.Stdout)
	}
	podmanImages := p.MustRun(t, "images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
	if !strings.Contains(podmanImages, v2+" "+id) {
		t.Errorf("podman images after pull --to-engine, want %s %s:\n%s", v2, id, podmanImages)
	}

	// save --to-engine hands a store image back under a new name.
	v3 := reg.Ref("diamol/image-gallery:v3")
	wantCode(t, e.Run(t, "tag", v1, v3), 0)
	res = e.Run(t, "save", "--to-engine", v3)
	wantCode(t, res, 0)
	if res.Stdout != "Loaded image: "+v3+"\n" {
		t.Errorf("save --to-engine stdout %q", res.Stdout)
	}
	if got := p.ImageID(t, v3); got != id {
		t.Errorf("podman has %s as %s, want %s", v3, got, id)
	}

	// images --engine: ctl's table and filters over the engine's images.
	// (As with docker, * stops at a slash: */image-gallery is Podman's
	// localhost/image-gallery, not HOST/diamol/image-gallery.)
	res = e.Run(t, "images", "--engine", "--filter", "reference=*/image-gallery", "--filter", "reference="+reg.Host+"/*/image-gallery:v2")
	wantCode(t, res, 0)
	rows := lines(res.Stdout)
	want := regexp.MustCompile(`^(\S+)\s+(v2|latest)\s+` + id[len("sha256:"):][:12] + `\s+\S.*\s+\S+B$`)
	if len(rows) != 3 || !regexp.MustCompile(`^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$`).MatchString(rows[0]) {
		t.Fatalf("images --engine:\n%s", res.Stdout)
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		m := want.FindStringSubmatch(r)
		if m == nil {
			t.Errorf("row %q", r)
			continue
		}
		seen[m[1]+":"+m[2]] = true
	}
	if !seen["localhost/image-gallery:latest"] || !seen[reg.Ref("diamol/image-gallery")+":v2"] || len(seen) != 2 {
		t.Errorf("images --engine rows: %q", rows[1:])
	}
	res = e.Run(t, "images", "--engine", "--format", "json", reg.Ref("diamol/image-gallery:v2"))
	wantCode(t, res, 0)
	if !strings.Contains(res.Stdout, `"Tag":"v2"`) || !strings.Contains(res.Stdout, `"ID":"`+id[7:19]+`"`) || len(lines(res.Stdout)) != 1 {
		t.Errorf("images --engine --format json: %s", res.Stdout)
	}
}

func TestEngineArchivesInterop(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	id := p.Build(t, "example.test/gallery:v1", galleryBuild())
	e := testenv.NewEnv(t) // no engine needed: archives only
	dir := t.TempDir()

	// podman save → ctl load, in both of podman's archive formats.
	for _, format := range []string{"docker-archive", "oci-archive"} {
		path := filepath.Join(dir, format+".tar")
		p.MustRun(t, "save", "--format", format, "-o", path, "example.test/gallery:v1")
		e := testenv.NewEnv(t)
		res := e.Run(t, "load", "-i", path)
		wantCode(t, res, 0)
		if res.Stdout != "Loaded image: example.test/gallery:v1\n" {
			t.Errorf("%s: load stdout %q", format, res.Stdout)
		}
		res = e.Run(t, "images", "--no-trunc", "-q")
		wantCode(t, res, 0)
		if strings.TrimSpace(res.Stdout) != id {
			t.Errorf("%s: loaded ID %q, want %s", format, res.Stdout, id)
		}
	}

	// ctl save → podman load, docker format (the default) and oci.
	wantCode(t, e.Run(t, "load", "-i", filepath.Join(dir, "docker-archive.tar")), 0)
	wantCode(t, e.Run(t, "tag", "example.test/gallery:v1", "example.test/gallery:from-ctl"), 0)
	for _, format := range []string{"docker", "oci"} {
		path := filepath.Join(dir, "ctl-"+format+".tar")
		wantCode(t, e.Run(t, "save", "--format", format, "-o", path, "example.test/gallery:from-ctl"), 0)
		p.MustRun(t, "rmi", "--ignore", "example.test/gallery:from-ctl")
		out := p.MustRun(t, "load", "-i", path)
		if format == "docker" && !strings.Contains(out, "example.test/gallery:from-ctl") {
			t.Errorf("podman load of ctl's docker archive: %q", out)
		}
		if got := p.ImageID(t, idOrRef(format, out)); got != id {
			t.Errorf("podman loaded ctl's %s archive as %s, want %s", format, got, id)
		}
	}
}

// idOrRef is what to inspect after podman load: the reference ctl's
// docker archive names, or the image ID podman reports for an OCI archive
// (whose ref.name annotation podman does not take as a name).
func idOrRef(format, out string) string {
	if format == "docker" {
		return "example.test/gallery:from-ctl"
	}
	out = strings.TrimSpace(out)
	if i := strings.LastIndex(out, ": "); i >= 0 {
		out = out[i+2:]
	}
	return strings.TrimPrefix(strings.TrimPrefix(out, "localhost/"), "sha256:")
}

func TestEngineUnreachable(t *testing.T) {
	t.Parallel()
	missing := "unix://" + t.TempDir() + "/docker.sock"

	// DOCKER_HOST: named, with the way to point elsewhere.
	e := engineEnv(t, missing)
	for _, args := range [][]string{
		{"load", "--from-engine", "image-gallery"},
		{"images", "--engine"},
		// The engine is looked for first: no registry is contacted (none
		// listens at 127.0.0.1:9), nothing is pulled for nothing.
		{"pull", "--to-engine", "127.0.0.1:9/app:v1"},
		{"push", "--from-engine", "127.0.0.1:9/app:v1"},
	} {
		res := e.Run(t, args...)
		wantCode(t, res, 1)
		if !strings.Contains(res.Stderr, "no container engine reachable at "+missing+" (from DOCKER_HOST)") ||
			!strings.Contains(res.Stderr, "point DOCKER_HOST at the engine's socket") {
			t.Errorf("%v: stderr %q", args, res.Stderr)
		}
	}

	// The current docker context of the config: named too.
	e = testenv.NewEnv(t)
	sum := sha256.Sum256([]byte("gone"))
	meta := filepath.Join(e.DockerConfig, "contexts", "meta", hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(meta, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(meta, "meta.json"), `{"Name":"gone","Metadata":{},"Endpoints":{"docker":{"Host":"`+missing+`"}}}`)
	writeFile(t, filepath.Join(e.DockerConfig, "config.json"), `{"currentContext":"gone"}`)
	res := e.Run(t, "images", "--engine")
	wantCode(t, res, 1)
	if !strings.Contains(res.Stderr, missing+` (from docker context "gone")`) {
		t.Errorf("stderr %q", res.Stderr)
	}

	// A socket that is not an engine.
	s := testenv.StartSocket(t, http.NotFoundHandler())
	e = engineEnv(t, s.Host)
	res = e.Run(t, "load", "--from-engine", "image-gallery")
	wantCode(t, res, 1)
	if !strings.Contains(res.Stderr, s.Host+" (from DOCKER_HOST) does not answer as a Docker Engine API") {
		t.Errorf("stderr %q", res.Stderr)
	}
	if _, err := os.Stat(filepath.Join(e.Store, "index.json")); err == nil {
		if got := e.Run(t, "images", "-q"); got.Stdout != "" {
			t.Errorf("store after a failed load: %q", got.Stdout)
		}
	}
}

func TestEngineFaults(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	p.Build(t, "example.test/gallery:v1", galleryBuild())
	proxy := testenv.NewProxy(t, "http://"+p.TCP(t), nil)
	e := engineEnv(t, "tcp://"+proxy.Host)
	// Something in the store already, which no failure may lose.
	wantCode(t, e.Run(t, "load", "--from-engine", "example.test/gallery:v1"), 0)
	wantCode(t, e.Run(t, "tag", "example.test/gallery:v1", "example.test/kept:v1"), 0)
	wantCode(t, e.Run(t, "rmi", "example.test/gallery:v1"), 0)
	before := storeState(t, e)

	// fails runs ctl and wants exit code and text in stderr.
	fails := func(code int, text string, args ...string) {
		t.Helper()
		res := e.Run(t, args...)
		wantCode(t, res, code)
		if !strings.Contains(res.Stderr, text) {
			t.Errorf("stderr %q, want %q", res.Stderr, text)
		}
	}

	// An image the engine lacks: exit 3, naming it.
	fails(3, "no such image in the engine: example.test/nope:v1", "load", "--from-engine", "example.test/gallery:v1", "example.test/nope:v1")

	// The engine answers the save with an error: its message, exit 1.
	proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/images/get", Kind: testenv.FaultStatus, Status: 500,
		Body: `{"cause":"disk on fire","message":"disk on fire","response":500}`, Times: 1})
	fails(1, "disk on fire", "load", "--from-engine", "example.test/gallery:v1")

	// The save stream breaks off inside the big layer: exit 1, nothing
	// stored.
	proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/images/get", Kind: testenv.FaultDropMidBody, Bytes: 100 << 10, Times: 1})
	fails(1, "broke off", "load", "--from-engine", "example.test/gallery:v1")
	if after := storeState(t, e); after != before {
		t.Errorf("the store changed:\n%s\n%s", before, after)
	}

	// push --from-engine whose save stream breaks off: exit 1, no tag.
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	p.MustRun(t, "tag", "example.test/gallery:v1", reg.Ref("app:v1"))
	proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/images/get", Kind: testenv.FaultDropMidBody, Bytes: 100 << 10})
	// The push was announced before the engine's archive was read.
	res := e.Run(t, "push", "--from-engine", reg.Ref("app:v1"))
	wantCode(t, res, 1)
	if !strings.HasPrefix(res.Stderr, "The push refers to repository ["+reg.Ref("app")+"]\n") || !strings.Contains(res.Stderr, "broke off") {
		t.Errorf("push --from-engine, save stream broken: stderr %q, want the header, then the break", res.Stderr)
	}
	if exists(t, reg, "app:v1") {
		t.Error("the tag exists after a push whose source broke off")
	}
	proxy.ClearFaults()
	wantCode(t, e.Run(t, "push", "--from-engine", reg.Ref("app:v1")), 0)

	// The engine refuses a load: its message, exit 1.
	proxy.AddFault(testenv.Fault{Method: "POST", PathRegexp: "/images/load", Kind: testenv.FaultStatus, Status: 500,
		Body: `{"cause":"no space left","message":"no space left on device","response":500}`, Times: 1})
	fails(1, "no space left on device", "save", "--to-engine", "example.test/kept:v1")
	// And without the fault, through the same proxy, it works.
	wantCode(t, e.Run(t, "save", "--to-engine", "example.test/kept:v1"), 0)
}

// TestNoOtherCommandContactsAnEngine runs ctl's other commands with
// DOCKER_HOST at a socket that counts connections: none may come.
func TestNoOtherCommandContactsAnEngine(t *testing.T) {
	t.Parallel()
	s := testenv.StartSocket(t, http.NotFoundHandler())
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	reg.PushRandomImage(t, "app:v1", 1, 1024)
	e := engineEnv(t, s.Host)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"pull", reg.Ref("app:v1")},
		{"images"},
		{"tag", reg.Ref("app:v1"), reg.Ref("app:v2")},
		{"push", reg.Ref("app:v2")},
		{"save", "-o", filepath.Join(dir, "app.tar"), reg.Ref("app:v1")},
		{"load", "-i", filepath.Join(dir, "app.tar")},
		{"copy", reg.Ref("app:v1"), reg.Ref("copy:v1")},
		{"tags", "list", reg.Ref("app")},
		{"catalog", reg.Host},
		{"digest", reg.Ref("app:v1")},
		{"inspect", reg.Ref("app:v1")},
		{"image", "inspect", reg.Ref("app:v1")},
		{"rmi", reg.Ref("app:v2")},
		{"image", "prune", "--force"},
		{"version"},
	} {
		wantCode(t, e.Run(t, args...), 0)
	}
	if n := s.Connections(); n != 0 {
		t.Fatalf("%d connections to DOCKER_HOST from commands that are not engine commands", n)
	}
	// The socket does count: an engine command reaches it.
	wantCode(t, e.Run(t, "images", "--engine"), 1)
	if s.Connections() == 0 {
		t.Fatal("images --engine did not reach DOCKER_HOST: the check above proves nothing")
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEnginePush(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	id := p.Build(t, "image-gallery", galleryBuild())
	repo := reg.Ref("diamol/image-gallery")
	p.MustRun(t, "tag", "image-gallery", repo+":v1", repo+":v2")
	e := engineEnv(t, p.Host)

	// Two layers (two COPYs): both pushed, then the tag line as push says it.
	res := e.Run(t, "push", "--from-engine", repo+":v1")
	wantCode(t, res, 0)
	d := digestOf(t, reg, "diamol/image-gallery:v1").String()
	checkPushOutput(t, res, repo, 2, []string{"v1: digest: " + d + " size: " + sizeOf(res.Stdout)})
	if strings.Count(res.Stderr, ": Pushed") != 2 {
		t.Errorf("stderr:\n%s", res.Stderr)
	}
	cfg := e.Crane(t, "config", repo+":v1")
	if sum := sha256.Sum256([]byte(cfg.Stdout)); "sha256:"+hex.EncodeToString(sum[:]) != id {
		t.Errorf("the pushed config is not the engine's image %s", id)
	}
	wantCode(t, e.Crane(t, "validate", "--remote", repo+":v1"), 0)

	// Every tag: the manifest is there already, only the tags are written.
	res = e.Run(t, "push", "--from-engine", "--all-tags", repo)
	wantCode(t, res, 0)
	if strings.Contains(res.Stderr, "Pushed") || res.Stdout != "v1: digest: "+d+" size: "+sizeOf(res.Stdout)+"\nv2: digest: "+d+" size: "+sizeOf(res.Stdout)+"\n" {
		t.Errorf("push --from-engine --all-tags:\nstdout %s\nstderr %s", res.Stdout, res.Stderr)
	}

	// An image built on it: its two layers are there (HEAD, the same
	// digests from the same engine content), only the new one goes up.
	p.Build(t, repo+":v3", map[string]string{
		"Dockerfile": "FROM " + repo + ":v1\nCOPY extra.txt /extra.txt\n",
		"extra.txt":  "more\n",
	})
	res = e.Run(t, "push", "--from-engine", repo+":v3")
	wantCode(t, res, 0)
	if strings.Count(res.Stderr, ": Layer already exists") != 2 || strings.Count(res.Stderr, ": Pushed") != 1 {
		t.Errorf("push --from-engine of a child image:\n%s", res.Stderr)
	}
	wantCode(t, e.Crane(t, "validate", "--remote", repo+":v3"), 0)

	// The store keeps what was pushed, as load --from-engine leaves it:
	// the engine's image under every tag pushed.
	res = e.Run(t, "images", "--no-trunc", "--format", "{{.Tag}} {{.ID}}", repo)
	got := lines(res.Stdout)
	slices.Sort(got)
	if !slices.Equal(got, []string{"v1 " + id, "v2 " + id, "v3 " + p.ImageID(t, repo+":v3")}) {
		t.Errorf("the store after pushes from the engine: %q", res.Stdout)
	}

	// An image the engine lacks: exit 3, nothing pushed, the error alone
	// (as from the store).
	res = e.Run(t, "push", "--from-engine", repo+":nope")
	wantCode(t, res, 3)
	if strings.Contains(res.Stderr, "The push refers to") {
		t.Errorf("push --from-engine of a missing image: stderr %q, want the error alone", res.Stderr)
	}
	res = e.Run(t, "push", "--from-engine", "--all-tags", reg.Ref("nothing/here"))
	wantCode(t, res, 3)
}

// TestEnginePushIsLoadThenPush: push --from-engine reads the engine's
// save stream once and pushes what load --from-engine and push send: the
// same manifest digest (the store's, layers gzip'd deterministically), so
// an image pushed both ways has one digest on the registry and its layers
// go up once. The store keeps the image, so a push of it again asks the
// engine nothing.
func TestEnginePushIsLoadThenPush(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	id := p.Build(t, "example.test/gallery:v1", galleryBuild())
	repo := reg.Ref("app")
	p.MustRun(t, "tag", "example.test/gallery:v1", repo+":loaded", repo+":pushed")
	proxy := testenv.NewProxy(t, "http://"+p.TCP(t), nil)
	saves := func() int { return proxy.Count("GET", "/images/get") }

	// load --from-engine, then push from the store.
	loaded := engineEnv(t, "tcp://"+proxy.Host)
	wantCode(t, loaded.Run(t, "load", "--from-engine", repo+":loaded"), 0)
	res := loaded.Run(t, "push", repo+":loaded")
	wantCode(t, res, 0)
	if strings.Count(res.Stderr, ": Pushed") != 2 {
		t.Errorf("push after load --from-engine:\n%s", res.Stderr)
	}
	if n := saves(); n != 1 {
		t.Errorf("load --from-engine and push asked the engine for %d saves, want 1", n)
	}
	d := digestOf(t, reg, "app:loaded").String()

	// push --from-engine, from another store: one save, the same
	// manifest, no layer sent again.
	proxy.Reset()
	e := engineEnv(t, "tcp://"+proxy.Host)
	res = e.Run(t, "push", "--from-engine", repo+":pushed")
	wantCode(t, res, 0)
	checkPushOutput(t, res, repo, 2, []string{"pushed: digest: " + d + " size: " + sizeOf(res.Stdout)})
	if strings.Count(res.Stderr, ": Layer already exists") != 2 {
		t.Errorf("push --from-engine of an image pushed already: layers sent again:\n%s", res.Stderr)
	}
	if n := saves(); n != 1 {
		t.Errorf("push --from-engine asked the engine for %d saves, want 1", n)
	}
	if got := digestOf(t, reg, "app:pushed").String(); got != d {
		t.Errorf("push --from-engine pushed %s, load --from-engine and push %s", got, d)
	}
	wantCode(t, e.Crane(t, "validate", "--remote", repo+":pushed"), 0)

	// The store has the image: pushed again from there, the engine is
	// not asked, and the digest is the same.
	res = e.Run(t, "images", "--no-trunc", "-q", repo+":pushed")
	if strings.TrimSpace(res.Stdout) != id {
		t.Errorf("the store after push --from-engine: %q, want %s", res.Stdout, id)
	}
	proxy.Reset()
	res = e.Run(t, "push", repo+":pushed")
	wantCode(t, res, 0)
	if !strings.Contains(res.Stdout, "pushed: digest: "+d+" ") || proxy.Count("", "") != 0 {
		t.Errorf("push from the store after push --from-engine: %d engine requests, stdout %q", proxy.Count("", ""), res.Stdout)
	}

	// Every tag of the repository the engine has: one save of them all.
	proxy.Reset()
	res = e.Run(t, "push", "--from-engine", "--all-tags", repo)
	wantCode(t, res, 0)
	size := sizeOf(res.Stdout)
	got := lines(res.Stdout)
	slices.Sort(got)
	if want := []string{"loaded: digest: " + d + " size: " + size, "pushed: digest: " + d + " size: " + size}; !slices.Equal(got, want) {
		t.Errorf("push --from-engine --all-tags: stdout %q, want %q", res.Stdout, want)
	}
	if n := saves(); n != 1 {
		t.Errorf("push --from-engine --all-tags asked the engine for %d saves, want 1", n)
	}
}

// TestEnginePushInterruptedAtTheEngine: push --from-engine interrupted
// while the engine's save is read: exit 130, nothing tagged on the
// registry and nothing in the store (its load from the engine is atomic).
func TestEnginePushInterruptedAtTheEngine(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	p.Build(t, reg.Ref("app:v1"), galleryBuild())
	proxy := testenv.NewProxy(t, "http://"+p.TCP(t), nil)
	proxy.AddFault(testenv.Fault{Method: "GET", PathRegexp: "/images/get", Kind: testenv.FaultHang})
	e := engineEnv(t, "tcp://"+proxy.Host)
	run := e.Start(t, testenv.CtlBinary(t), nil, time.Minute, "push", "--from-engine", reg.Ref("app:v1"))
	testenv.WaitFor(t, 30*time.Second, "the engine's save", func() bool { return proxy.Count("GET", "/images/get") > 0 })
	run.Signal(syscall.SIGINT)
	res := run.WaitWithin(interruptBound)
	if want := "interrupted: nothing was tagged\n"; res.Code != 130 || !strings.HasSuffix(res.Stderr, want) {
		t.Fatalf("exit %d, stderr %q; want 130 and %q", res.Code, res.Stderr, want)
	}
	if r := e.Run(t, "images", "-q"); r.Stdout != "" {
		t.Errorf("the store holds %q after an interrupted push", r.Stdout)
	}
	if exists(t, reg, "app:v1") {
		t.Error("the tag exists after an interrupted push")
	}
}

// sizeOf is the size of the first push result line in stdout.
func sizeOf(stdout string) string {
	if m := regexp.MustCompile(`size: (\d+)`).FindStringSubmatch(stdout); m != nil {
		return m[1]
	}
	return "?"
}

// TestEngineRepositoryTags: load --from-engine of a repository name alone
// takes every tag of it the engine has, as "docker save REPO | ctl load"
// does, names spelled either way (docker.io/library/x is x); save
// --to-engine of several tags says each.
func TestEngineRepositoryTags(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	id := p.Build(t, "example.test/gallery:v1", galleryBuild())
	p.MustRun(t, "tag", "example.test/gallery:v1", "example.test/gallery:v2", "docker.io/library/busy:1", "docker.io/library/busy:2")
	e := engineEnv(t, p.Host)
	for _, tt := range []struct{ repo, want string }{
		{"example.test/gallery", "Loaded image: example.test/gallery:v1\nLoaded image: example.test/gallery:v2\n"},
		{"busy", "Loaded image: busy:1\nLoaded image: busy:2\n"},
	} {
		res := e.Run(t, "load", "--from-engine", tt.repo)
		wantCode(t, res, 0)
		got := lines(res.Stdout)
		slices.Sort(got)
		if strings.Join(got, "\n")+"\n" != tt.want {
			t.Errorf("load --from-engine %s: stdout %q, want %q", tt.repo, res.Stdout, tt.want)
		}
	}
	res := e.Run(t, "images", "--no-trunc", "-q")
	if strings.TrimSpace(res.Stdout) != id {
		t.Errorf("images -q: %q, want %s", res.Stdout, id)
	}
	// A repository the engine has no tag of: exit 3, naming it.
	res = e.Run(t, "load", "--from-engine", "example.test/nothing")
	wantCode(t, res, 3)
	if !strings.Contains(res.Stderr, "no such image in the engine: example.test/nothing") {
		t.Errorf("stderr %q", res.Stderr)
	}

	// images --engine -a: the engine's intermediate images too, as docker
	// images -a (the build's steps left some).
	all, def := e.Run(t, "images", "--engine", "-a", "-q", "--no-trunc"), e.Run(t, "images", "--engine", "-q", "--no-trunc")
	wantCode(t, all, 0)
	podmanAll := p.MustRun(t, "images", "-a", "-q", "--no-trunc")
	if n := len(lines(all.Stdout)); n <= len(lines(def.Stdout)) || n != len(lines(podmanAll)) {
		t.Errorf("images --engine -a: %q; without -a %q; podman images -a: %q", all.Stdout, def.Stdout, podmanAll)
	}

	// Back to the engine under two new names: one line per reference, as
	// Docker answers (Podman answers one line for both).
	wantCode(t, e.Run(t, "tag", "busy:1", "example.test/back:1", "example.test/back:2"), 0)
	res = e.Run(t, "save", "--to-engine", "example.test/back")
	wantCode(t, res, 0)
	got := lines(res.Stdout)
	slices.Sort(got)
	if want := []string{"Loaded image: example.test/back:1", "Loaded image: example.test/back:2"}; !slices.Equal(got, want) {
		t.Errorf("save --to-engine of two tags: stdout %q, want %q", res.Stdout, want)
	}
	for _, r := range []string{"example.test/back:1", "example.test/back:2"} {
		if got := p.ImageID(t, r); got != id {
			t.Errorf("the engine has %s as %s, want %s", r, got, id)
		}
	}
}

// TestEnginePullInterruptedAtTheEngine: pull --to-engine interrupted while
// the engine loads: exit 130 saying what it leaves (the image stored, the
// engine without it), which is so.
func TestEnginePullInterruptedAtTheEngine(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	reg.PushRandomImage(t, "app:v1", 1, 1024)
	proxy := testenv.NewProxy(t, "http://"+p.TCP(t), nil)
	proxy.AddFault(testenv.Fault{Method: "POST", PathRegexp: "/images/load", Kind: testenv.FaultHang})
	e := engineEnv(t, "tcp://"+proxy.Host)
	run := e.Start(t, testenv.CtlBinary(t), nil, time.Minute, "pull", "--to-engine", reg.Ref("app:v1"))
	testenv.WaitFor(t, 30*time.Second, "the engine's load", func() bool { return proxy.Count("POST", "/images/load") > 0 })
	run.Signal(syscall.SIGINT)
	res := run.WaitWithin(interruptBound)
	if want := "interrupted: the image is stored, but nothing was loaded into the engine\n"; res.Code != 130 || !strings.HasSuffix(res.Stderr, want) {
		t.Fatalf("exit %d, stderr %q; want 130 and %q", res.Code, res.Stderr, want)
	}
	if r := e.Run(t, "images", "-q"); r.Stdout == "" {
		t.Error("the store does not hold the pulled image")
	}
	if out := p.MustRun(t, "images", "-q"); out != "" {
		t.Errorf("the engine holds %q", out)
	}
}

// TestEngineSavePlatform: save --to-engine --platform picks which image of
// a multi-platform one the engine (one image per tag, as Podman) takes.
func TestEngineSavePlatform(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	ref := reg.Ref("multi:v1")
	idx := pushIndex(t, reg, "multi:v1", types.OCIImageIndex)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	e := engineEnv(t, p.Host)
	wantCode(t, e.Run(t, "pull", "--platform", "all", ref), 0)
	for _, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		id, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		plat := d.Platform.OS + "/" + d.Platform.Architecture
		res := e.Run(t, "save", "--to-engine", "--platform", plat, ref)
		wantCode(t, res, 0)
		if got := p.ImageID(t, ref); got != id.String() {
			t.Errorf("save --to-engine --platform %s: the engine has %s, want %s", plat, got, id)
		}
	}
}

// TestEngineArtifactRefused: an artifact (a signature, an SBOM) is not
// handed to the engine, which runs images: pull --to-engine stores it and
// says so, save --to-engine refuses it, both with exit 2, the engine
// unchanged.
func TestEngineArtifactRefused(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	img := reg.PushRandomImage(t, "app:v1", 1, 256)
	subject, err := partial.Descriptor(img)
	if err != nil {
		t.Fatal(err)
	}
	const sigType = "application/vnd.example.signature"
	d := testenv.Attach(t, reg.ParseRef(t, "app:v1").Context(), *subject, sigType, nil, reg.RemoteOptions()...)
	ref := reg.Ref("app@" + d.Digest.String())
	e := engineEnv(t, p.Host)
	for _, args := range [][]string{{"pull", "--to-engine", ref}, {"save", "--to-engine", ref}} {
		res := e.Run(t, args...)
		wantCode(t, res, 2)
		if !strings.Contains(res.Stderr, "is an artifact ("+sigType+"), not an image") || strings.Contains(res.Stderr, "payload does not match") {
			t.Errorf("%v: stderr %q", args, res.Stderr)
		}
	}
	if out := p.MustRun(t, "images", "-a", "-q"); out != "" {
		t.Errorf("the engine holds %q", out)
	}
}

// TestEngineImagesPulledByDigest: an engine's image pulled by digest (no
// tag) lists as docker images shows it, "NAME <none>" with its digest,
// and is found by its name.
func TestEngineImagesPulledByDigest(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	reg.PushRandomImage(t, "app:v1", 1, 256)
	d := digestOf(t, reg, "app:v1").String()
	auth := filepath.Join(t.TempDir(), "auth.json")
	writeFile(t, auth, "{}")
	p.MustRun(t, "pull", "--tls-verify=false", "--authfile", auth, reg.Ref("app@"+d))
	e := engineEnv(t, p.Host)
	res := e.Run(t, "images", "--engine", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}", reg.Ref("app"))
	wantCode(t, res, 0)
	if want := reg.Ref("app") + " <none> " + d + "\n"; res.Stdout != want {
		t.Errorf("images --engine: %q, want %q", res.Stdout, want)
	}
}

// TestArchivesReadByPeers: what ctl save writes, podman, skopeo and
// regctl read. An artifact saved beside an image stays out of docker's
// manifest.json (podman's docker-archive load refused the whole archive
// over its {} config); one platform of an index, saved for a machine of
// another platform, is that platform's image (an index listing images the
// archive lacks sent every peer to this machine's platform, missing).
func TestArchivesReadByPeers(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	e := testenv.NewEnv(t)
	dir := t.TempDir()
	skopeo := testenv.SystemBinary(t, "skopeo")

	img := reg.PushRandomImage(t, "app:v1", 1, 256)
	id, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	sbom := e.OrasAttach(t, reg.Ref("app:v1"), "application/spdx+json", `{"spdxVersion":"SPDX-2.3"}`)
	wantCode(t, e.Run(t, "pull", reg.Ref("app:v1")), 0)
	wantCode(t, e.Run(t, "pull", reg.Ref("app@"+sbom)), 0)
	wantCode(t, e.Run(t, "tag", reg.Ref("app@"+sbom), reg.Ref("app:sbom")), 0)
	withArtifact := filepath.Join(dir, "with-artifact.tar")
	wantCode(t, e.Run(t, "save", "-o", withArtifact, reg.Ref("app:v1"), reg.Ref("app:sbom")), 0)
	if out := p.MustRun(t, "load", "-i", withArtifact); !strings.Contains(out, "Loaded image: "+reg.Ref("app:v1")) {
		t.Errorf("podman load of an image and an artifact: %q", out)
	}
	if got := p.ImageID(t, reg.Ref("app:v1")); got != id.String() {
		t.Errorf("podman loaded %s, want %s", got, id)
	}
	res := testenv.NewEnv(t).Run(t, "load", "-i", withArtifact)
	wantCode(t, res, 0)
	if !strings.Contains(res.Stdout, "Loaded artifact: "+reg.Ref("app:sbom")) {
		t.Errorf("ctl load of the archive: %q", res.Stdout)
	}

	idx := pushIndex(t, reg, "multi:v1", types.OCIImageIndex)
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	foreign := im.Manifests[1] // linux/arm64/v8
	if runtime.GOARCH == "arm64" {
		foreign = im.Manifests[0]
	}
	fimg, err := idx.Image(foreign.Digest)
	if err != nil {
		t.Fatal(err)
	}
	fid, err := fimg.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	plat := foreign.Platform.OS + "/" + foreign.Platform.Architecture
	wantCode(t, e.Run(t, "pull", "--platform", "all", reg.Ref("multi:v1")), 0)
	for _, format := range []string{"oci", "docker"} {
		path := filepath.Join(dir, "multi-"+format+".tar")
		wantCode(t, e.Run(t, "save", "--format", format, "--platform", plat, "-o", path, reg.Ref("multi:v1")), 0)
		res := e.Exec(t, skopeo, "", testenv.RunTimeout, "inspect", "--raw", "oci-archive:"+path)
		if res.Code != 0 || sha256Of(res.Stdout) != foreign.Digest.String() {
			t.Errorf("%s: skopeo inspect oci-archive: exit %d, %s, want %s: %s", format, res.Code, sha256Of(res.Stdout), foreign.Digest, res.Stderr)
		}
		p.MustRun(t, "rmi", "--ignore", reg.Ref("multi:v1"))
		p.MustRun(t, "load", "-i", path)
		if got := p.ImageID(t, reg.Ref("multi:v1")); got != fid.String() {
			t.Errorf("%s: podman loaded %s, want the %s image %s", format, got, plat, fid)
		}
		res = e.Exec(t, testenv.ToolBinary(t, "regctl"), "", testenv.RunTimeout, "image", "import", "--host", "reg="+reg.Host+",tls=disabled", reg.Ref("imported:"+format), path)
		if res.Code != 0 {
			t.Errorf("%s: regctl image import: %s", format, res.Stderr)
		} else if got := e.Run(t, "digest", reg.Ref("imported:"+format)); strings.TrimSpace(got.Stdout) != foreign.Digest.String() {
			t.Errorf("%s: regctl imported %q, want %s", format, got.Stdout, foreign.Digest)
		}
	}
}
