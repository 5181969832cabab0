package cmd

// Test plumbing the command tests share: running ctl in-process, parsing a
// command line into options through runF, and in-process registries.

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/spf13/cobra"
)

// run executes ctl in-process and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	io, out, errOut := TestIO("")
	code := Main(context.Background(), io, args)
	return out.String(), errOut.String(), code
}

// parseCase is one row of a TestNewCmdX table: a command line and the
// options it parses into, or a usage error.
type parseCase[O any] struct {
	args []string // the command line after the command's name
	want *O       // the options (see parseTable's project); nil: a usage error
}

// parseTable runs each case through the command newCmd builds, with a runF
// that captures the options, and compares project(options), the fields the
// flags and arguments set, with want. Cobra's checks of arguments and flags
// run; the command's run function does not (no network, no store).
func parseTable[O any](t *testing.T, newCmd func(*Factory, func(*O) error) *cobra.Command, project func(*O) O, cases []parseCase[O]) {
	t.Helper()
	for _, tc := range cases {
		ios, _, _ := TestIO("")
		var got *O
		c := newCmd(&Factory{IO: ios, Opts: &GlobalOptions{}}, func(o *O) error { got = o; return nil })
		c.SetArgs(tc.args)
		c.SetOut(io.Discard)
		c.SetErr(io.Discard)
		err := c.Execute()
		switch {
		case tc.want == nil && err == nil:
			t.Errorf("%q: accepted as %+v, want a usage error", tc.args, project(got))
		case tc.want != nil && err != nil:
			t.Errorf("%q: %v", tc.args, err)
		case tc.want != nil && !reflect.DeepEqual(project(got), *tc.want):
			t.Errorf("%q: options %+v, want %+v", tc.args, project(got), *tc.want)
		}
	}
}

// parsed is the options newCmd parses args into (nil on a usage error).
func parsed[O any](newCmd func(*Factory, func(*O) error) *cobra.Command, args ...string) *O {
	ios, _, _ := TestIO("")
	var got *O
	c := newCmd(&Factory{IO: ios, Opts: &GlobalOptions{}}, func(o *O) error { got = o; return nil })
	c.SetArgs(args)
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	if c.Execute() != nil {
		return nil
	}
	return got
}

// usageMessage runs args through Main with an empty store and expects exit
// code 2 with want in stderr.
func usageMessage(t *testing.T, want string, args ...string) {
	t.Helper()
	_, errOut, code := run(t, append([]string{"--store", t.TempDir()}, args...)...)
	if code != exitUsage || !strings.Contains(errOut, want) {
		t.Errorf("%q: exit %d, stderr %q; want 2 with %q", args, code, errOut, want)
	}
}

// registryFixture starts an in-process registry holding app:TAG for each
// of tags (default v1, v2 and latest), all one image, and returns its host
// and a factory whose output the returned function reads and resets.
func registryFixture(t *testing.T, tags ...string) (string, *Factory, func() (string, string)) {
	t.Helper()
	if len(tags) == 0 {
		tags = []string{"v1", "v2", "latest"}
	}
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tag := range tags {
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

// copyFixture is an in-process registry holding src:v1 (3 layers); it
// returns the host and the image's digest.
func copyFixture(t *testing.T) (string, string) {
	t.Helper()
	host, _, _ := registryFixture(t)
	img, err := random.Image(4096, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host + "/src:v1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return host, d.String()
}

func mustHash(t *testing.T, hex string) v1.Hash {
	t.Helper()
	h, err := v1.NewHash("sha256:" + hex)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// usageErrors runs each command line through Main and expects exit code 2:
// the usage errors a command's run function finds (after cobra's checks).
func usageErrors(t *testing.T, cmdlines ...[]string) {
	t.Helper()
	for _, args := range cmdlines {
		if _, errOut, code := run(t, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d (%s)", args, code, exitUsage, errOut)
		}
	}
}

// imageArchive writes a docker save tar (go-containerregistry's tarball) of
// a random image of layers layers of size bytes, tagged ref, as app.tar in
// a temporary directory; it returns the path and the image.
func imageArchive(t *testing.T, ref string, size, layers int64) (string, v1.Image) {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "app.tar")
	if err := tarball.WriteToFile(archive, tag, img); err != nil {
		t.Fatal(err)
	}
	return archive, img
}
