package cmd

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/ctl-dev/ctl/pkg/store"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

// storeWithPlatforms is a store holding app:NAME for each NAME=OS/ARCH
// ("" for an image whose config names no platform).
func storeWithPlatforms(t *testing.T, images map[string]v1.Platform) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for tag, p := range images {
		img, err := random.Image(200, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		r, _ := reference.Parse("app:" + tag)
		if _, err := s.WriteImage(context.Background(), img, r); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestIndexCommands(t *testing.T) {
	t.Parallel()
	dir := storeWithPlatforms(t, map[string]v1.Platform{
		"amd64": {OS: "linux", Architecture: "amd64"},
		"arm64": {OS: "linux", Architecture: "arm64", Variant: "v8"},
		"amd2":  {OS: "linux", Architecture: "amd64"},
		"s390x": {OS: "linux", Architecture: "s390x"},
		"bare":  {},
	})
	ctl := func(args ...string) (string, string, int) {
		t.Helper()
		return run(t, append([]string{"--store", dir}, args...)...)
	}
	out, stderr, code := ctl("index", "create", "app:v1", "app:amd64", "app:arm64")
	if code != 0 || !strings.HasPrefix(out, "app:v1: digest: sha256:") || !strings.HasSuffix(out, " platforms: linux/amd64,linux/arm64/v8\n") {
		t.Fatalf("create: %d %q %q", code, out, stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
		err  string // in stderr
	}{
		{[]string{"index", "create", "app:bad", "app:amd64", "app:amd2"}, 2, "are both linux/amd64 (give --replace"},
		{[]string{"index", "create", "app:bad", "app:bare"}, 2, "--platform app:bare=OS/ARCH"},
		{[]string{"index", "create", "--platform", "app:bare=linux", "app:bad", "app:bare"}, 2, `invalid platform "linux"`},
		{[]string{"index", "create", "--platform", "app:other=linux/amd64", "app:bad", "app:bare"}, 2, "not one of the sources"},
		{[]string{"index", "create", "app:bad", "app:nosuch"}, 3, "no such image"},
		{[]string{"index", "create", "app:v1", "app:s390x"}, 2, `app:v1 is already an index in the store: give --amend to add the sources to it, or edit it with "ctl index add" and "ctl index remove"`},
		{[]string{"index", "add", "app:amd64", "app:arm64"}, 2, "is an image, not an index"},
		{[]string{"index", "remove", "app:v1", "windows/amd64"}, 3, "(the index has: linux/amd64, linux/arm64/v8)"},
		{[]string{"index", "remove", "app:v1", "linux/amd64", "linux/arm64"}, 2, "no entries"},
		{[]string{"image", "inspect", "--platform", "linux/s390x", "app:v1"}, 3, "linux/s390x"},
	} {
		_, stderr, code := ctl(tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.err) {
			t.Errorf("%v: exit %d, %q; want %d with %q", tc.args, code, stderr, tc.code, tc.err)
		}
	}
	if out, _, _ := ctl("images", "--format", "{{.Tag}}", "app"); strings.Contains(out, "bad") {
		t.Errorf("a refused index was written: %s", out)
	}

	// docker's name, --platform for a bare image, annotations (an OCI
	// index, though every image is docker's: a manifest list has none), json.
	out, stderr, code = ctl("manifest", "create", "--format", "json", "--platform", "app:bare=linux/riscv64",
		"--annotation", "org.opencontainers.image.version=2", "app:v2", "app:v1", "app:bare")
	var item indexItem
	if code != 0 || json.Unmarshal([]byte(out), &item) != nil || len(item.Platforms) != 3 || item.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Fatalf("manifest create: %d %q %q", code, out, stderr)
	}
	if _, stderr, code := ctl("index", "add", "--replace", "app:v2", "app:amd2"); code != 0 {
		t.Fatalf("add --replace: %s", stderr)
	}
	out, _, _ = ctl("images", "--format", "{{.Tag}} {{.Platforms}}", "app:v2")
	if out != "v2 linux/amd64,linux/arm64/v8,linux/riscv64\n" {
		t.Errorf("images: %q", out)
	}
	out, _, _ = ctl("images", "app:v2")
	if lines := strings.Split(out, "\n"); !strings.HasSuffix(strings.TrimSpace(lines[0]), "PLATFORMS") || !strings.HasSuffix(lines[1], "linux/amd64,linux/arm64/v8,linux/riscv64") {
		t.Errorf("images table:\n%s", out)
	}
	out, _, _ = ctl("images", "app:amd64")
	if header := strings.Fields(strings.Split(out, "\n")[0]); header[len(header)-1] != "SIZE" {
		t.Errorf("images without an index: docker's columns, got %q", out)
	}
	out, _, code = ctl("image", "inspect", "app:v2")
	var infos []store.ImageInfo
	if code != 0 || json.Unmarshal([]byte(out), &infos) != nil || len(infos) != 1 || len(infos[0].Manifests) != 3 {
		t.Fatalf("inspect: %s", out)
	}
	for _, m := range infos[0].Manifests {
		if !m.Available || m.Size == 0 || m.Kind != "image" || !strings.HasPrefix(m.ID, "sha256:") {
			t.Errorf("inspect entry %+v", m)
		}
	}
	out, _, _ = ctl("image", "inspect", "--platform", "linux/arm64", "--format", "{{.Architecture}}/{{.Variant}}", "app:v2")
	if out != "arm64/v8\n" {
		t.Errorf("inspect --platform: %q", out)
	}
	// --amend (-a) adds to the index, as index add does.
	if out, stderr, code := ctl("manifest", "create", "-a", "app:v2", "app:s390x"); code != 0 || !strings.HasSuffix(out, " platforms: linux/amd64,linux/arm64/v8,linux/riscv64,linux/s390x\n") {
		t.Errorf("create --amend: %d %q %q", code, out, stderr)
	}
}

// TestLocalIndexReads: digest, manifest get and inspect of a local index
// named without a registry read the store (never Docker Hub): the index,
// or with --platform its child; a platform it lacks is exit 3 naming those
// it has, and a single image answers --platform only for its own.
func TestLocalIndexReads(t *testing.T) {
	t.Parallel()
	dir := storeWithPlatforms(t, map[string]v1.Platform{
		"amd64": {OS: "linux", Architecture: "amd64"},
		"arm64": {OS: "linux", Architecture: "arm64", Variant: "v8"},
	})
	ctl := func(args ...string) (string, string, int) {
		t.Helper()
		return run(t, append([]string{"--store", dir}, args...)...)
	}
	out, stderr, code := ctl("index", "create", "app:v1", "app:amd64", "app:arm64")
	if code != 0 {
		t.Fatalf("create: %d %q", code, stderr)
	}
	indexDigest := strings.Fields(strings.SplitN(out, "digest: ", 2)[1])[0]
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	arm, err := s.Resolve("app:arm64")
	if err != nil {
		t.Fatal(err)
	}
	sha := func(b string) string {
		h, _, _ := v1.SHA256(strings.NewReader(b))
		return h.String()
	}
	note := "Using the local image app:v1 (name the registry, e.g. docker.io/library/app:v1, for the registry's)\n"

	if out, stderr, code := ctl("digest", "app:v1"); code != 0 || out != indexDigest+"\n" || stderr != note {
		t.Errorf("digest: %d %q %q, want %s", code, out, stderr, indexDigest)
	}
	if out, _, code := ctl("digest", "--format", "json", "--platform", "linux/arm64", "app:v1"); code != 0 || out != `{"reference":"docker.io/library/app:v1","digest":"`+arm.Digest.String()+`","source":"local"}`+"\n" {
		t.Errorf("digest --platform: %d %q", code, out)
	}
	if out, _, code := ctl("manifest", "get", "app:v1"); code != 0 || sha(out) != indexDigest {
		t.Errorf("manifest get: %d, bytes of %s, want %s", code, sha(out), indexDigest)
	}
	// docker's name for it, after docker manifest create.
	if out, _, code := ctl("manifest", "inspect", "app:v1"); code != 0 || sha(out) != indexDigest {
		t.Errorf("manifest inspect: %d, bytes of %s, want %s", code, sha(out), indexDigest)
	}
	if out, _, code := ctl("manifest", "get", "--platform", "linux/arm64/v8", "app:v1"); code != 0 || sha(out) != arm.Digest.String() {
		t.Errorf("manifest get --platform: %d, bytes of %s, want %s", code, sha(out), arm.Digest)
	}
	var in registry.Inspection
	out, _, code = ctl("inspect", "--format", "json", "app:v1")
	if err := json.Unmarshal([]byte(out), &in); err != nil || code != 0 || in.Digest != indexDigest || in.Source != "local" || len(in.Manifests) != 2 || in.Manifests[1].Platform != "linux/arm64/v8" || in.Manifests[1].Digest != arm.Digest.String() {
		t.Errorf("inspect: %d %+v (%v)", code, in, err)
	}
	out, _, code = ctl("inspect", "--format", "{{.Digest}} {{.Platform}} {{len .Layers}}", "--platform", "linux/arm64", "app:v1")
	if code != 0 || out != arm.Digest.String()+" linux/arm64/v8 1\n" {
		t.Errorf("inspect --platform: %d %q", code, out)
	}

	for _, args := range [][]string{
		{"digest", "--platform", "windows/amd64", "app:v1"},
		{"manifest", "get", "--platform", "linux/s390x", "app:v1"},
		{"inspect", "--platform", "linux/arm/v7", "app:v1"},
	} {
		out, stderr, code := ctl(args...)
		if code != 3 || out != "" || !strings.HasSuffix(stderr, "(the index has: linux/amd64, linux/arm64/v8)\n") {
			t.Errorf("%v: exit %d %q %q, want 3 naming the platforms", args, code, out, stderr)
		}
	}
	// A single image is its own platform's manifest, and no other's.
	if out, _, code := ctl("digest", "--platform", "linux/arm64", "app:arm64"); code != 0 || out != arm.Digest.String()+"\n" {
		t.Errorf("digest --platform of its own platform: %d %q", code, out)
	}
	if _, stderr, code := ctl("digest", "--platform", "linux/amd64", "app:arm64"); code != 3 || !strings.HasSuffix(stderr, "Error: no image for platform linux/amd64 (the image is linux/arm64/v8)\n") {
		t.Errorf("digest --platform of another platform: %d %q", code, stderr)
	}
}

// TestRmiIndexChild: rmi of the last tag of an image a tagged index lists
// prints Untagged only (the image stays, the index's child); it is Deleted
// with the index.
func TestRmiIndexChild(t *testing.T) {
	t.Parallel()
	dir := storeWithPlatforms(t, map[string]v1.Platform{
		"amd64": {OS: "linux", Architecture: "amd64"},
		"arm64": {OS: "linux", Architecture: "arm64"},
	})
	ctl := func(args ...string) (string, string, int) {
		t.Helper()
		return run(t, append([]string{"--store", dir}, args...)...)
	}
	amdID, _, _ := ctl("images", "-q", "--no-trunc", "app:amd64")
	if _, stderr, code := ctl("index", "create", "app:v1", "app:amd64", "app:arm64"); code != 0 {
		t.Fatalf("create: %d %q", code, stderr)
	}
	idxID, _, _ := ctl("images", "-q", "--no-trunc", "app:v1")
	if out, stderr, code := ctl("rmi", "app:amd64"); code != 0 || out != "Untagged: app:amd64\n" {
		t.Errorf("rmi of the child: %d %q %q, want it untagged only", code, out, stderr)
	}
	if _, stderr, code := ctl("rmi", strings.TrimSpace(amdID)); code != 1 || !strings.Contains(stderr, "remove that index first") {
		t.Errorf("rmi of the child by ID: %d %q, want a conflict", code, stderr)
	}
	out, stderr, code := ctl("rmi", "app:v1")
	if want := "Untagged: app:v1\nDeleted: " + idxID + "Deleted: " + amdID; code != 0 || out != want {
		t.Errorf("rmi of the index: %d %q %q, want %q", code, out, stderr, want)
	}
}

// TestDanglingIsWhatPruneRemoves: images --filter dangling=true lists the
// untagged images image prune removes, not the untagged child a tagged
// index holds; the default listing leaves that child out too, -a shows it.
func TestDanglingIsWhatPruneRemoves(t *testing.T) {
	t.Parallel()
	dir := storeWithPlatforms(t, map[string]v1.Platform{
		"amd64": {OS: "linux", Architecture: "amd64"},
		"arm64": {OS: "linux", Architecture: "arm64"},
		"s390x": {OS: "linux", Architecture: "s390x"},
	})
	ctl := func(args ...string) string {
		t.Helper()
		out, stderr, code := run(t, append([]string{"--store", dir}, args...)...)
		if code != 0 {
			t.Fatalf("%q: exit %d %q", args, code, stderr)
		}
		return out
	}
	ids := func(args ...string) string {
		t.Helper()
		return ctl(append([]string{"images", "--format", "{{.Tag}} {{.ID}}", "--no-trunc"}, args...)...)
	}
	amdID := ctl("images", "-q", "--no-trunc", "app:amd64")
	ctl("index", "create", "app:v1", "app:amd64", "app:arm64")
	oldIdx := ctl("images", "-q", "--no-trunc", "app:v1")
	ctl("rmi", "app:amd64")                    // app:v1 holds it: untagged, not dangling
	ctl("index", "add", "app:v1", "app:s390x") // the old index: untagged, dangling
	newIdx := ctl("images", "-q", "--no-trunc", "app:v1")

	if got, want := ids("--filter", "dangling=true"), "<none> "+oldIdx; got != want {
		t.Errorf("dangling=true: %q, want the old index alone %q", got, want)
	}
	if got := ids("-a", "--filter", "dangling=true"); got != "<none> "+oldIdx {
		t.Errorf("-a dangling=true: %q, want the old index alone", got)
	}
	if got := ids(); strings.Contains(got, amdID) || !strings.Contains(got, "<none> "+oldIdx) {
		t.Errorf("default listing: %q, want the dangling index and not the held child %s", got, amdID)
	}
	if got := ids("-a"); !strings.Contains(got, "<none> "+amdID) {
		t.Errorf("-a: %q, want the held child %s", got, amdID)
	}
	if got := ctl("image", "prune", "--force", "--format", "{{range .Deleted}}{{.}}\n{{end}}"); strings.TrimSpace(got) != strings.TrimSpace(oldIdx) {
		t.Errorf("prune deleted %q, want what dangling=true listed: %q", got, oldIdx)
	}
	if got := ids("-a", "--filter", "dangling=false"); strings.Contains(got, "<none>") || !strings.Contains(got, "v1 "+newIdx) {
		t.Errorf("-a dangling=false: %q, want the tagged images only", got)
	}
	if got := ids("-a"); !strings.Contains(got, "<none> "+amdID) {
		t.Errorf("after prune, -a: %q, want the held child kept", got)
	}
}

// TestStoreHeldWhileResolving: save and the index edits hold the store
// (Store.Hold, the lock image prune takes exclusively first) from before
// they read index.json to resolve their references: an rmi + image prune
// between the resolving and the reading of the blobs would remove what
// they resolved. Each is stopped on its first read of index.json (a
// named pipe in its place) and the store's lock is tried then.
func TestStoreHeldWhileResolving(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"save", "-o", "OUT", "app:amd64"},
		{"index", "create", "app:v2", "app:amd64", "app:arm64"},
		{"index", "add", "app:v1", "app:arm64"},
		{"index", "remove", "app:v1", "linux/amd64"},
	} {
		t.Run(args[0]+" "+args[1], func(t *testing.T) {
			t.Parallel()
			dir := storeWithPlatforms(t, map[string]v1.Platform{
				"amd64": {OS: "linux", Architecture: "amd64"},
				"arm64": {OS: "linux", Architecture: "arm64"},
				"s390x": {OS: "linux", Architecture: "s390x"},
			})
			if _, stderr, code := run(t, "--store", dir, "index", "create", "app:v1", "app:amd64", "app:s390x"); code != 0 {
				t.Fatal(stderr)
			}
			args := slices.Clone(args)
			if i := slices.Index(args, "OUT"); i >= 0 {
				args[i] = filepath.Join(t.TempDir(), "out.tar")
			}
			index := filepath.Join(dir, "index.json")
			raw, err := os.ReadFile(index)
			if err != nil {
				t.Fatal(err)
			}
			whole := filepath.Join(dir, "index.json.whole")
			if err := os.WriteFile(whole, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(index); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(index, 0o644); err != nil {
				t.Fatal(err)
			}
			type result struct {
				stderr string
				code   int
			}
			done := make(chan result, 1)
			go func() {
				_, stderr, code := run(t, append([]string{"--store", dir}, args...)...)
				done <- result{stderr, code}
			}()
			fifo, err := os.OpenFile(index, os.O_WRONLY, 0) // returns once the command reads index.json
			if err != nil {
				t.Fatal(err)
			}
			d, err := os.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
				t.Errorf("%v reads index.json without holding the store", args)
				syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
			}
			d.Close()
			if err := os.Rename(whole, index); err != nil { // later reads find a file
				t.Fatal(err)
			}
			fifo.Write(raw)
			fifo.Close()
			if r := <-done; r.code != 0 {
				t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
			}
		})
	}
}
