package cmd

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// lookRegistry starts an in-process registry holding app:v1, app:v2 and
// app:latest (one image) and returns its host and a factory for it.
func lookRegistry(t *testing.T) (string, *Factory, func() (string, string)) {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v1", "v2", "latest"} {
		ref, err := name.ParseReference(host + "/app:" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	streams, out, errOut := TestIO("")
	f := &Factory{IO: streams, Opts: &GlobalOptions{Config: t.TempDir()}}
	return host, f, func() (string, string) {
		o, e := out.String(), errOut.String()
		out.Reset()
		errOut.Reset()
		return o, e
	}
}

func TestLookFlagsToOptions(t *testing.T) {
	t.Parallel()
	io, _, _ := TestIO("")
	f := &Factory{IO: io, Opts: &GlobalOptions{}}
	var tl *tagsListOptions
	c := newTagsListCmd(f, func(o *tagsListOptions) error { tl = o; return nil })
	c.SetArgs([]string{"--filter", "v*", "--format", "json", "--page-size", "50", "reg/app"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if tl.Repo != "reg/app" || strings.Join(tl.Filter, ",") != "v*" || tl.Format != "json" || tl.PageSize != 50 {
		t.Errorf("tags list options: %+v", tl)
	}
	var del *deleteOptions
	c = newDeleteCmd(f, func(o *deleteOptions) error { del = o; return nil })
	c.SetArgs([]string{"--dry-run", "--force", "a:1", "b@sha256:" + strings.Repeat("a", 64)})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if !del.DryRun || !del.Force || len(del.Refs) != 2 {
		t.Errorf("delete options: %+v", del)
	}
	var dg *remoteRefOptions
	c = newDigestCmd(f, func(o *remoteRefOptions) error { dg = o; return nil })
	c.SetArgs([]string{"--platform", "linux/arm64/v8", "nginx"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if dg.Platform != "linux/arm64/v8" || dg.Ref != "nginx" {
		t.Errorf("digest options: %+v", dg)
	}
}

func TestLookCommandsAgainstInProcessRegistry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	host, f, output := lookRegistry(t)

	tl := &tagsListOptions{IO: f.IO, Registry: f.Registry, Repo: host + "/app", Format: "text"}
	if err := runTagsList(ctx, tl); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != "latest\nv1\nv2\n" {
		t.Errorf("tags list: %q", out)
	}
	tl.Filter, tl.Format = []string{"v*"}, "{{.Repository}}:{{.Tag}}"
	if err := runTagsList(ctx, tl); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != host+"/app:v1\n"+host+"/app:v2\n" {
		t.Errorf("tags list template: %q", out)
	}
	tl.Filter, tl.Format = []string{"latest", "v2"}, "text" // repeated: any of them
	if err := runTagsList(ctx, tl); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != "latest\nv2\n" {
		t.Errorf("tags list with two filters: %q", out)
	}
	tl.Filter, tl.Format = []string{"nomatch"}, "json"
	if err := runTagsList(ctx, tl); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != "[]\n" {
		t.Errorf("empty json: %q", out)
	}

	dg := &remoteRefOptions{IO: f.IO, Registry: f.Registry, Ref: host + "/app:v1"}
	if err := runDigest(ctx, dg); err != nil {
		t.Fatal(err)
	}
	digest, _ := output()
	if !strings.HasPrefix(digest, "sha256:") || len(digest) != 72 {
		t.Errorf("digest: %q", digest)
	}
	dg.Format = "json"
	if err := runDigest(ctx, dg); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != `{"reference":"`+host+`/app:v1","digest":"`+strings.TrimSpace(digest)+`"}`+"\n" {
		t.Errorf("digest json: %q", out)
	}
	dg.Format = "{{.Reference}}@{{.Digest}}"
	if err := runDigest(ctx, dg); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != host+"/app:v1@"+digest {
		t.Errorf("digest template: %q", out)
	}

	in := &remoteRefOptions{IO: f.IO, Registry: f.Registry, Ref: host + "/app:v1", Format: "json"}
	if err := runInspect(ctx, in); err != nil {
		t.Fatal(err)
	}
	out, _ := output()
	var js map[string]any
	if err := json.Unmarshal([]byte(out), &js); err != nil || js["digest"] != strings.TrimSpace(digest) {
		t.Errorf("inspect json: %s (%v)", out, err)
	}

	del := &deleteOptions{IO: f.IO, Registry: f.Registry, Refs: []string{host + "/app:v2"}, DryRun: true}
	if err := runDelete(ctx, del); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != "Would untag: "+host+"/app:v2\n" {
		t.Errorf("dry run: %q", out)
	}
	del.Format = "json"
	if err := runDelete(ctx, del); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != `{"reference":"`+host+`/app:v2","untagged":true,"dryRun":true}`+"\n" {
		t.Errorf("dry run json: %q", out)
	}
	del.Format = ""
	del.DryRun = false
	if err := runDelete(ctx, del); err != nil {
		t.Fatal(err)
	}
	if out, _ := output(); out != "Untagged: "+host+"/app:v2\n" {
		t.Errorf("delete: %q", out)
	}
	if got := RemoteTagCompletions(ctx, f, host+"/app:"); strings.Join(got, " ") != host+"/app:latest "+host+"/app:v1" {
		t.Errorf("completions: %q", got)
	}
	if got := RemoteTagCompletions(ctx, f, host+"/app"); got != nil {
		t.Errorf("completions without a colon: %q", got)
	}

	// Exit codes: not found, bad input.
	err := runDigest(ctx, &remoteRefOptions{IO: f.IO, Registry: f.Registry, Ref: host + "/app:gone"})
	if code, _ := exitCode(err); code != exitNotFound {
		t.Errorf("missing tag: exit %d (%v)", code, err)
	}
	err = runTagsList(ctx, &tagsListOptions{IO: f.IO, Registry: f.Registry, Repo: host + "/app", Filter: []string{"v*", "["}, Format: "text"})
	if code, _ := exitCode(err); code != exitUsage {
		t.Errorf("bad glob: exit %d (%v)", code, err)
	}
	err = runDigest(ctx, &remoteRefOptions{IO: f.IO, Registry: f.Registry, Ref: host + "/app", Platform: "linux"})
	if code, _ := exitCode(err); code != exitUsage {
		t.Errorf("bad platform: exit %d (%v)", code, err)
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

// TestDeleteDefaultTag: a bare repository means its latest, and delete says
// so as push and pull do.
func TestDeleteDefaultTag(t *testing.T) {
	t.Parallel()
	host, f, output := lookRegistry(t)
	root := NewRootCmd(f)
	root.SetArgs([]string{"delete", "--dry-run", host + "/app"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	out, errOut := output()
	if errOut != "Using default tag: latest\n" || !strings.Contains(out, host+"/app:latest") {
		t.Errorf("delete --dry-run REPO: stdout %q stderr %q", out, errOut)
	}
}
