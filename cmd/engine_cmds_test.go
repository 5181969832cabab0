package cmd

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/engine"
	"github.com/ctl-dev/ctl/pkg/store"
)

func TestEngineFlags(t *testing.T) {
	t.Parallel()
	io, _, _ := TestIO("")
	f := &Factory{IO: io, Opts: &GlobalOptions{}}
	var lo *loadOptions
	c := newLoadCmd(f, func(o *loadOptions) error { lo = o; return nil })
	c.SetArgs([]string{"--from-engine", "image-gallery", "user/app:v1"})
	if err := c.Execute(); err != nil || !lo.FromEngine || strings.Join(lo.Names, ",") != "image-gallery,user/app:v1" || lo.Engine == nil {
		t.Errorf("load --from-engine: %+v %v", lo, err)
	}
	var so *saveOptions
	c = newSaveCmd(f, func(o *saveOptions) error { so = o; return nil })
	c.SetArgs([]string{"--to-engine", "a", "b"})
	if err := c.Execute(); err != nil || !so.ToEngine || len(so.Refs) != 2 || so.Engine == nil {
		t.Errorf("save --to-engine: %+v %v", so, err)
	}
	var po *pushOptions
	c = newPushCmd(f, func(o *pushOptions) error { po = o; return nil })
	c.SetArgs([]string{"--from-engine", "-a", "reg.example/app"})
	if err := c.Execute(); err != nil || !po.FromEngine || !po.AllTags || po.Ref != "reg.example/app" || po.Engine == nil {
		t.Errorf("push --from-engine: %+v %v", po, err)
	}
	var pl *pullOptions
	c = newPullCmd(f, func(o *pullOptions) error { pl = o; return nil })
	c.SetArgs([]string{"--to-engine", "reg.example/app:v1"})
	if err := c.Execute(); err != nil || !pl.ToEngine || pl.Ref != "reg.example/app:v1" || pl.Engine == nil {
		t.Errorf("pull --to-engine: %+v %v", pl, err)
	}
	var io2 *imagesOptions
	c = newImagesCmd(f, func(o *imagesOptions) error { io2 = o; return nil })
	c.SetArgs([]string{"--engine", "-f", "reference=*/a"})
	if err := c.Execute(); err != nil || !io2.FromEngine || len(io2.Filters) != 1 || io2.Engine == nil {
		t.Errorf("images --engine: %+v %v", io2, err)
	}
}

func TestEngineUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string // command line
		err  string   // substring of stderr
	}{
		{[]string{"load", "--from-engine"}, "--from-engine needs the names"},
		{[]string{"load", "--from-engine", "-i", "x.tar", "app"}, "cannot be used together"},
		{[]string{"load", "app"}, `unexpected argument "app"`},
		{[]string{"save", "--to-engine", "-o", "x.tar", "app"}, "cannot be used together"},
		{[]string{"save", "--to-engine", "--format", "oci", "app"}, "--format oci does not apply"},
		{[]string{"push", "--from-engine", "--semver", "reg.example/app:1.2.3"}, "--semver and --from-engine cannot be combined"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			_, errOut, code := run(t, append([]string{"--store", t.TempDir()}, tc.args...)...)
			if code != exitUsage || !strings.Contains(errOut, tc.err) {
				t.Errorf("exit %d, stderr %q; want 2 with %q", code, errOut, tc.err)
			}
		})
	}
}

func TestEngineExitCodes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error  // what a command returned
		code int    // exit code
		hint string // start of the hint line
	}{
		{fmt.Errorf("%w: app:v1", engine.ErrNotFound), exitNotFound, ""},
		{fmt.Errorf("%w at unix:///var/run/docker.sock (docker's default): refused", engine.ErrUnreachable), exitFailure, "point DOCKER_HOST at"},
		{fmt.Errorf("%w: broke off", engine.ErrEngine), exitFailure, ""},
		// An engine's archive the store refuses is the engine's failure,
		// even should the store's sentinel come along.
		{fmt.Errorf("%w: %w", engine.ErrEngine, store.ErrInvalidInput), exitFailure, ""},
		{errors.Join(engine.ErrNotFound, engine.ErrEngine), exitNotFound, ""},
	} {
		code, hint := exitCode(tc.err)
		if code != tc.code || !strings.HasPrefix(hint, tc.hint) || (tc.hint == "") != (hint == "") {
			t.Errorf("exitCode(%v) = %d %q, want %d %q", tc.err, code, hint, tc.code, tc.hint)
		}
	}
}
