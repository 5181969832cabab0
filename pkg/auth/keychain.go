package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/ctl-dev/ctl/pkg/bounded"
	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// DockerHubKey is the key docker stores Docker Hub's credentials under.
const DockerHubKey = "https://index.docker.io/v1/"

// ServerKey is the config.json key for a registry host: Docker Hub's legacy
// URL for every spelling of Docker Hub, the host[:port] itself otherwise.
func ServerKey(host string) string {
	h := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(host, "https://"), "http://"), "/"))
	switch h {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io", "index.docker.io/v1", "registry.hub.docker.com":
		return DockerHubKey
	}
	return host
}

// Keychain resolves credentials from docker's config in dir ("" means
// docker's default: $DOCKER_CONFIG, else ~/.docker), honouring credsStore and
// credHelpers exactly as docker does. It implements authn.Keychain.
type Keychain struct {
	dir string
}

// NewKeychain returns a keychain over the docker config in dir.
func NewKeychain(dir string) *Keychain { return &Keychain{dir: dir} }

// maxConfigFile caps what is read of docker's config.json.
const maxConfigFile = 16 << 20

// Load reads the docker config file as docker's config.Load does, but only
// a regular file and through a cap; a config that cannot be parsed is an
// error, never silently ignored.
func (k *Keychain) Load() (*configfile.ConfigFile, error) {
	dir := k.dir
	if dir == "" {
		dir = config.Dir()
	}
	filename := filepath.Join(dir, config.ConfigFileName)
	cf := configfile.New(filename)
	b, err := bounded.ReadFile(filename, maxConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return cf, nil
	}
	if err == nil {
		if err := cf.LoadFromReader(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrConfig, filename, err)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w in %s: %w", ErrConfig, dir, err)
	}
	return cf, nil
}

// Resolve implements authn.Keychain: the credentials stored for the exact
// registry host of target, or anonymous.
func (k *Keychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	cf, err := k.Load()
	if err != nil {
		return nil, err
	}
	host := target.RegistryStr()
	if host == name.DefaultRegistry {
		host = DockerHubKey
	}
	cfg, err := cf.GetAuthConfig(ServerKey(host))
	if err != nil {
		return nil, fmt.Errorf("reading credentials for %s: %w", host, helperError(cf, ServerKey(host), err))
	}
	cfg.ServerAddress = ""
	if cfg == (types.AuthConfig{}) {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(authn.AuthConfig{
		Username:      cfg.Username,
		Password:      cfg.Password,
		Auth:          cfg.Auth,
		IdentityToken: cfg.IdentityToken,
		RegistryToken: cfg.RegistryToken,
	}), nil
}
