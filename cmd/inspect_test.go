package cmd

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/registry"
)

func TestInspectRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, f, output := registryFixture(t)
	if err := runDigest(ctx, &remoteRefOptions{IO: f.IO, Registry: f.Registry, Ref: host + "/app:v1"}); err != nil {
		t.Fatal(err)
	}
	digest, _ := output()

	in := &remoteRefOptions{IO: f.IO, Registry: f.Registry, Ref: host + "/app:v1", Format: "json"}
	if err := runInspect(ctx, in); err != nil {
		t.Fatal(err)
	}
	out, _ := output()
	var js map[string]any
	if err := json.Unmarshal([]byte(out), &js); err != nil || js["digest"] != strings.TrimSpace(digest) {
		t.Errorf("inspect json: %s (%v)", out, err)
	}
}

func TestPrintInspection(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	in := &registry.Inspection{
		Name: "r/app:v1", MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: "sha256:aa",
		Platform: "linux/amd64", Created: "2026-01-02T03:04:05Z", TotalSize: 2500,
		Layers:     []registry.LayerInfo{{Digest: "sha256:bb", Size: 2000}, {Digest: "sha256:cccc", Size: 500}},
		Entrypoint: []string{"/bin/app"}, Cmd: []string{"--serve"}, Labels: map[string]string{"b": "2", "a": "1\x1b"},
		Env: []string{"PATH=/usr/bin", "MODE=prod"},
	}
	if err := printInspection(&b, in); err != nil {
		t.Fatal(err)
	}
	want := `Name:       r/app:v1
MediaType:  application/vnd.oci.image.manifest.v1+json
Digest:     sha256:aa
Platform:   linux/amd64
Created:    2026-01-02T03:04:05Z
Size:       2.5kB (2500 bytes)
Layers:     2
  sha256:bb    2kB
  sha256:cccc  500B
Entrypoint: /bin/app
Cmd:        --serve
Env:        2
  PATH=/usr/bin
  MODE=prod
Labels:     2
  a=1\x1b
  b=2
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestInspectLocalImage: ctl inspect of a name without a registry that
// the store holds reads the store, without asking Docker Hub.
func TestInspectLocalImage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	archive, _ := imageArchive(t, "image-gallery:latest", 100, 1)
	store := filepath.Join(dir, "s")
	if _, errOut, code := run(t, "--store", store, "load", "-i", archive); code != 0 {
		t.Fatalf("load: %s", errOut)
	}
	stored, _, _ := run(t, "--store", store, "images", "--format", "{{.Digest}}")
	out, errOut, code := run(t, "--store", store, "inspect", "--format", "{{.Name}} {{.Digest}} {{.Source}} {{len .Layers}}", "image-gallery")
	if want := "docker.io/library/image-gallery:latest " + stored[:71] + " local 1\n"; len(stored) != 72 || code != 0 || out != want || errOut != "Using the local image image-gallery (name the registry, e.g. docker.io/library/image-gallery, for the registry's)\n" {
		t.Errorf("inspect of a local image: exit %d stdout %q stderr %q, want %q", code, out, errOut, want)
	}
	// A template naming a field the rows lack lists theirs, no Go types.
	_, errOut, code = run(t, "--store", store, "images", "--format", "{{.Nope}}")
	if code != 2 || !strings.Contains(errOut, "no field .Nope (the fields are .") || !strings.Contains(errOut, " .Repository ") || strings.Contains(errOut, "cmd.") {
		t.Errorf("images --format {{.Nope}}: exit %d stderr %q", code, errOut)
	}
}
