package cmd

import (
	"context"
	"encoding/json"
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
Labels:     2
  a=1\x1b
  b=2
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
