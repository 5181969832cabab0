package e2e

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// interruptBound is how soon after SIGINT or SIGTERM any command must end.
const interruptBound = time.Second

// TestInterrupted: SIGINT or SIGTERM ends a command blocked anywhere —
// reading an idle stdin pipe, waiting on a registry that does not answer,
// in the middle of a layer, busy compressing layers — within a second,
// with exit 130, one line saying what was left undone, and no temp file
// left in the store.
func TestInterrupted(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	img := reg.PushRandomImage(t, "app:v1", 2, 64<<10)
	layers, _ := img.Layers()
	ld, _ := layers[1].Digest()
	archive := filepath.Join(t.TempDir(), "big.tar")
	testenv.DockerSaveTar(t, archive, 1, 16<<20)
	textArchive := filepath.Join(t.TempDir(), "text.tar")
	testenv.TextDockerSaveTar(t, textArchive, 2, 32<<20)

	type variant struct {
		name string
		// start sets up e (and a proxy before reg when it needs one),
		// starts ctl, and returns once ctl is blocked.
		start func(t *testing.T, e *testenv.Env, sig os.Signal) *testenv.Proc
		want  string // the last line of stderr
	}
	// stdin starts ctl with args on a pipe holding partial, and waits
	// until ctl has read it: it is then blocked reading the rest.
	stdin := func(partial string, args ...string) func(*testing.T, *testenv.Env, os.Signal) *testenv.Proc {
		return func(t *testing.T, e *testenv.Env, _ os.Signal) *testenv.Proc {
			in := testenv.NewPipe(t)
			p := e.Start(t, testenv.CtlBinary(t), in.Reader(), time.Minute, args...)
			in.Write(partial)
			in.WaitDrained(30 * time.Second)
			return p
		}
	}
	// hang starts ctl with args (HOST replaced by the proxy's host) and
	// waits until a request matching method and path hangs at the proxy.
	hang := func(method, path string, setup func(t *testing.T, e *testenv.Env, host string), args ...string) func(*testing.T, *testenv.Env, os.Signal) *testenv.Proc {
		return func(t *testing.T, e *testenv.Env, _ os.Signal) *testenv.Proc {
			proxy := testenv.NewProxy(t, reg.URL, nil)
			if setup != nil {
				setup(t, e, proxy.Host)
			}
			proxy.AddFault(testenv.Fault{Method: method, PathRegexp: path, Times: 1, Kind: testenv.FaultHang})
			var run []string
			for _, a := range args {
				run = append(run, strings.ReplaceAll(a, "HOST", proxy.Host))
			}
			p := e.Start(t, testenv.CtlBinary(t), nil, time.Minute, run...)
			testenv.WaitFor(t, 30*time.Second, fmt.Sprintf("a %s %s at the proxy", method, path), func() bool { return proxy.Count(method, path) > 0 })
			return p
		}
	}
	seedPush := func(t *testing.T, e *testenv.Env, host string) {
		wantCode(t, e.Run(t, "pull", "-q", reg.Ref("app:v1")), 0)
		wantCode(t, e.Run(t, "tag", reg.Ref("app:v1"), host+"/pushed:v1"), 0)
	}
	variants := []variant{
		{"load from an idle stdin pipe", stdin("not yet a tar header", "load"), "interrupted: nothing was loaded"},
		{"load in the middle of a layer", func(t *testing.T, e *testenv.Env, _ os.Signal) *testenv.Proc {
			wantCode(t, e.Run(t, "image", "prune", "--force"), 0) // makes the store: its tmp is watched below
			in := testenv.NewPipe(t)
			p := e.Start(t, testenv.CtlBinary(t), in.Reader(), time.Minute, "load")
			f, err := os.Open(archive)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			part, err := io.ReadAll(io.LimitReader(f, 8<<20)) // half of the layer
			if err != nil {
				t.Fatal(err)
			}
			in.Write(string(part))
			in.WaitDrained(30 * time.Second)
			if len(testenv.StoreTempFiles(t, e.Store)) == 0 {
				t.Fatal("no temp file in the store while the layer streams in")
			}
			return p
		}, "interrupted: nothing was loaded"},
		{"load waiting for the store's lock", func(t *testing.T, e *testenv.Env, _ os.Signal) *testenv.Proc {
			// A prune holds gc.lock exclusively; the load waits in flock,
			// which no context reaches: main's grace period ends it.
			// (A prune makes the store; images, which only reads, does not.)
			wantCode(t, e.Run(t, "image", "prune", "--force"), 0)
			f, err := os.OpenFile(filepath.Join(e.Store, "gc.lock"), os.O_RDWR|os.O_CREATE, 0o644)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
				t.Fatal(err)
			}
			in := testenv.NewPipe(t)
			p := e.Start(t, testenv.CtlBinary(t), in.Reader(), time.Minute, "load")
			in.Write("x")
			testenv.WaitFor(t, 30*time.Second, "ctl opening gc.lock", func() bool { return holdsOpen(p.Pid(), filepath.Join(e.Store, "gc.lock")) })
			return p
		}, "interrupted: ctl did not stop within 600ms and was ended"},
		{"push while it compresses the layers", func(t *testing.T, e *testenv.Env, _ os.Signal) *testenv.Proc {
			// Busy with CPU, not blocked: each layer of a docker save
			// image is gzip'd into the store before the first request.
			wantCode(t, e.Run(t, "load", "-q", "-i", textArchive), 0)
			wantCode(t, e.Run(t, "tag", "big:1", reg.Ref("compressed:v1")), 0)
			p := e.Start(t, testenv.CtlBinary(t), nil, time.Minute, "push", reg.Ref("compressed:v1"))
			testenv.WaitFor(t, 30*time.Second, "a temp file in the store while the layers compress", func() bool { return len(testenv.StoreTempFiles(t, e.Store)) > 0 })
			return p
		}, "interrupted: nothing was tagged"},
		{"check dockerfile from an idle stdin pipe", stdin("FROM alpine", "check", "dockerfile", "--require-pinned", "-"), "interrupted"},
		{"login --password-stdin from an idle pipe", stdin("secret", "login", "-u", "user", "--password-stdin", "reg.invalid:5000"), "interrupted"},
		{"pull while a layer hangs", hang("GET", "/blobs/"+ld.String(), nil, "pull", "HOST/app:v1"), "interrupted: nothing was stored"},
		{"push while the manifest PUT hangs", hang("PUT", "/manifests/", seedPush, "push", "HOST/pushed:v1"), "interrupted: nothing was tagged"},
		{"manifest get while the registry hangs", hang("GET", "/manifests/", nil, "manifest", "get", "HOST/app:v1"), "interrupted"},
		{"tags list while the registry hangs", hang("GET", "/tags/list", nil, "tags", "list", "HOST/app"), "interrupted"},
	}
	for _, v := range variants {
		for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(v.name+"/"+sig.String(), func(t *testing.T) {
				t.Parallel()
				e := testenv.NewEnv(t)
				p := v.start(t, e, sig)
				p.Signal(sig)
				res := p.WaitWithin(interruptBound)
				lines := strings.Split(strings.TrimRight(res.Stderr, "\n"), "\n")
				if res.Code != 130 || lines[len(lines)-1] != v.want || strings.Contains(res.Stderr, "context canceled") {
					t.Fatalf("exit %d, stderr %q: want exit 130 ending with %q", res.Code, res.Stderr, v.want)
				}
				// A push says it started before the slow part, compressing
				// included.
				if strings.HasPrefix(v.name, "push") && !strings.HasPrefix(lines[0], "The push refers to repository [") {
					t.Errorf("stderr %q: want the push's header first", res.Stderr)
				}
				if ents := testenv.StoreTempFiles(t, e.Store); len(ents) != 0 {
					t.Errorf("temp files left in the store: %v", ents)
				}
				if r := e.Run(t, "images", "-q"); strings.Contains(v.want, "nothing was") && r.Stdout != "" && !strings.Contains(v.name, "push") {
					t.Errorf("an interrupted command left an image: %q", r.Stdout)
				}
			})
		}
	}
}

// holdsOpen tells whether a descendant of process pid has path open.
func holdsOpen(pid int, path string) bool {
	for _, task := range descendants(pid) {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", task))
		for _, fd := range fds {
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", task, fd.Name())); err == nil && l == path {
				return true
			}
		}
	}
	return false
}

// descendants lists pid and its children (started by any of its
// threads), recursively.
func descendants(pid int) []int {
	out := []int{pid}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		for _, f := range strings.Fields(string(b)) {
			var c int
			fmt.Sscan(f, &c)
			out = append(out, descendants(c)...)
		}
	}
	return out
}
