package cmd

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/ctl-dev/ctl/pkg/engine"
	"github.com/ctl-dev/ctl/pkg/store"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

func TestNewCmdLoad(t *testing.T) {
	t.Parallel()
	parseTable(t, newLoadCmd, func(o *loadOptions) loadOptions {
		return loadOptions{Input: o.Input, Quiet: o.Quiet, Format: o.Format, FromEngine: o.FromEngine, Names: o.Names}
	}, []parseCase[loadOptions]{
		{[]string{"--input", "x.tar", "-q"}, &loadOptions{Input: "x.tar", Names: []string{}, Quiet: true, Format: "text"}},
		{[]string{"--from-engine", "image-gallery", "user/app:v1"}, &loadOptions{FromEngine: true, Names: []string{"image-gallery", "user/app:v1"}, Format: "text"}},
	})
	if o := parsed(newLoadCmd, "--from-engine", "app"); o == nil || o.Engine == nil {
		t.Error("load --from-engine: no engine to load from")
	}
	usageMessage(t, "--from-engine needs the names", "load", "--from-engine")
	usageMessage(t, "cannot be used together", "load", "--from-engine", "-i", "x.tar", "app")
	usageMessage(t, `unexpected argument "app"`, "load", "app")
}

// TestLoadFormat: load prints docker's line, or one object per image with
// --format.
func TestLoadFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	archive, img := imageArchive(t, "user/app:v1", 100, 1)
	id, _ := img.ConfigName()
	for format, want := range map[string]string{
		"text":                   "Loaded image: user/app:v1\n",
		"json":                   `{"reference":"user/app:v1","id":"` + id.String() + `","digest":"sha256:`,
		"{{.Reference}} {{.ID}}": "user/app:v1 " + id.String() + "\n",
	} {
		out, errOut, code := run(t, "--store", filepath.Join(dir, "s"), "load", "--format", format, "-i", archive)
		if code != 0 || !(out == want || format == "json" && strings.HasPrefix(out, want) && strings.HasSuffix(out, "\"}\n")) {
			t.Errorf("load --format %s: exit %d, stdout %q, want %q (%s)", format, code, out, want, errOut)
		}
	}
}

// TestLoadArtifact: an artifact loaded (a cosign signature in an OCI
// layout) is called one, with its type in JSON.
func TestLoadArtifact(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := layout.Write(filepath.Join(dir, "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	sig := testenv.CosignSignature(t, "signed")
	if err := p.AppendImage(sig, layout.WithAnnotations(map[string]string{store.AnnotationRef: "docker.io/user/app:sig"})); err != nil {
		t.Fatal(err)
	}
	d, _ := sig.Digest()
	for format, want := range map[string]string{
		"text": "Loaded artifact: user/app:sig\n",
		"json": `{"reference":"user/app:sig","id":"` + d.String() + `","digest":"` + d.String() + `","artifactType":"application/vnd.dev.cosign.simplesigning.v1+json"}` + "\n",
	} {
		out, errOut, code := run(t, "--store", filepath.Join(dir, "s"), "load", "--format", format, "-i", filepath.Join(dir, "layout"))
		if code != 0 || out != want {
			t.Errorf("load --format %s of an artifact: exit %d, stdout %q, want %q (%s)", format, code, out, want, errOut)
		}
	}
}

// TestLoadFromEngineProgress: on a terminal, load --from-engine shows a
// running byte count on stderr; with -q, or off a terminal, nothing.
func TestLoadFromEngineProgress(t *testing.T) {
	t.Parallel()
	p := testenv.StartPodman(t)
	p.Build(t, "example.test/app:v1", map[string]string{
		"Dockerfile": "FROM scratch\nCOPY data /data\n",
		"data":       strings.Repeat("x", 1<<20),
	})
	for _, tc := range []struct {
		tty, quiet bool
		progress   bool // stderr shows the count
	}{
		{tty: true, progress: true},
		{tty: true, quiet: true},
		{tty: false},
	} {
		ios, out, errOut := TestIO("")
		ios.StderrTTY = tc.tty
		opts := &loadOptions{
			IO:    ios,
			Store: func() (*store.Store, error) { return store.Open(t.TempDir()) },
			Engine: func(ctx context.Context) (*engine.Client, error) {
				return engine.Open(ctx, engine.Options{Getenv: func(k string) string {
					if k == "DOCKER_HOST" {
						return p.Host
					}
					return ""
				}})
			},
			FromEngine: true, Names: []string{"example.test/app:v1"}, Quiet: tc.quiet, Format: "text",
		}
		if err := runLoad(t.Context(), opts); err != nil {
			t.Fatal(err)
		}
		if out.String() != "Loaded image: example.test/app:v1\n" {
			t.Errorf("%+v: stdout %q", tc, out.String())
		}
		shown := strings.Contains(errOut.String(), "Copying from the engine")
		if shown != tc.progress || (!tc.progress && errOut.Len() > 0) {
			t.Errorf("%+v: stderr %q", tc, errOut.String())
		}
	}
}

// TestLoadProgress: load -i on a terminal draws a bar of the archive's
// bytes on stderr and clears it at the end; -q and a pipe draw nothing.
func TestLoadProgress(t *testing.T) {
	t.Parallel()
	archive, _ := imageArchive(t, "user/app:v1", 300_000, 2)
	for _, tc := range []struct {
		tty, quiet bool
		bar        bool
	}{{true, false, true}, {true, true, false}, {false, false, false}} {
		ios, out, errOut := TestIO("")
		ios.StderrTTY = tc.tty
		args := []string{"--store", filepath.Join(t.TempDir(), "s"), "load", "-i", archive}
		if tc.quiet {
			args = append(args, "-q")
		}
		if code := Main(context.Background(), ios, args); code != 0 || out.String() != "Loaded image: user/app:v1\n" {
			t.Fatalf("%+v: exit %d stdout %q stderr %q", tc, code, out, errOut)
		}
		drawn := strings.Contains(errOut.String(), "Loading app.tar") && strings.Contains(errOut.String(), "100%") && strings.HasSuffix(errOut.String(), "\r\x1b[2K")
		if drawn != tc.bar || !tc.bar && errOut.Len() != 0 {
			t.Errorf("%+v: stderr %q", tc, errOut)
		}
	}
}

// TestLoadStdin: -i - and no -i read standard input; a terminal there is
// refused either way.
func TestLoadStdin(t *testing.T) {
	t.Parallel()
	archive, _ := imageArchive(t, "user/app:v1", 100, 1)
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	for _, input := range []string{"", "-"} {
		s, err := store.Open(filepath.Join(t.TempDir(), "s"))
		if err != nil {
			t.Fatal(err)
		}
		ios, out, _ := TestIO(string(data))
		opts := &loadOptions{IO: ios, Store: func() (*store.Store, error) { return s, nil }, Input: input, Format: "text"}
		if err := runLoad(t.Context(), opts); err != nil || out.String() != "Loaded image: user/app:v1\n" {
			t.Errorf("-i %q: %v, stdout %q", input, err, out.String())
		}
		ios, _, _ = TestIO("")
		ios.StdinTTY = true
		opts = &loadOptions{IO: ios, Store: func() (*store.Store, error) { return s, nil }, Input: input, Format: "text"}
		if err := runLoad(t.Context(), opts); !errors.As(err, new(usageError)) {
			t.Errorf("-i %q from a terminal: %v, want a usage error", input, err)
		}
	}
}
