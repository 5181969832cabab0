package testenv

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// podmanStartTimeout bounds how long StartPodman waits for the API socket.
const podmanStartTimeout = 60 * time.Second

// Podman is a `podman system service` started for one test: the real
// Docker Engine API (Podman's compatible one) on a unix socket, with its
// own storage in a temporary directory (vfs driver, so no overlay mounts
// and no privileges beyond a plain root process are needed). Run drives
// the podman CLI against the same storage, so what a test builds with
// `podman build` is what the service serves.
type Podman struct {
	// Dir holds everything: storage, run root, configs, socket.
	Dir string
	// Socket is the path of the API socket.
	Socket string
	// Host is the socket as DOCKER_HOST takes it: "unix://" + Socket.
	Host string

	bin      string
	env      *Env     // the CLI's environment (CONTAINERS_CONF, ...)
	global   []string // --root, --runroot, --storage-driver
	cmd      *exec.Cmd
	log      *syncBuffer
	waitDone chan struct{}
	stopOnce sync.Once
}

// StartPodman starts the service and waits until it answers GET /_ping. It
// stops when the test ends, and its log is printed if the test failed.
//
// What podman needs to run as root in a sandbox with no systemd, no
// container network and no shared state with other tests: a containers.conf
// (CONTAINERS_CONF) with the cgroupfs cgroup manager, the file events
// logger, no network namespace and every state directory (tmp_dir,
// static_dir, volume_path, image_copy_tmp_dir) inside Dir; a storage.conf
// (CONTAINERS_STORAGE_CONF) with the vfs driver; and registries.conf
// (CONTAINERS_REGISTRIES_CONF) with no search registries, so that short
// names never reach the network.
func StartPodman(t testing.TB) *Podman {
	t.Helper()
	bin := SystemBinary(t, "podman")
	// A short directory of its own: a unix socket path may not exceed 108
	// bytes, and t.TempDir() carries the test's name.
	dir, err := os.MkdirTemp("", "ctl-podman-")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	p := &Podman{
		Dir:      dir,
		Socket:   filepath.Join(dir, "podman.sock"),
		bin:      bin,
		log:      &syncBuffer{},
		waitDone: make(chan struct{}),
	}
	p.Host = "unix://" + p.Socket
	root, runroot, tmp := filepath.Join(dir, "root"), filepath.Join(dir, "runroot"), filepath.Join(dir, "tmp")
	for _, d := range []string{root, runroot, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	conf := filepath.Join(dir, "containers.conf")
	writeFile(t, conf, []byte(fmt.Sprintf(`[containers]
netns = "none"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %q
tmp_dir = %q
static_dir = %q
volume_path = %q
image_copy_tmp_dir = %q
`, filepath.Join(dir, "events.log"), tmp, filepath.Join(root, "libpod"), filepath.Join(root, "volumes"), tmp)))
	storage := filepath.Join(dir, "storage.conf")
	writeFile(t, storage, []byte(fmt.Sprintf("[storage]\ndriver = \"vfs\"\nrunroot = %q\ngraphroot = %q\n", runroot, root)))
	registries := filepath.Join(dir, "registries.conf")
	writeFile(t, registries, []byte("unqualified-search-registries = []\n"))

	p.env = NewEnv(t)
	p.env.Setenv("CONTAINERS_CONF", conf)
	p.env.Setenv("CONTAINERS_STORAGE_CONF", storage)
	p.env.Setenv("CONTAINERS_REGISTRIES_CONF", registries)
	p.env.Setenv("TMPDIR", tmp)
	p.global = []string{"--root", root, "--runroot", runroot, "--storage-driver", "vfs"}

	args := append(append([]string{}, p.global...), "system", "service", "--time=0", p.Host)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = p.env.Environ()
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	setProcAttr(p.cmd)
	if err := p.cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		t.Fatalf("testenv: starting podman: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.waitDone)
	}()
	t.Cleanup(func() {
		p.Stop()
		_ = os.RemoveAll(dir)
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("podman service log:\n%s", tail(p.log.String(), 32<<10))
		}
	})
	if err := p.waitReady(); err != nil {
		t.Fatalf("testenv: podman service: %v\n%s", err, tail(p.log.String(), 8<<10))
	}
	return p
}

func (p *Podman) waitReady() error {
	c := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", p.Socket)
		}},
	}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(podmanStartTimeout)
	for {
		select {
		case <-p.waitDone:
			return fmt.Errorf("exited before serving: %v", p.cmd.ProcessState)
		default:
		}
		resp, err := c.Get("http://podman/_ping")
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "OK" {
				return nil
			}
			err = fmt.Errorf("GET /_ping: %s %q", resp.Status, body)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", podmanStartTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the service (SIGTERM, then SIGKILL after 10 s). Safe to call
// more than once; StartPodman's cleanup calls it.
func (p *Podman) Stop() {
	p.stopOnce.Do(func() {
		if p.cmd.Process == nil {
			return
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.waitDone:
			return
		case <-time.After(10 * time.Second):
		}
		_ = p.cmd.Process.Kill()
		select {
		case <-p.waitDone:
		case <-time.After(30 * time.Second):
		}
	})
}

// Run runs the podman CLI with args against the service's storage (so
// `podman images` lists what the API serves), in a working directory of
// its own, with a RunTimeout limit.
func (p *Podman) Run(t testing.TB, args ...string) Result {
	t.Helper()
	return p.env.Exec(t, p.bin, "", RunTimeout, append(append([]string{}, p.global...), args...)...)
}

// MustRun is Run that fails the test unless podman exits 0; it returns
// podman's stdout.
func (p *Podman) MustRun(t testing.TB, args ...string) string {
	t.Helper()
	res := p.Run(t, args...)
	if res.Code != 0 {
		t.Fatalf("testenv: podman %s: exit %d\n%s", strings.Join(args, " "), res.Code, res.Stderr)
	}
	return res.Stdout
}

// Build builds an image with `podman build -t tag` from a context holding
// files (name → content; "Dockerfile" among them) and returns its image ID
// ("sha256:..."). A Dockerfile FROM scratch with COPY needs no network.
func (p *Podman) Build(t testing.TB, tag string, files map[string]string) string {
	t.Helper()
	ctxDir, err := os.MkdirTemp(p.Dir, "build-")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	for name, content := range files {
		path := filepath.Join(ctxDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("testenv: %v", err)
		}
		writeFile(t, path, []byte(content))
	}
	p.MustRun(t, "build", "--quiet", "-t", tag, ctxDir)
	return p.ImageID(t, tag)
}

// ImageID returns the full image ID ("sha256:...") of ref as podman knows
// it (the config digest).
func (p *Podman) ImageID(t testing.TB, ref string) string {
	t.Helper()
	return "sha256:" + strings.TrimPrefix(strings.TrimSpace(p.MustRun(t, "image", "inspect", "--format", "{{.ID}}", ref)), "sha256:")
}

// TCP returns HOST:PORT, a 127.0.0.1 listener that forwards every
// connection to the service's socket, byte for byte: for a NewProxy in
// front of the engine (DOCKER_HOST=tcp://PROXY) to inject faults.
func (p *Podman) TCP(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		wg    sync.WaitGroup
	)
	track := func(c net.Conn, add bool) {
		mu.Lock()
		defer mu.Unlock()
		if add {
			conns[c] = true
		} else {
			delete(conns, c)
		}
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.DialTimeout("unix", p.Socket, 10*time.Second)
			if err != nil {
				c.Close()
				continue
			}
			track(c, true)
			track(u, true)
			wg.Add(2)
			// Either direction ending closes both connections, which
			// ends the other.
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				_, _ = io.Copy(dst, src)
				dst.Close()
				src.Close()
				track(dst, false)
				track(src, false)
			}
			go pipe(u, c)
			go pipe(c, u)
		}
	}()
	return ln.Addr().String()
}
