package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestEnvExec(t *testing.T) {
	t.Parallel()
	e := NewEnv(t)
	e.Setenv("EXTRA_VAR", "x1")
	res := e.Exec(t, "/bin/sh", "hello", time.Minute, "-c",
		`cat; echo "$HOME|$DOCKER_CONFIG|$CTL_STORE|$XDG_CONFIG_HOME|$XDG_DATA_HOME|$NO_COLOR|$EXTRA_VAR|$PWD"; echo oops >&2; exit 3`)
	want := "hello" + strings.Join([]string{e.Home, e.DockerConfig, e.Store, e.XDGConfig, e.XDGData, "1", "x1", e.Dir}, "|") + "\n"
	if res.Code != 3 || res.Stdout != want || res.Stderr != "oops\n" || res.TimedOut {
		t.Fatalf("result %+v, want stdout %q", res, want)
	}
	for _, kv := range e.Environ() {
		if strings.HasPrefix(kv, "DOCKER_HOST=") || strings.HasPrefix(kv, "HTTPS_PROXY=") {
			t.Fatalf("inherited %s", kv)
		}
	}
}

func TestEnvCraneWithDockerAuth(t *testing.T) {
	t.Parallel()
	r := StartRegistry(t, RegistryOptions{HTPasswd: true})
	img := r.PushRandomImage(t, "crane/app:v1", 1, 256)
	want, _ := img.Digest()

	e := NewEnv(t)
	e.Setenv("SSL_CERT_FILE", r.CACertFile)
	if res := e.Crane(t, "digest", r.Ref("crane/app:v1")); res.Code == 0 {
		t.Fatalf("crane without credentials succeeded: %+v", res)
	}
	u, p := r.User()
	e.AddDockerAuth(t, r.Host, u, p)
	e.AddDockerAuth(t, "other.example", "x", "y")
	b, err := os.ReadFile(filepath.Join(e.DockerConfig, "config.json"))
	if err != nil || !strings.Contains(string(b), "other.example") || !strings.Contains(string(b), r.Host) {
		t.Fatalf("config.json: %s %v", b, err)
	}
	res := e.Crane(t, "digest", r.Ref("crane/app:v1"))
	if res.Code != 0 || strings.TrimSpace(res.Stdout) != want.String() {
		t.Fatalf("crane digest = %+v, want %s", res, want)
	}
}

// TestTokenIdentityToken checks the POST refresh_token grant the way
// go-containerregistry uses it for identity tokens.
func TestTokenIdentityToken(t *testing.T) {
	t.Parallel()
	r := StartRegistry(t, RegistryOptions{Token: true})
	r.PushRandomImage(t, "idtok/app:v1", 1, 256)
	tok := r.Token.NewRefreshToken("alice")
	opts := []remote.Option{remote.WithTransport(r.Transport()), remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: "<token>", IdentityToken: tok}))}
	if _, err := remote.Get(r.ParseRef(t, "idtok/app:v1"), opts...); err != nil {
		t.Fatalf("pull with identity token: %v", err)
	}
	var sawRefresh bool
	for _, req := range r.Token.RequestLog() {
		sawRefresh = sawRefresh || (req.Method == "POST" && req.GrantType == "refresh_token" && req.User == "alice" && req.Status == 200)
	}
	if !sawRefresh {
		t.Fatalf("no refresh_token grant in %+v", r.Token.RequestLog())
	}
}
