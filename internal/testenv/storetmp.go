package testenv

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// StoreTempFiles lists the temp content left in the ctl store at dir: the
// files under its tmp/ (paths relative to it), not counting the per-process
// owner lock files (tmp/w-N.lock) or directories.
func StoreTempFiles(t testing.TB, dir string) []string {
	t.Helper()
	root := filepath.Join(dir, "tmp")
	var out []string
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return fs.SkipAll // no tmp/ yet
			}
			return err
		}
		if !de.IsDir() && !(filepath.Dir(p) == root && strings.HasSuffix(p, ".lock")) {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("testenv: listing %s: %v", root, err)
	}
	return out
}
