package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
	"github.com/ctl-dev/ctl/pkg/auth"
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
