package cmd

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewCmdLoad(t *testing.T) {
	t.Parallel()
	parseTable(t, newLoadCmd, func(o *loadOptions) loadOptions {
		return loadOptions{Input: o.Input, Quiet: o.Quiet, Format: o.Format}
	}, []parseCase[loadOptions]{
		{[]string{"--input", "x.tar", "-q"}, &loadOptions{Input: "x.tar", Quiet: true, Format: "text"}},
		{[]string{"extra"}, nil},
	})
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
