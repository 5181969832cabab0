package cmd

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPinFlags(t *testing.T) {
	t.Parallel()
	io, _, _ := TestIO("")
	var got *pinOptions
	c := newPinCmd(&Factory{IO: io, Opts: &GlobalOptions{}}, func(o *pinOptions) error { got = o; return nil })
	c.SetArgs([]string{"--dry-run", "--update", "--build-arg", "X=1", "a", "b"})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	if !got.DryRun || !got.Update || got.BuildArgs[0] != "X=1" || strings.Join(got.Files, " ") != "a b" {
		t.Errorf("options = %+v", got)
	}
}

// TestPinRun pins against an in-process registry through the real registry
// client, as the command does.
func TestPinRun(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	push := func(repo string) string {
		img, _ := random.Image(32, 1)
		ref, _ := name.ParseReference(host+"/"+repo, name.Insecure)
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		return d.String()
	}
	dA := push("golden/a:1")
	dB := push("golden/b:latest")

	src := fmt.Sprintf("# app\nFROM %[1]s/golden/a:1 AS build\nRUN make\n\n# base\nFROM   %[1]s/golden/b  \n", host)
	want := fmt.Sprintf("# app\nFROM %[1]s/golden/a:1@%[2]s AS build\nRUN make\n\n# base\nFROM   %[1]s/golden/b:latest@%[3]s  \n", host, dA, dB)
	dir := writeFiles(t, map[string]string{"Dockerfile": src, "missing": "FROM " + host + "/golden/nope:1\nFROM " + host + "/golden/a:1\n"})
	file := filepath.Join(dir, "Dockerfile")

	run := func(args ...string) (int, string, string) {
		streams, out, errOut := TestIO("")
		code := Main(context.Background(), streams, append([]string{"pin"}, args...))
		return code, out.String(), errOut.String()
	}

	code, out, _ := run("--dry-run", file)
	if code != 0 || !strings.Contains(out, "--- "+file+"\n+++ "+file+"\n@@ -1,6 +1,6 @@\n # app\n-FROM "+host+"/golden/a:1 AS build\n+FROM "+host+"/golden/a:1@"+dA) {
		t.Errorf("dry run: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(file); string(b) != src {
		t.Errorf("dry run changed the file")
	}

	code, out, _ = run(file)
	if b, _ := os.ReadFile(file); code != 0 || string(b) != want {
		t.Errorf("pin: exit %d\n%s\nfile:\n%s\nwant:\n%s", code, out, b, want)
	}
	if !strings.Contains(out, file+":2: "+host+"/golden/a:1 -> "+host+"/golden/a:1@"+dA+"\n") {
		t.Errorf("pin stdout: %q", out)
	}

	// Idempotent, and --update with unchanged tags changes nothing either.
	for _, args := range [][]string{{file}, {"--update", file}} {
		code, out, errOut := run(args...)
		if b, _ := os.ReadFile(file); code != 0 || string(b) != want || out != "" {
			t.Errorf("pin %q again: exit %d stdout %q stderr %q", args, code, out, errOut)
		}
	}

	// A tag that moved is re-resolved with --update only.
	dA2 := push("golden/a:1")
	run(file)
	if b, _ := os.ReadFile(file); strings.Contains(string(b), dA2) {
		t.Errorf("pin without --update moved a pinned FROM")
	}
	run("--update", file)
	if b, _ := os.ReadFile(file); !strings.Contains(string(b), "golden/a:1@"+dA2) {
		t.Errorf("--update did not re-resolve:\n%s", b)
	}

	// A base that cannot be resolved is reported; the others are pinned;
	// exit 1.
	missing := filepath.Join(dir, "missing")
	code, out, errOut := run(missing)
	if b, _ := os.ReadFile(missing); code != 1 || !strings.Contains(errOut, "missing:1: not pinned: "+host+"/golden/nope:1: ") ||
		!strings.HasSuffix(errOut, "Error: 1 base image could not be resolved (above); the others were pinned\n") ||
		!strings.Contains(out, "missing:2: "+host+"/golden/a:1 -> "+host+"/golden/a:1@"+dA2+"\n") ||
		string(b) != "FROM "+host+"/golden/nope:1\nFROM "+host+"/golden/a:1@"+dA2+"\n" {
		t.Errorf("missing tag: exit %d stdout %q stderr %q, file %q", code, out, errOut, b)
	}
	if code, _, _ := run(filepath.Join(dir, "nope")); code != 2 {
		t.Errorf("missing file: exit %d", code)
	}
}
