package e2e

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// TestStoreFirstUseConcurrent: several processes using a store that does
// not exist yet (or that a crash left half-created) all succeed: creation
// happens under the store's lock.
func TestStoreFirstUseConcurrent(t *testing.T) {
	t.Parallel()
	archive := filepath.Join(t.TempDir(), "small.tar")
	testenv.ImagesTar(t, archive, map[string]v1.Image{"small:1": randomImage(t, 1024, 1)}, false)
	states := []struct {
		name  string
		setup func(t *testing.T, store string)
	}{
		{"no directory", func(*testing.T, string) {}},
		{"an empty directory", func(t *testing.T, store string) { mkdirs(t, store) }},
		{"a creation that crashed", func(t *testing.T, store string) {
			mkdirs(t, filepath.Join(store, "blobs", "sha256"), filepath.Join(store, "tmp"))
			writeFile(t, filepath.Join(store, "index.json"), `{"schemaVersion":2,"manifests":[]}`)
			writeFile(t, filepath.Join(store, ".oci-layout.tmp-123"), `{"imageLayout`)
			writeFile(t, filepath.Join(store, "index.lock"), "")
		}},
	}
	const rounds = 3
	for _, st := range states {
		for _, n := range []int{6, 12} {
			t.Run(fmt.Sprintf("%s/%d loads", st.name, n), func(t *testing.T) {
				t.Parallel()
				for range rounds {
					e := testenv.NewEnv(t)
					st.setup(t, e.Store)
					procs := make([]*testenv.Proc, n)
					for i := range procs {
						procs[i] = e.Start(t, testenv.CtlBinary(t), nil, time.Minute, "load", "-i", archive)
					}
					for i, p := range procs {
						if res := p.Wait(); res.Code != 0 {
							t.Fatalf("load %d of %d: exit %d: %s", i+1, n, res.Code, res.Stderr)
						}
					}
					r := e.Run(t, "images", "--format", "{{.Repository}}:{{.Tag}}")
					wantCode(t, r, 0)
					if r.Stdout != "small:1\n" {
						t.Fatalf("images: %q", r.Stdout)
					}
					if _, err := os.Stat(filepath.Join(e.Store, ".oci-layout.tmp-123")); err == nil {
						t.Error("the crashed creation's temp file is still there")
					}
				}
			})
		}
	}
}

// TestStoreTempReclaimed: the temp files of a write that died are reclaimed
// by the next write, and those of a write still running are not.
func TestStoreTempReclaimed(t *testing.T) {
	t.Parallel()
	big := filepath.Join(t.TempDir(), "big.tar")
	testenv.DockerSaveTar(t, big, 1, 16<<20)
	small := filepath.Join(t.TempDir(), "small.tar")
	testenv.ImagesTar(t, small, map[string]v1.Image{"small:1": randomImage(t, 1024, 1)}, false)
	head := func(t *testing.T) (string, string) {
		b, err := os.ReadFile(big)
		if err != nil {
			t.Fatal(err)
		}
		return string(b[:8<<20]), string(b[8<<20:]) // cut in the middle of the layer
	}
	// startHalfLoad starts a load of big from a pipe fed with its first
	// half: it is then blocked with temp content in the store.
	startHalfLoad := func(t *testing.T, e *testenv.Env) (*testenv.Proc, *testenv.Pipe, string) {
		first, rest := head(t)
		in := testenv.NewPipe(t)
		p := e.Start(t, testenv.CtlBinary(t), in.Reader(), time.Minute, "load")
		in.Write(first)
		in.WaitDrained(30 * time.Second)
		if len(testenv.StoreTempFiles(t, e.Store)) == 0 {
			t.Fatal("no temp content while the layer streams in")
		}
		return p, in, rest
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, e *testenv.Env)
	}{
		{"killed load, then a load", func(t *testing.T, e *testenv.Env) {
			p, _, _ := startHalfLoad(t, e)
			p.Signal(syscall.SIGKILL)
			p.WaitWithin(10 * time.Second)
			if len(testenv.StoreTempFiles(t, e.Store)) == 0 {
				t.Fatal("the killed load left nothing to reclaim")
			}
			wantCode(t, e.Run(t, "load", "-i", small), 0)
			if tmp := testenv.StoreTempFiles(t, e.Store); len(tmp) != 0 {
				t.Fatalf("the next load left the dead load's temp files: %v", tmp)
			}
		}},
		{"running load, then a load beside it", func(t *testing.T, e *testenv.Env) {
			p, in, rest := startHalfLoad(t, e)
			before := testenv.StoreTempFiles(t, e.Store)
			wantCode(t, e.Run(t, "load", "-i", small), 0)
			for _, f := range before {
				if _, err := os.Stat(filepath.Join(e.Store, "tmp", f)); err != nil {
					t.Fatalf("the second load took the running load's temp file %s: %v", f, err)
				}
			}
			go func() { io.WriteString(in.Writer(), rest); in.CloseWriter() }()
			res := p.WaitWithin(time.Minute)
			if res.Code != 0 || res.Stdout != "Loaded image: big:1\n" {
				t.Fatalf("the first load, resumed: exit %d, %q %q", res.Code, res.Stdout, res.Stderr)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := testenv.NewEnv(t)
			wantCode(t, e.Run(t, "image", "prune", "--force"), 0) // makes the store
			tc.run(t, e)
		})
	}
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
