package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCtlConfigFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	if err := os.WriteFile(p, []byte(`{"insecure-registries": ["reg.lan:5000"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := readConfig(p)
	if err != nil || len(cfg.InsecureRegistries) != 1 || cfg.InsecureRegistries[0] != "reg.lan:5000" {
		t.Errorf("ReadConfig: %+v, %v", cfg, err)
	}
	if err := os.WriteFile(p, []byte(`{"insecure-registries": `), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readConfig(p); err == nil {
		t.Error("malformed config: no error")
	}
	// A key ctl does not read (docker's daemon.json has many) is listed.
	if err := os.WriteFile(p, []byte(`{"insecure-registry": ["reg.lan:5000"], "mirrors": {}, "debug": true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := readConfig(p); err != nil || strings.Join(cfg.Unknown, ",") != "debug,insecure-registry" {
		t.Errorf("unknown keys: %q, %v", cfg.Unknown, err)
	}
	if got := strings.Join(configKeys(), ","); got != "insecure-registries,registry-mirrors,mirrors" {
		t.Errorf("configKeys: %s", got)
	}
	if cfg, err := readConfig(filepath.Join(dir, "missing.json")); err != nil || len(cfg.InsecureRegistries) != 0 {
		t.Errorf("missing config: %+v, %v", cfg, err)
	}
}
