package cmd

import (
	"os"
	"path/filepath"
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
	if cfg, err := readConfig(filepath.Join(dir, "missing.json")); err != nil || len(cfg.InsecureRegistries) != 0 {
		t.Errorf("missing config: %+v, %v", cfg, err)
	}
}
