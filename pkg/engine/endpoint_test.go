package engine

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/ctl-dev/ctl/pkg/auth"
	"github.com/docker/cli/cli/connhelper/commandconn"
)

// writeContext stores a docker context the way `docker context create`
// does: contexts/meta/<sha256 of the name>/meta.json.
func writeContext(t *testing.T, dir, name, host string) {
	t.Helper()
	sum := sha256.Sum256([]byte(name))
	meta := filepath.Join(dir, "contexts", "meta", hex.EncodeToString(sum[:]))
	if err := os.MkdirAll(meta, 0o700); err != nil {
		t.Fatal(err)
	}
	body := `{"Name":"` + name + `","Metadata":{},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
	if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeConfig(t *testing.T, dir, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestFind(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeContext(t, dir, "colima", "unix:///tmp/colima.sock")
	writeContext(t, dir, "remote", "tcp://10.0.0.9:2375")
	noContext := t.TempDir()
	otherCurrent := t.TempDir()
	writeConfig(t, otherCurrent, `{"currentContext":"colima"}`)
	writeContext(t, otherCurrent, "colima", "unix:///tmp/colima.sock")
	defaultCurrent := t.TempDir()
	writeConfig(t, defaultCurrent, `{"currentContext":"default"}`)
	tests := []struct {
		name       string
		dir        string            // docker config dir
		env        map[string]string // the environment
		wantHost   string
		wantSource string
	}{
		{"nothing set: docker's default socket", noContext, nil, DefaultHost, SourceDefault},
		{"DOCKER_HOST unix", dir, map[string]string{"DOCKER_HOST": "unix:///run/podman/podman.sock", "DOCKER_CONTEXT": "colima"}, "unix:///run/podman/podman.sock", SourceEnv},
		{"DOCKER_HOST tcp", noContext, map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2375"}, "tcp://127.0.0.1:2375", SourceEnv},
		{"DOCKER_CONTEXT over currentContext", otherCurrent, map[string]string{"DOCKER_CONTEXT": "default"}, DefaultHost, SourceDefault},
		{"currentContext of config.json", otherCurrent, nil, "unix:///tmp/colima.sock", `docker context "colima"`},
		{"currentContext default", defaultCurrent, nil, DefaultHost, SourceDefault},
		{"DOCKER_CONTEXT names a tcp context", dir, map[string]string{"DOCKER_CONTEXT": "remote"}, "tcp://10.0.0.9:2375", `docker context "remote"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ep, err := Find(Options{ConfigDir: tt.dir, Getenv: func(k string) string { return tt.env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			if ep.Host != tt.wantHost || ep.Source != tt.wantSource {
				t.Errorf("Find = %q from %q, want %q from %q", ep.Host, ep.Source, tt.wantHost, tt.wantSource)
			}
		})
	}
}

func TestFindBadConfiguration(t *testing.T) {
	t.Parallel()
	missing := t.TempDir()
	writeConfig(t, missing, `{"currentContext":"gone"}`)
	for name, env := range map[string]map[string]string{
		"a current context that does not exist": nil,
		"DOCKER_CONTEXT that does not exist":    {"DOCKER_CONTEXT": "nope"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := Find(Options{ConfigDir: missing, Getenv: func(k string) string { return env[k] }})
			if !errors.Is(err, ErrEngine) {
				t.Fatalf("Find: %v, want ErrEngine", err)
			}
		})
	}
}

// TestFindConfigFIFO: the docker config is read as every read of it is, a
// regular file only: a FIFO in its place is an error at once, not a hang.
func TestFindConfigFIFO(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "config.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Find(Options{ConfigDir: dir, Getenv: func(string) string { return "" }})
	if !errors.Is(err, auth.ErrConfig) || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Find: %v, want auth.ErrConfig saying not a regular file", err)
	}
}

// TestOpenTLSFromEnv: DOCKER_TLS_VERIFY with DOCKER_CERT_PATH makes a TLS
// client that verifies the server against ca.pem: the engine's certificate
// from another CA fails the handshake; one from ca.pem passes it (and then
// meets a server that is not an engine).
func TestOpenTLSFromEnv(t *testing.T) {
	t.Parallel()
	ca := testenv.NewCA(t)
	certs := t.TempDir()
	if err := os.WriteFile(filepath.Join(certs, "ca.pem"), ca.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startTLSServer(t, ca.IssueServer(t, "127.0.0.1"))
	other := startTLSServer(t, testenv.NewCA(t).IssueServer(t, "127.0.0.1"))
	env := func(host string) func(string) string {
		m := map[string]string{"DOCKER_HOST": "tcp://" + host, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": certs}
		return func(k string) string { return m[k] }
	}
	_, err := Open(t.Context(), Options{ConfigDir: t.TempDir(), Getenv: env(other)})
	if !errors.Is(err, ErrEngine) || !containsAny(err.Error(), "certificate", "x509") {
		t.Fatalf("Open against an untrusted certificate: %v", err)
	}
	_, err = Open(t.Context(), Options{ConfigDir: t.TempDir(), Getenv: env(srv)})
	if !errors.Is(err, ErrEngine) || containsAny(err.Error(), "certificate", "x509") || !containsAny(err.Error(), "not answer as a Docker Engine API") {
		t.Fatalf("Open against a trusted TLS server that is not an engine: %v", err)
	}
}

// TestFindDockerHost: DOCKER_HOST is parsed as docker parses it: tcp://
// without a port gets docker's 2375 (and no DOCKER_HOST with TLS on is
// tcp://localhost:2376), a scheme docker does not
// know is refused before anything is contacted, and DOCKER_TLS_VERIFY
// without a ca.pem is an error, as with docker.
func TestFindDockerHost(t *testing.T) {
	t.Parallel()
	certs := t.TempDir()
	if err := os.WriteFile(filepath.Join(certs, "ca.pem"), testenv.NewCA(t).CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		env      map[string]string
		wantHost string // "": an error
	}{
		{map[string]string{"DOCKER_HOST": "tcp://127.0.0.1"}, "tcp://127.0.0.1:2375"},
		{map[string]string{"DOCKER_HOST": "tcp://127.0.0.1:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": certs}, "tcp://127.0.0.1:2376"},
		{map[string]string{"DOCKER_HOST": "127.0.0.1:2375"}, "tcp://127.0.0.1:2375"},
		{map[string]string{"DOCKER_TLS": "1", "DOCKER_CERT_PATH": certs}, "tcp://localhost:2376"},
		{map[string]string{"DOCKER_HOST": "bogus://x"}, ""},
		{map[string]string{"DOCKER_HOST": "tcp://127.0.0.1", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": t.TempDir()}, ""},
	} {
		ep, err := Find(Options{ConfigDir: t.TempDir(), Getenv: func(k string) string { return tt.env[k] }})
		switch {
		case tt.wantHost == "" && !errors.Is(err, ErrEngine):
			t.Errorf("%v: Find = %v, %v; want ErrEngine", tt.env, ep, err)
		case tt.wantHost != "" && (err != nil || ep.Host != tt.wantHost):
			t.Errorf("%v: Find = %q, %v; want %q", tt.env, ep.Host, err, tt.wantHost)
		}
	}
}

// TestOpenTLSWithoutVerify: DOCKER_TLS (without DOCKER_TLS_VERIFY) is TLS
// that does not verify the server, as docker's --tls: an engine whose
// certificate is of an unknown CA is reached.
func TestOpenTLSWithoutVerify(t *testing.T) {
	t.Parallel()
	certs := t.TempDir()
	if err := os.WriteFile(filepath.Join(certs, "ca.pem"), testenv.NewCA(t).CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{testenv.NewCA(t).IssueServer(t, "127.0.0.1").TLSCertificate()}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("API-Version", "1.41") // an engine's /_ping
		if strings.HasSuffix(r.URL.Path, "/images/json") {
			w.Write([]byte(`[{"Id":"sha256:` + strings.Repeat("a", 64) + `","RepoTags":["example.test/app:v1"]}]`))
			return
		}
		w.Write([]byte("OK"))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	m := map[string]string{"DOCKER_HOST": "tcp://" + ln.Addr().String(), "DOCKER_TLS": "1", "DOCKER_CERT_PATH": certs}
	c, err := Open(t.Context(), Options{ConfigDir: t.TempDir(), Getenv: func(k string) string { return m[k] }})
	if err != nil {
		t.Fatalf("Open with DOCKER_TLS against an engine of an unknown CA: %v", err)
	}
	defer c.Close()
	// The image list goes over the same TLS connection as the ping.
	if imgs, err := c.List(t.Context(), false); err != nil || len(imgs) != 1 {
		t.Fatalf("List over TLS = %v, %v", imgs, err)
	}
}

// sshBridgeEnv, when set, makes the test binary a stand-in for ssh: it
// records its arguments and joins its stdin and stdout to the unix socket
// named (as "docker system dial-stdio" on the far side would).
const sshBridgeEnv = "CTL_TEST_SSH_BRIDGE"

func TestMain(m *testing.M) {
	if sock := os.Getenv(sshBridgeEnv); sock != "" {
		_ = os.WriteFile(sock+".args", []byte(strings.Join(os.Args[1:], " ")), 0o600)
		conn, err := net.Dial("unix", sock)
		if err != nil {
			os.Exit(1)
		}
		go func() {
			_, _ = io.Copy(conn, os.Stdin)
			_ = conn.(*net.UnixConn).CloseWrite()
		}()
		_, _ = io.Copy(os.Stdout, conn)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestOpenSSH: DOCKER_HOST=ssh://USER@HOST reaches the engine as docker
// does, through "ssh ... USER@HOST docker system dial-stdio" (here an ssh
// on PATH that joins its stdio to the Podman socket).
func TestOpenSSH(t *testing.T) { // not parallel: PATH
	p := testenv.StartPodman(t)
	p.Build(t, "example.test/gallery:v1", galleryFiles)
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nexec env " + sshBridgeEnv + "=" + p.Socket + " " + self + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	c, err := Open(t.Context(), hostEnv("ssh://builder@engine.example.test"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	imgs, err := c.List(t.Context(), false)
	if err != nil || len(imgs) != 1 || len(imgs[0].RepoTags) != 1 || imgs[0].RepoTags[0] != "example.test/gallery:v1" {
		t.Fatalf("List over ssh = %+v, %v", imgs, err)
	}
	args, err := os.ReadFile(p.Socket + ".args")
	if err != nil || !strings.Contains(string(args), "-l builder") || !strings.Contains(string(args), "-- engine.example.test ") || !strings.HasSuffix(string(args), "docker system dial-stdio") {
		t.Errorf("ssh was run with %q (%v)", args, err)
	}

	// An ssh that cannot connect: the engine is unreachable, in ssh's
	// words, with nothing after them.
	script = "#!/bin/sh\necho 'ssh: connect to host engine.example.test port 22: Connection refused' >&2\nexit 255\n"
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), hostEnv("ssh://builder@engine.example.test"))
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "Connection refused") {
		t.Errorf("Open with an ssh that cannot connect: %v, want ErrUnreachable with ssh's reason", err)
	}
}

// TestSSHReasonConn: a request written after the helper command let go of
// its input (a broken pipe) fails with the command's own reason, as one
// that reads its end does; without sshReasonConn it is "broken pipe".
func TestSSHReasonConn(t *testing.T) {
	t.Parallel()
	c, err := commandconn.New(t.Context(), "sh", "-c", "exec 0<&-; echo 'ssh: connect to host h port 22: Connection refused' >&2; sleep 0.3; exit 255")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(100 * time.Millisecond) // its input is closed by then
	_, err = sshReasonConn{c}.Write([]byte("GET /_ping HTTP/1.1\r\n\r\n"))
	if err == nil || !strings.Contains(err.Error(), "Connection refused") {
		t.Errorf("write to a helper gone: %v, want its reason", err)
	}
}
