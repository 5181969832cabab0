package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReferenceUpToDate fails when docs/reference differs from what the
// commands generate: run `make docs` and commit the result.
func TestReferenceUpToDate(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	if err := generate(tmp); err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Glob(filepath.Join(tmp, "*.md"))
	have, _ := filepath.Glob(filepath.Join("..", "..", "docs", "reference", "*.md"))
	if len(want) != len(have) {
		t.Fatalf("docs/reference has %d pages, the commands make %d: run make docs", len(have), len(want))
	}
	for _, p := range want {
		w, _ := os.ReadFile(p)
		h, err := os.ReadFile(filepath.Join("..", "..", "docs", "reference", filepath.Base(p)))
		if err != nil || string(w) != string(h) {
			t.Errorf("docs/reference/%s is stale: run make docs", filepath.Base(p))
		}
	}
}
