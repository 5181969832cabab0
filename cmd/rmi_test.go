package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewCmdRmi(t *testing.T) {
	t.Parallel()
	parseTable(t, newRmiCmd, func(o *rmiOptions) rmiOptions {
		return rmiOptions{Refs: o.Refs, Force: o.Force, Format: o.Format}
	}, []parseCase[rmiOptions]{
		{[]string{"-f", "a", "b"}, &rmiOptions{Refs: []string{"a", "b"}, Force: true, Format: "text"}},
		{[]string{}, nil},
	})
}

// TestNoStoreMade: rmi, tag, push and the index commands of an image a
// store that does not exist cannot hold say "no such image" and leave no
// store behind (a mistyped --store); index add looks for its target
// before pulling a remote source.
func TestNoStoreMade(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"rmi", "app:v1"},
		{"tag", "app:v1", "app:v2"},
		{"tag", "--semver", "app:v1", "app:1.0.0"},
		{"push", "localhost:5000/app:v1"},
		{"push", "--all-tags", "localhost:5000/app"},
		{"index", "create", "app:v1", "app:amd64", "app:arm64"},
		{"index", "create", "--amend", "app:v1", "app:amd64"},
		{"index", "add", "app:v1", "app:amd64"},
		{"index", "add", "app:v1", "localhost:1/app:arm64"},
		{"index", "remove", "app:v1", "linux/amd64"},
	} {
		dir := filepath.Join(t.TempDir(), "typo")
		_, errOut, code := run(t, append([]string{"--store", dir}, args...)...)
		if code != exitNotFound || !strings.HasPrefix(errOut, "Error: no such image: ") {
			t.Errorf("%q: exit %d, stderr %q; want 3, no such image", args, code, errOut)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%q made a store in %s", args, dir)
		}
	}
}
