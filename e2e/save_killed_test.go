package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// saveTemps are the temporary files of a save -o FILE beside FILE.
func saveTemps(t *testing.T, file string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(file))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "."+filepath.Base(file)+".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestSaveKilledLeavesNoTempForever: a save -o FILE killed with SIGKILL
// while it writes (stopped on a layer that is a named pipe) leaves its
// temporary file beside FILE; the next save -o FILE removes it, its
// writer being dead, and writes FILE.
func TestSaveKilledLeavesNoTempForever(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	archive := filepath.Join(e.Dir, "in.tar")
	writeTar(t, archive, false, classicEntries(t, map[string]v1.Image{"app:1": randomImage(t, 1<<20, 1)}))
	wantCode(t, e.Run(t, "load", "-q", "-i", archive), 0)

	// The largest blob is the layer: a pipe in its place stops the save
	// when it reads it.
	blobs := filepath.Join(e.Store, "blobs", "sha256")
	ents, err := os.ReadDir(blobs)
	if err != nil {
		t.Fatal(err)
	}
	var layer string
	var size int64
	for _, ent := range ents {
		if fi, err := ent.Info(); err == nil && fi.Size() > size {
			layer, size = filepath.Join(blobs, ent.Name()), fi.Size()
		}
	}
	content, err := os.ReadFile(layer)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(layer); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(layer, 0o600); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(e.Dir, "app.tar")
	cmd := exec.Command(testenv.CtlBinary(t), "save", "-o", out, "app:1")
	cmd.Env = e.Environ()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // should the wait fail the test
	testenv.WaitFor(t, time.Minute, "the save's temporary file", func() bool { return len(saveTemps(t, out)) > 0 })
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if cmd.ProcessState.Success() {
		t.Fatal("the save finished before it could be killed")
	}
	left := saveTemps(t, out)
	if len(left) != 1 {
		t.Fatalf("a killed save left %v, want its temporary file", left)
	}

	if err := os.Remove(layer); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(layer, content, 0o644); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.Run(t, "save", "-o", out, "app:1"), 0)
	if left := saveTemps(t, out); len(left) != 0 {
		t.Errorf("the next save -o left %v", left)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() < size {
		t.Errorf("the next save wrote %v (%v)", fi, err)
	}
}
