package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestServerKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, key, host string // input, config key, registry host
	}{
		{"", DockerHubKey, "index.docker.io"},
		{"docker.io", DockerHubKey, "index.docker.io"},
		{"index.docker.io", DockerHubKey, "index.docker.io"},
		{"registry-1.docker.io", DockerHubKey, "index.docker.io"},
		{"https://index.docker.io/v1/", DockerHubKey, "index.docker.io"},
		{"reg.example:5000", "reg.example:5000", "reg.example:5000"},
		{"https://Reg.Example/v2/", "reg.example", "reg.example"},
	} {
		if got := storeKey(tc.in); got != tc.key {
			t.Errorf("storeKey(%q) = %q, want %q", tc.in, got, tc.key)
		}
		if got := RegistryHost(tc.in); got != tc.host {
			t.Errorf("RegistryHost(%q) = %q, want %q", tc.in, got, tc.host)
		}
	}
}

func writeConfig(t *testing.T, dir, body string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(body), mode); err != nil {
		t.Fatal(err)
	}
}

func resolve(t *testing.T, k authn.Keychain, host string) authn.AuthConfig {
	t.Helper()
	reg, err := name.NewRegistry(host)
	if err != nil {
		t.Fatal(err)
	}
	a, err := k.Resolve(reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := a.Authorization()
	if err != nil {
		t.Fatal(err)
	}
	return *cfg
}

// Credentials match a registry host exactly; Docker Hub's key serves
// every spelling of Docker Hub.
func TestKeychainExactHost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	writeConfig(t, dir, `{"auths":{
		"reg.example":{"auth":"`+b64("a:1")+`"},
		"https://index.docker.io/v1/":{"auth":"`+b64("hub:2")+`"},
		"tok.example":{"identitytoken":"refresh"}}}`, 0o600)
	k := NewKeychain(dir)
	for _, tc := range []struct {
		host, user string // registry, expected user ("" anonymous)
	}{
		{"reg.example", "a"},
		{"reg.example.evil", ""},
		{"reg.example:444", ""},
		{"evilreg.example", ""},
		{"docker.io", "hub"},
		{"index.docker.io", "hub"},
		{"registry-1.docker.io", "hub"},
	} {
		if got := resolve(t, k, tc.host); got.Username != tc.user {
			t.Errorf("%s: user %q, want %q", tc.host, got.Username, tc.user)
		}
	}
	if got := resolve(t, k, "tok.example"); got.IdentityToken != "refresh" {
		t.Errorf("identity token: %+v", got)
	}
}

func TestKeychainBrokenConfigAndHelper(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeConfig(t, dir, `{"auths":`, 0o600)
	reg, _ := name.NewRegistry("reg.example")
	if _, err := NewKeychain(dir).Resolve(reg); err == nil {
		t.Error("malformed config.json: no error")
	}
	// A helper that is not installed is said to be, with the setting that
	// names it (not docker's "err: exec: ..., out: ``").
	writeConfig(t, dir, `{"credHelpers":{"reg.example":"ctl-absent-helper"}}`, 0o600)
	_, err := NewKeychain(dir).Resolve(reg)
	if want := `reading credentials for reg.example: credential helper docker-credential-ctl-absent-helper is not installed (not found in $PATH): install it, or remove its entry in "credHelpers" from ` + filepath.Join(dir, "config.json"); err == nil || err.Error() != want {
		t.Errorf("missing helper: %v, want %s", err, want)
	}
	writeConfig(t, dir, `{"credsStore":"ctl-absent-helper"}`, 0o600)
	if _, err := NewKeychain(dir).Resolve(reg); err == nil || !strings.HasSuffix(err.Error(), `install it, or remove "credsStore" from `+filepath.Join(dir, "config.json")) {
		t.Errorf("missing credsStore helper: %v", err)
	}
}

func TestLoginStoresOnlyVerified(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// An existing config.json readable by others becomes 0600.
	writeConfig(t, dir, `{"auths":{}}`, 0o644)
	verify := func(_ context.Context, host, user, pass string) (string, error) {
		switch {
		case host != "reg.example":
			t.Errorf("verified against %q", host)
		case pass == "token-please":
			return "refresh-123", nil
		case pass != "right":
			return "", ErrBadCredentials
		}
		return "", nil
	}
	_, err := Login(context.Background(), LoginOptions{Dir: dir, Server: "https://reg.example/", Username: "u", Password: "bad", Verify: verify})
	if !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("bad password: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "config.json")); strings.Contains(string(b), "reg.example") {
		t.Errorf("stored after a refusal: %s", b)
	}
	path, err := Login(context.Background(), LoginOptions{Dir: dir, Server: "reg.example", Username: "u", Password: "right", Verify: verify})
	if err != nil || path != filepath.Join(dir, "config.json") {
		t.Fatalf("login: %q, %v", path, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v, want 0600", fi.Mode().Perm())
	}
	if got := resolve(t, NewKeychain(dir), "reg.example"); got.Username != "u" || got.Password != "right" {
		t.Errorf("stored %+v", got)
	}
	// A refresh token replaces the password, as docker stores it.
	if path, err := Login(context.Background(), LoginOptions{Dir: dir, Server: "reg.example", Username: "u", Password: "token-please", Verify: verify}); err != nil || path != "" {
		t.Fatalf("token login: %q, %v", path, err)
	}
	if got := resolve(t, NewKeychain(dir), "reg.example"); got.IdentityToken != "refresh-123" || got.Password != "" {
		t.Errorf("stored %+v", got)
	}
	if found, err := Logout(LoginOptions{Dir: dir, Server: "reg.example"}); !found || err != nil {
		t.Errorf("logout: %v, %v", found, err)
	}
	if found, err := Logout(LoginOptions{Dir: dir, Server: "reg.example"}); found || err != nil {
		t.Errorf("second logout: %v, %v", found, err)
	}
}
