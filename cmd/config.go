package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/ctl-dev/ctl/pkg/bounded"
)

// fileConfig is ctl's own configuration file, $XDG_CONFIG_HOME/ctl/config.json
// (else ~/.config/ctl/config.json). insecure-registries and
// registry-mirrors are the keys docker's daemon.json uses; mirrors maps any
// registry to its mirrors (docs/configuration.md).
type fileConfig struct {
	InsecureRegistries []string            `json:"insecure-registries,omitempty"`
	RegistryMirrors    []string            `json:"registry-mirrors,omitempty"`
	Mirrors            map[string][]string `json:"mirrors,omitempty"`
	// Unknown are the file's keys that ctl does not read, sorted
	// ("insecure-registry" for insecure-registries, say).
	Unknown []string `json:"-"`
}

// configKeys are the keys of fileConfig, in its order.
func configKeys() []string {
	t := reflect.TypeOf(fileConfig{})
	var keys []string
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); k != "-" {
			keys = append(keys, k)
		}
	}
	return keys
}

// maxConfigFile caps what is read of ctl's configuration file.
const maxConfigFile = 1 << 20

// configPath is where ctl's configuration file lives.
func configPath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "ctl", "config.json")
}

// cacheDir is where ctl keeps name, something it may lose:
// $XDG_CACHE_HOME/ctl/name (else ~/.cache/ctl/name), "" without a home.
func cacheDir(name string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "ctl", name)
}

// readConfig reads ctl's configuration file at path; a missing file is an
// empty configuration, a malformed one an error.
func readConfig(path string) (fileConfig, error) {
	var c fileConfig
	if path == "" {
		return c, nil
	}
	b, err := bounded.ReadFile(path, maxConfigFile)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading ctl config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("reading ctl config %s: %w", path, err)
	}
	var all map[string]json.RawMessage
	if json.Unmarshal(b, &all) == nil {
		known := configKeys()
		for k := range all {
			if !slices.Contains(known, k) {
				c.Unknown = append(c.Unknown, k)
			}
		}
		sort.Strings(c.Unknown)
	}
	return c, nil
}

// config reads ctl's configuration file (configPath) and returns it with
// its path; a key ctl does not read is a warning on stderr, once per run
// (docker's daemon refuses to start on one: a typo must not go unseen).
func (f *Factory) config() (fileConfig, string, error) {
	path := configPath()
	cfg, err := readConfig(path)
	if err != nil {
		return cfg, path, invalidInput(err)
	}
	if len(cfg.Unknown) > 0 {
		f.configWarned.Do(func() {
			for _, k := range cfg.Unknown {
				fmt.Fprintf(f.IO.ErrOut, "Warning: unknown key %q in %s (ctl reads %s)\n", k, path, strings.Join(configKeys(), ", "))
			}
		})
	}
	return cfg, path, nil
}
