package testenv

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RunTimeout bounds every command run by Env.
const RunTimeout = 2 * time.Minute

// Env is an isolated environment for running ctl and crane: its own home,
// Docker config, ctl store and XDG directories, all removed when the test
// ends.
type Env struct {
	// Home is $HOME.
	Home string
	// DockerConfig is $DOCKER_CONFIG (its config.json holds credentials).
	DockerConfig string
	// Store is $CTL_STORE, ctl's local image store.
	Store string
	// XDGConfig is $XDG_CONFIG_HOME.
	XDGConfig string
	// XDGData is $XDG_DATA_HOME.
	XDGData string
	// Dir is the working directory of commands.
	Dir string
	// Extra holds additional KEY=VALUE environment entries; they override
	// the defaults.
	Extra []string
}

// Result is the outcome of a command.
type Result struct {
	// Stdout and Stderr are the command's output.
	Stdout, Stderr string
	// Code is the exit code; -1 if the command was killed (e.g. timeout).
	Code int
	// TimedOut tells whether the command hit its timeout.
	TimedOut bool
	// Elapsed is the command's wall-clock time.
	Elapsed time.Duration
	// MaxRSS is the child's peak resident set size in bytes, from its
	// rusage (0 where the system does not report it).
	MaxRSS int64
}

// NewEnv creates an Env with fresh temporary directories.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	root := t.TempDir()
	e := &Env{
		Home:         filepath.Join(root, "home"),
		DockerConfig: filepath.Join(root, "docker"),
		Store:        filepath.Join(root, "store"),
		XDGConfig:    filepath.Join(root, "xdg-config"),
		XDGData:      filepath.Join(root, "xdg-data"),
		Dir:          filepath.Join(root, "work"),
	}
	for _, d := range []string{e.Home, e.DockerConfig, e.XDGConfig, e.XDGData, e.Dir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatalf("testenv: %v", err)
		}
	}
	return e
}

// Environ returns the environment commands run with: HOME, DOCKER_CONFIG,
// CTL_STORE, XDG_CONFIG_HOME, XDG_DATA_HOME, NO_COLOR=1, PATH, TMPDIR and
// then Extra. Nothing else is inherited, so proxies and credentials of the
// developer's environment do not leak into tests.
func (e *Env) Environ() []string {
	env := []string{
		"HOME=" + e.Home,
		"DOCKER_CONFIG=" + e.DockerConfig,
		"CTL_STORE=" + e.Store,
		"XDG_CONFIG_HOME=" + e.XDGConfig,
		"XDG_DATA_HOME=" + e.XDGData,
		"NO_COLOR=1",
		"PATH=" + os.Getenv("PATH"),
		"TMPDIR=" + os.TempDir(),
	}
	return append(env, e.Extra...)
}

// Setenv adds KEY=VALUE to Extra.
func (e *Env) Setenv(key, value string) {
	e.Extra = append(e.Extra, key+"="+value)
}

// Run runs ctl (CtlBinary) with args in e, with empty stdin and a
// RunTimeout limit.
func (e *Env) Run(t testing.TB, args ...string) Result {
	t.Helper()
	return e.Exec(t, CtlBinary(t), "", RunTimeout, args...)
}

// RunStdin is Run with stdin.
func (e *Env) RunStdin(t testing.TB, stdin string, args ...string) Result {
	t.Helper()
	return e.Exec(t, CtlBinary(t), stdin, RunTimeout, args...)
}

// Crane runs crane (CraneBinary) with args in e (same DOCKER_CONFIG).
func (e *Env) Crane(t testing.TB, args ...string) Result {
	t.Helper()
	return e.Exec(t, CraneBinary(t), "", RunTimeout, args...)
}

// Exec runs binary with args in e with stdin and a timeout, and waits for
// it (Start, then Wait).
func (e *Env) Exec(t testing.TB, binary, stdin string, timeout time.Duration, args ...string) Result {
	t.Helper()
	return e.Start(t, binary, strings.NewReader(stdin), timeout, args...).Wait()
}

// AddDockerAuth stores user/password for host in DockerConfig/config.json,
// the way `docker login` does.
func (e *Env) AddDockerAuth(t testing.TB, host, user, password string) {
	t.Helper()
	path := filepath.Join(e.DockerConfig, "config.json")
	cfg := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			t.Fatalf("testenv: %s: %v", path, err)
		}
	}
	auths, _ := cfg["auths"].(map[string]any)
	if auths == nil {
		auths = map[string]any{}
	}
	auths[host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
	cfg["auths"] = auths
	b, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	writeFile(t, path, b)
}

func indentOutput(r Result) string {
	var b strings.Builder
	for _, part := range []struct{ name, s string }{{"stdout", r.Stdout}, {"stderr", r.Stderr}} {
		if part.s == "" {
			continue
		}
		b.WriteString(part.name + ":\n")
		for _, line := range strings.Split(strings.TrimRight(tail(part.s, 8<<10), "\n"), "\n") {
			b.WriteString("    " + line + "\n")
		}
	}
	return b.String()
}
