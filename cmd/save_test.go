package cmd

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestNewCmdSave(t *testing.T) {
	t.Parallel()
	parseTable(t, newSaveCmd, func(o *saveOptions) saveOptions {
		return saveOptions{Output: o.Output, Format: o.Format, Refs: o.Refs, ToEngine: o.ToEngine}
	}, []parseCase[saveOptions]{
		{[]string{"-o", "o.tar", "--format", "oci", "a", "b"}, &saveOptions{Output: "o.tar", Format: "oci", Refs: []string{"a", "b"}}},
		{[]string{"--to-engine", "a", "b"}, &saveOptions{Format: "docker", Refs: []string{"a", "b"}, ToEngine: true}},
	})
	if o := parsed(newSaveCmd, "--to-engine", "a"); o == nil || o.Engine == nil {
		t.Error("save --to-engine: no engine to save to")
	}
	usageMessage(t, "cannot be used together", "save", "--to-engine", "-o", "x.tar", "app")
	usageMessage(t, "--format oci does not apply", "save", "--to-engine", "--format", "oci", "app")
}

// TestWriteOutputExitCodes: a file that cannot be created is the user's
// to fix (exit 2, the message naming it); a write that fails midway is a
// failure (exit 1). What the errors say is atomicfile's (its tests).
func TestWriteOutputExitCodes(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing", "file.tar")
	err := writeOutput(missing, func(w io.Writer) error { return nil })
	if code, _ := exitCode(err); code != exitUsage || err.Error() != "writing "+missing+": no such file or directory" {
		t.Errorf("missing directory: %v (exit %d)", err, code)
	}
	out := filepath.Join(t.TempDir(), "out.tar")
	err = writeOutput(out, func(w io.Writer) error {
		return &fs.PathError{Op: "write", Path: w.(*os.File).Name(), Err: syscall.ENOSPC}
	})
	if code, _ := exitCode(err); code != exitFailure {
		t.Errorf("full disk: %v (exit %d)", err, code)
	}
}
