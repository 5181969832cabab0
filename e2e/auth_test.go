package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/internal/testenv"
)

// dockerConfig reads the env's config.json (empty map when absent).
func dockerConfig(t *testing.T, e *testenv.Env) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.DockerConfig, "config.json"))
	if os.IsNotExist(err) {
		return map[string]any{}
	}
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// storedAuth is the auths entry for key in the env's config.json.
func storedAuth(t *testing.T, e *testenv.Env, key string) map[string]any {
	t.Helper()
	auths, _ := dockerConfig(t, e)["auths"].(map[string]any)
	entry, _ := auths[key].(map[string]any)
	return entry
}

func writeConfig(t *testing.T, e *testenv.Env, cfg map[string]any) {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.DockerConfig, "config.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoginHTPasswd(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{HTPasswd: true})
	reg.PushRandomImage(t, "team/app:v1", 1, 256)
	user, pass := reg.User()

	t.Run("wrong password: exit 4, nothing stored", func(t *testing.T) {
		t.Parallel()
		e := testenv.NewEnv(t)
		r := e.RunStdin(t, "wrong\n", "login", "--ca-file", reg.CACertFile, "-u", user, "--password-stdin", reg.Host)
		if r.Code != 4 || strings.Contains(r.Stdout, "Login Succeeded") {
			t.Errorf("exit %d, stdout %q; want 4 and no success", r.Code, r.Stdout)
		}
		if _, err := os.Stat(filepath.Join(e.DockerConfig, "config.json")); err == nil {
			if storedAuth(t, e, reg.Host) != nil {
				t.Errorf("credentials stored after a refused login")
			}
		}
	})

	t.Run("login, crane uses the credentials, logout", func(t *testing.T) {
		t.Parallel()
		e := testenv.NewEnv(t)
		r := e.RunStdin(t, pass+"\n", "login", "--ca-file", reg.CACertFile, "-u", user, "--password-stdin", reg.Host)
		if r.Code != 0 || r.Stdout != "Login Succeeded\n" {
			t.Fatalf("login: exit %d, stdout %q", r.Code, r.Stdout)
		}
		if strings.Contains(r.Stderr+r.Stdout, pass) {
			t.Errorf("output shows the password")
		}
		entry := storedAuth(t, e, reg.Host)
		want := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		if entry == nil || entry["auth"] != want {
			t.Errorf("stored %v, want auth %q under %q", entry, want, reg.Host)
		}
		fi, err := os.Stat(filepath.Join(e.DockerConfig, "config.json"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("config.json mode %v (%v), want 0600", fi.Mode().Perm(), err)
		}
		// Later commands authenticate with what login stored.
		if r := e.Run(t, "--ca-file", reg.CACertFile, "tags", "list", reg.Ref("team/app")); r.Code != 0 || r.Stdout != "v1\n" {
			t.Errorf("tags list after login: exit %d, stdout %q", r.Code, r.Stdout)
		}
		// Interop: crane reads what ctl stored.
		e.Setenv("SSL_CERT_FILE", reg.CACertFile)
		if r := e.Crane(t, "catalog", reg.Host); r.Code != 0 {
			t.Errorf("crane with ctl's credentials: exit %d", r.Code)
		}
		r = e.Run(t, "logout", reg.Host)
		if r.Code != 0 || r.Stdout != "Removing login credentials for "+reg.Host+"\n" {
			t.Errorf("logout: exit %d, stdout %q", r.Code, r.Stdout)
		}
		if storedAuth(t, e, reg.Host) != nil {
			t.Errorf("credentials still stored after logout")
		}
		if r := e.Crane(t, "catalog", reg.Host); r.Code == 0 {
			t.Errorf("crane still authenticated after logout")
		}
		r = e.Run(t, "--ca-file", reg.CACertFile, "tags", "list", reg.Ref("team/app"))
		if r.Code != 4 || !strings.Contains(r.Stderr, "run: ctl login "+reg.Host) {
			t.Errorf("tags list after logout: exit %d, stderr %q; want 4 and the login hint", r.Code, r.Stderr)
		}
		r = e.Run(t, "logout", reg.Host)
		if r.Code != 0 || r.Stdout != "Not logged in to "+reg.Host+"\n" {
			t.Errorf("second logout: exit %d, stdout %q", r.Code, r.Stdout)
		}
	})

	t.Run("crane's credentials are used by ctl", func(t *testing.T) {
		t.Parallel()
		e := testenv.NewEnv(t)
		e.Setenv("SSL_CERT_FILE", reg.CACertFile)
		if r := e.Crane(t, "auth", "login", reg.Host, "-u", user, "-p", pass); r.Code != 0 {
			t.Fatalf("crane auth login: exit %d", r.Code)
		}
		// Logging out finds and removes what crane stored.
		r := e.Run(t, "logout", reg.Host)
		if r.Code != 0 || !strings.HasPrefix(r.Stdout, "Removing login credentials") {
			t.Errorf("logout of crane's login: exit %d, stdout %q", r.Code, r.Stdout)
		}
	})

	t.Run("-p warns, stored credentials are reused, missing ones without a terminal exit 2", func(t *testing.T) {
		t.Parallel()
		e := testenv.NewEnv(t)
		r := e.Run(t, "login", "--ca-file", reg.CACertFile, reg.Host)
		if r.Code != 2 || !strings.Contains(r.Stderr, "not a terminal") {
			t.Errorf("login without credentials: exit %d, stderr %q", r.Code, r.Stderr)
		}
		r = e.Run(t, "login", "--ca-file", reg.CACertFile, "-u", user, "-p", pass, reg.Host)
		if r.Code != 0 || !strings.Contains(r.Stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.") {
			t.Errorf("login -p: exit %d, stderr %q", r.Code, r.Stderr)
		}
		// As docker login: what is stored is checked again, nothing asked.
		r = e.Run(t, "login", "--ca-file", reg.CACertFile, reg.Host)
		if r.Code != 0 || r.Stdout != "Login Succeeded\n" || !strings.HasPrefix(r.Stderr, "Authenticating with existing credentials... [Username: "+user+"]\n") {
			t.Errorf("login with stored credentials: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		}
	})

	t.Run("-v redacts the password", func(t *testing.T) {
		t.Parallel()
		e := testenv.NewEnv(t)
		r := e.RunStdin(t, pass+"\n", "-v", "login", "--ca-file", reg.CACertFile, "-u", user, "--password-stdin", reg.Host)
		if r.Code != 0 || !strings.Contains(r.Stderr, "> GET https://"+reg.Host+"/v2/") || !strings.Contains(r.Stderr, "Basic REDACTED") {
			t.Errorf("-v login: exit %d, stderr %q", r.Code, r.Stderr)
		}
		basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		if strings.Contains(r.Stderr, basic) || strings.Contains(r.Stderr, pass) {
			t.Errorf("-v shows the credentials:\n%s", r.Stderr)
		}
	})
}

func TestTLSTrust(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{HTPasswd: true})
	user, pass := reg.User()
	login := func(t *testing.T, e *testenv.Env, extra ...string) testenv.Result {
		args := append([]string{"login"}, extra...)
		args = append(args, "-u", user, "--password-stdin", reg.Host)
		return e.RunStdin(t, pass, args...)
	}

	t.Run("untrusted: clear x509 error, no plain HTTP", func(t *testing.T) {
		t.Parallel()
		e := testenv.NewEnv(t)
		r := login(t, e)
		if r.Code != 1 || !strings.Contains(r.Stderr, "x509: certificate signed by unknown authority") || !strings.Contains(r.Stderr, "add its CA with --ca-file") {
			t.Errorf("exit %d, stderr %q; want 1 with an x509 message", r.Code, r.Stderr)
		}
		if storedAuth(t, e, reg.Host) != nil {
			t.Errorf("credentials stored without a verified login")
		}
	})
	t.Run("certs.d under the docker config", func(t *testing.T) {
		t.Parallel()
		e := testenv.NewEnv(t)
		dir := filepath.Join(e.DockerConfig, "certs.d", reg.Host)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "ca.crt"), reg.CAPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if r := login(t, e); r.Code != 0 {
			t.Errorf("exit %d", r.Code)
		}
	})
	t.Run("SSL_CERT_FILE", func(t *testing.T) {
		t.Parallel()
		e := testenv.NewEnv(t)
		e.Setenv("SSL_CERT_FILE", reg.CACertFile)
		if r := login(t, e); r.Code != 0 {
			t.Errorf("exit %d", r.Code)
		}
	})
	t.Run("unreadable --ca-file is a usage error", func(t *testing.T) {
		t.Parallel()
		e := testenv.NewEnv(t)
		if r := login(t, e, "--ca-file", filepath.Join(e.Dir, "missing.pem")); r.Code != 2 {
			t.Errorf("exit %d, want 2", r.Code)
		}
	})
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{ClientCA: true})
	e := testenv.NewEnv(t)
	dir := filepath.Join(e.DockerConfig, "certs.d", reg.Host)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	copyFile(t, reg.CACertFile, filepath.Join(dir, "ca.crt"))
	// Without a client certificate the handshake fails.
	if r := e.RunStdin(t, "x", "login", "-u", "x", "--password-stdin", reg.Host); r.Code == 0 {
		t.Errorf("login without a client certificate succeeded")
	}
	copyFile(t, reg.ClientCertFile, filepath.Join(dir, "client.cert"))
	// A .cert without its .key is docker's error.
	if r := e.RunStdin(t, "x", "login", "-u", "x", "--password-stdin", reg.Host); r.Code == 0 || !strings.Contains(r.Stderr, "missing key client.key") {
		t.Errorf("cert without key: exit %d, stderr %q", r.Code, r.Stderr)
	}
	copyFile(t, reg.ClientKeyFile, filepath.Join(dir, "client.key"))
	if r := e.RunStdin(t, "x", "login", "-u", "x", "--password-stdin", reg.Host); r.Code != 0 {
		t.Errorf("login with the client certificate: exit %d", r.Code)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoginToken(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{Token: true})
	user, pass := reg.User()
	e := testenv.NewEnv(t)
	if r := e.RunStdin(t, "nope", "login", "-u", user, "--password-stdin", reg.Host); r.Code != 4 {
		t.Errorf("wrong password: exit %d, want 4", r.Code)
	}
	if storedAuth(t, e, reg.Host) != nil {
		t.Errorf("credentials stored after a refused login")
	}
	r := e.RunStdin(t, pass, "login", "-u", user, "--password-stdin", reg.Host)
	if r.Code != 0 || r.Stdout != "Login Succeeded\n" {
		t.Fatalf("login: exit %d, stdout %q", r.Code, r.Stdout)
	}
	// The token server issued a refresh token: it is stored as docker's
	// identity token, not the password.
	entry := storedAuth(t, e, reg.Host)
	if entry == nil || entry["identitytoken"] == nil || entry["identitytoken"] == "" {
		t.Fatalf("stored %v, want an identitytoken", entry)
	}
	if b, _ := os.ReadFile(filepath.Join(e.DockerConfig, "config.json")); strings.Contains(string(b), pass) ||
		strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte(user+":"+pass))) {
		t.Errorf("config.json holds the password: %s", b)
	}
	// -v shows the exchange but no token, password or refresh token.
	r = e.RunStdin(t, pass, "-v", "login", "-u", user, "--password-stdin", reg.Host)
	stored := storedAuth(t, e, reg.Host)["identitytoken"].(string)
	if r.Code != 0 || !strings.Contains(r.Stderr, "/token?") || strings.Contains(r.Stderr, pass) ||
		strings.Contains(r.Stderr, stored) || strings.Contains(r.Stderr, "Bearer ey") {
		t.Errorf("-v login: exit %d, stderr:\n%s", r.Code, r.Stderr)
	}
	// crane authenticates with the identity token ctl stored.
	if r := e.Crane(t, "catalog", reg.Host); r.Code != 0 {
		t.Errorf("crane with ctl's identity token: exit %d", r.Code)
	}
}

// helperScript is a docker-credential-* helper keeping credentials as
// files in $HELPER_DIR.
const helperScript = `#!/bin/sh
set -e
dir="$HELPER_DIR"
case "$1" in
store)
	data=$(cat)
	server=$(printf '%s' "$data" | sed 's/.*"ServerURL":"\([^"]*\)".*/\1/')
	printf '%s' "$data" > "$dir/$(printf '%s' "$server" | tr -c 'a-zA-Z0-9' '_')"
	echo "store $server" >> "$dir/log" ;;
get)
	server=$(cat)
	f="$dir/$(printf '%s' "$server" | tr -c 'a-zA-Z0-9' '_')"
	echo "get $server" >> "$dir/log"
	if [ -f "$f" ]; then cat "$f"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase)
	server=$(cat)
	echo "erase $server" >> "$dir/log"
	rm -f "$dir/$(printf '%s' "$server" | tr -c 'a-zA-Z0-9' '_')" ;;
list)
	echo '{}' ;;
*) exit 1 ;;
esac
`

func TestCredentialHelpers(t *testing.T) {
	t.Parallel()
	reg := testenv.StartRegistry(t, testenv.RegistryOptions{HTPasswd: true})
	user, pass := reg.User()
	for _, tc := range []struct {
		name string         // the case
		cfg  map[string]any // the docker config naming the helper
	}{
		{"credsStore", map[string]any{"credsStore": "ctltest"}},
		{"credHelpers", map[string]any{"credHelpers": map[string]string{reg.Host: "ctltest"}, "credsStore": "absent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := testenv.NewEnv(t)
			bin := filepath.Join(e.Home, "bin")
			store := filepath.Join(e.Home, "helper")
			for _, d := range []string{bin, store} {
				if err := os.MkdirAll(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(bin, "docker-credential-ctltest"), []byte(helperScript), 0o700); err != nil {
				t.Fatal(err)
			}
			e.Setenv("PATH", bin+":"+os.Getenv("PATH"))
			e.Setenv("HELPER_DIR", store)
			e.Setenv("SSL_CERT_FILE", reg.CACertFile)
			writeConfig(t, e, tc.cfg)

			if r := e.RunStdin(t, pass, "login", "-u", user, "--password-stdin", reg.Host); r.Code != 0 {
				t.Fatalf("login: exit %d", r.Code)
			}
			log, _ := os.ReadFile(filepath.Join(store, "log"))
			if !strings.Contains(string(log), "store "+reg.Host) {
				t.Errorf("helper log %q: no store of %s", log, reg.Host)
			}
			if b, _ := os.ReadFile(filepath.Join(e.DockerConfig, "config.json")); strings.Contains(string(b), pass) ||
				strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte(user+":"+pass))) {
				t.Errorf("config.json holds the password although a helper is configured")
			}
			// crane reads the credentials through the same helper.
			if r := e.Crane(t, "catalog", reg.Host); r.Code != 0 {
				t.Errorf("crane through the helper: exit %d", r.Code)
			}
			if r := e.Run(t, "logout", reg.Host); r.Code != 0 || !strings.HasPrefix(r.Stdout, "Removing login credentials") {
				t.Errorf("logout: exit %d, stdout %q", r.Code, r.Stdout)
			}
			log, _ = os.ReadFile(filepath.Join(store, "log"))
			if !strings.Contains(string(log), "erase "+reg.Host) {
				t.Errorf("helper log %q: no erase", log)
			}
		})
	}

	t.Run("missing helper is a clear error", func(t *testing.T) {
		t.Parallel()
		e := testenv.NewEnv(t)
		e.Setenv("SSL_CERT_FILE", reg.CACertFile)
		writeConfig(t, e, map[string]any{"credsStore": "ctl-no-such-helper"})
		r := e.RunStdin(t, pass, "login", "-u", user, "--password-stdin", reg.Host)
		if r.Code == 0 || !strings.Contains(r.Stderr, "docker-credential-ctl-no-such-helper") {
			t.Errorf("login with a missing helper: exit %d, stderr %q", r.Code, r.Stderr)
		}
		if b, _ := os.ReadFile(filepath.Join(e.DockerConfig, "config.json")); strings.Contains(string(b), "auths") {
			t.Errorf("fell back to config.json: %s", b)
		}
	})

	// A helper that fails, or is missing, when a command reads the
	// credentials is an error naming it: not anonymous access, and not the
	// password config.json also holds for the host.
	reg.PushRandomImage(t, "team/app:v1", 1, 64)
	for _, helper := range []string{"ctlbroken", "ctl-no-such-helper"} {
		t.Run(helper+" on read", func(t *testing.T) {
			t.Parallel()
			e := testenv.NewEnv(t)
			bin := filepath.Join(e.Home, "bin")
			if err := os.MkdirAll(bin, 0o700); err != nil {
				t.Fatal(err)
			}
			broken := "#!/bin/sh\necho 'the keychain is locked'\nexit 1\n"
			if err := os.WriteFile(filepath.Join(bin, "docker-credential-ctlbroken"), []byte(broken), 0o700); err != nil {
				t.Fatal(err)
			}
			e.Setenv("PATH", bin+":"+os.Getenv("PATH"))
			e.Setenv("SSL_CERT_FILE", reg.CACertFile)
			writeConfig(t, e, map[string]any{
				"credHelpers": map[string]string{reg.Host: helper},
				"auths":       map[string]any{reg.Host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))}},
			})
			r := e.Run(t, "digest", reg.Ref("team/app:v1"))
			if r.Code == 0 || r.Stdout != "" || !strings.Contains(r.Stderr, "docker-credential-"+helper) || strings.Count(r.Stderr, reg.Host) != 1 {
				t.Errorf("digest with a failing helper: exit %d, stdout %q, stderr %q (want the helper and the host named once)", r.Code, r.Stdout, r.Stderr)
			}
		})
	}
}

// TestConfigFileErrors: a config file that cannot be read, ctl's own or
// docker's, is an unreadable file: exit 2 naming it, and nothing is done.
func TestConfigFileErrors(t *testing.T) {
	t.Parallel()
	e := testenv.NewEnv(t)
	dir := filepath.Join(e.XDGConfig, "ctl")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"insecure-registries": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.RunStdin(t, "pw", "login", "-u", "alice", "--password-stdin", "reg.example")
	if r.Code != 2 || !strings.Contains(r.Stderr, filepath.Join(dir, "config.json")) {
		t.Errorf("malformed ctl config: exit %d, stderr %q", r.Code, r.Stderr)
	}

	reg := testenv.StartRegistry(t, testenv.RegistryOptions{})
	reg.PushRandomImage(t, "team/app:v1", 1, 64)
	d := testenv.NewEnv(t)
	dockerConfig := filepath.Join(d.DockerConfig, "config.json")
	if err := os.WriteFile(dockerConfig, []byte(`{"auths": {`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"digest", reg.Ref("team/app:v1")},
		{"tags", "list", reg.Ref("team/app")},
		{"logout", reg.Host},
	} {
		r := d.Run(t, args...)
		if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, dockerConfig) {
			t.Errorf("malformed docker config: %v: exit %d, stdout %q, stderr %q", args, r.Code, r.Stdout, r.Stderr)
		}
	}
	r = d.RunStdin(t, "pw", "login", "-u", "alice", "--password-stdin", reg.Host)
	if r.Code != 2 || r.Stdout != "" || !strings.Contains(r.Stderr, dockerConfig) {
		t.Errorf("malformed docker config: login: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if b, err := os.ReadFile(dockerConfig); err != nil || string(b) != `{"auths": {` {
		t.Errorf("login rewrote a config it could not read: %q %v", b, err)
	}

	// What docker's daemon.json takes under insecure-registries, CIDRs
	// included, is a valid ctl config.
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"insecure-registries": ["10.0.0.0/8", "reg.lan:5000", "fd00::/8"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.Run(t, "digest", reg.Ref("team/app:v1")); r.Code != 0 || !strings.HasPrefix(r.Stdout, "sha256:") {
		t.Errorf("config with CIDRs: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}

	// A key ctl does not read (a typo, or daemon.json's other settings)
	// is a warning, once, and the command goes on.
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"insecure-registry": ["reg.lan:5000"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	want := `Warning: unknown key "insecure-registry" in ` + filepath.Join(dir, "config.json") + " (ctl reads insecure-registries, registry-mirrors, mirrors)\n"
	for _, args := range [][]string{{"digest", reg.Ref("team/app:v1")}, {"ref", "nginx"}} {
		if r := e.Run(t, args...); r.Code != 0 || r.Stderr != want {
			t.Errorf("%v with an unknown key: exit %d, stderr %q, want %q", args, r.Code, r.Stderr, want)
		}
	}
}
