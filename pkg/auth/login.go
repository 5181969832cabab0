package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"
)

// Verifier checks a user name and password against the registry at host
// (HOST[:PORT]) and returns the identity token to store instead of the
// password when the registry's token server issued one (a refresh token,
// as docker stores). It returns an error wrapping ErrBadCredentials when
// the registry refuses them.
type Verifier func(ctx context.Context, host, username, password string) (identityToken string, err error)

// LoginOptions are the inputs of Login.
type LoginOptions struct {
	Dir      string // docker config directory ("" for docker's default)
	Server   string // registry as given by the user ("" for Docker Hub)
	Username string
	Password string
	Verify   Verifier
}

// RegistryHost is the host[:port] to contact for server as a user gives it
// (a host, host:port, or a URL such as https://index.docker.io/v1/): Docker
// Hub's registry for every spelling of Docker Hub.
func RegistryHost(server string) string {
	if ServerKey(server) == DockerHubKey {
		return "index.docker.io"
	}
	s := strings.TrimPrefix(strings.TrimPrefix(server, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	return strings.ToLower(s)
}

// storeKey is the config key docker uses for server: Docker Hub's legacy
// URL, or the bare HOST[:PORT].
func storeKey(server string) string {
	if k := ServerKey(server); k == DockerHubKey {
		return k
	}
	return RegistryHost(server)
}

// Login checks the credentials against the registry and, only if it
// accepts them, stores them where docker would (credHelpers, credsStore,
// else config.json with mode 0600). When they went to config.json
// unencrypted, it returns that file's path so the caller can warn.
func Login(ctx context.Context, o LoginOptions) (string, error) {
	if o.Username == "" || o.Password == "" {
		return "", errors.New("login: user name and password are required")
	}
	host := RegistryHost(o.Server)
	if host == "" || strings.ContainsAny(host, " \t\n") {
		return "", fmt.Errorf("invalid registry %q", o.Server)
	}
	key := storeKey(o.Server)
	cf, err := NewKeychain(o.Dir).Load()
	if err != nil {
		return "", err
	}
	token, err := o.Verify(ctx, host, o.Username, o.Password)
	if err != nil {
		return "", err
	}
	cfg := types.AuthConfig{Username: o.Username, Password: o.Password, ServerAddress: key}
	if token != "" {
		cfg.Password = ""
		cfg.IdentityToken = token
	}
	if h, _ := helperOf(cf, key); h == "" {
		// docker's file store would print a warning on os.Stderr itself;
		// store as it does and let the caller warn.
		cf.AuthConfigs[key] = cfg
		if err := cf.Save(); err != nil {
			return "", fmt.Errorf("storing credentials for %s: %w", key, err)
		}
		if cfg.Password == "" {
			return "", restrictConfig(cf)
		}
		return cf.Filename, restrictConfig(cf)
	}
	if err := cf.GetCredentialsStore(key).Store(cfg); err != nil {
		return "", fmt.Errorf("storing credentials for %s: %w", key, helperError(cf, key, err))
	}
	return "", nil
}

// Servers are the registries the docker config in dir has a login for
// (docker keeps an entry in config.json per login, also where a helper
// holds the secret), as logout takes them: HOST[:PORT], and docker.io for
// Docker Hub; sorted.
func Servers(dir string) ([]string, error) {
	cf, err := NewKeychain(dir).Load()
	if err != nil {
		return nil, err
	}
	var out []string
	for k := range cf.AuthConfigs {
		name := RegistryHost(k)
		if ServerKey(k) == DockerHubKey {
			name = "docker.io"
		}
		if name != "" && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Logout removes the credentials stored for server. It reports whether
// there were any.
func Logout(o LoginOptions) (bool, error) {
	key := storeKey(o.Server)
	cf, err := NewKeychain(o.Dir).Load()
	if err != nil {
		return false, err
	}
	found := false
	store := cf.GetCredentialsStore(key)
	got, err := store.Get(key)
	if err != nil {
		return false, fmt.Errorf("reading credentials for %s: %w", key, helperError(cf, key, err))
	}
	_, inFile := cf.AuthConfigs[key]
	if got.Username != "" || got.Password != "" || got.IdentityToken != "" || got.Auth != "" || inFile {
		found = true
		if err := store.Erase(key); err != nil {
			return true, fmt.Errorf("removing credentials for %s: %w", key, helperError(cf, key, err))
		}
	}
	// Older docker versions stored some registries under a URL; those
	// entries live in config.json only.
	if key != DockerHubKey {
		for _, k := range []string{"http://" + key, "https://" + key} {
			if _, ok := cf.AuthConfigs[k]; !ok {
				continue
			}
			found = true
			if err := credentials.NewFileStore(cf).Erase(k); err != nil {
				return true, fmt.Errorf("removing credentials for %s: %w", k, err)
			}
		}
	}
	if found {
		if err := restrictConfig(cf); err != nil {
			return true, err
		}
	}
	return found, nil
}

// helperOf is the credential helper that stores key ("" for config.json)
// and the setting of the docker config that names it.
func helperOf(cf *configfile.ConfigFile, key string) (helper, setting string) {
	if h := cf.CredentialHelpers[key]; h != "" {
		return h, `its entry in "credHelpers"`
	}
	if cf.CredentialsStore != "" {
		return cf.CredentialsStore, `"credsStore"`
	}
	return "", ""
}

// helperError is err, a failure of the credential helper that stores key,
// naming the helper; a helper that is not installed (docker's client says
// only "executable file not found" among its output) is said to be, with
// the two ways out. Without a helper, err is returned as it is.
func helperError(cf *configfile.ConfigFile, key string, err error) error {
	h, setting := helperOf(cf, key)
	if h == "" {
		return err
	}
	program := "docker-credential-" + h
	if _, lerr := exec.LookPath(program); lerr != nil {
		return fmt.Errorf("credential helper %s is not installed (not found in $PATH): install it, or remove %s from %s", program, setting, cf.Filename)
	}
	return fmt.Errorf("credential helper %s: %w", program, err)
}

// restrictConfig makes config.json readable by its owner only: it may hold
// passwords. docker's Save keeps an existing file's mode, so set it here.
func restrictConfig(cf *configfile.ConfigFile) error {
	path := cf.Filename
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	if err := os.Chmod(path, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("restricting %s: %w", path, err)
	}
	return nil
}

// DisplayName is how messages name server: docker's key for Docker Hub,
// HOST[:PORT] otherwise.
func DisplayName(server string) string { return storeKey(server) }

// Stored returns the user name and password stored for server (through
// its credential helper, if one is configured), empty when there are none
// or only an identity token: docker reuses stored credentials for a login
// without -u and -p only when it has both.
func Stored(dir, server string) (username, password string, err error) {
	key := storeKey(server)
	cf, err := NewKeychain(dir).Load()
	if err != nil {
		return "", "", err
	}
	got, err := cf.GetCredentialsStore(key).Get(key)
	if err != nil {
		return "", "", fmt.Errorf("reading credentials for %s: %w", key, helperError(cf, key, err))
	}
	if got.Username == "" || got.Password == "" {
		return "", "", nil
	}
	return got.Username, got.Password, nil
}
