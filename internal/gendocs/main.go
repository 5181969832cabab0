// Command gendocs writes ctl's command reference (one Markdown page per
// command) into docs/reference; `make docs` runs it and a test fails when the
// checked-in pages are stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ctl-dev/ctl/cmd"
	"github.com/spf13/cobra/doc"
)

func main() {
	out := flag.String("out", "docs/reference", "directory to write the pages to")
	flag.Parse()
	if err := generate(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

// generate replaces the Markdown pages in dir with freshly generated ones.
func generate(dir string) error {
	old, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	for _, p := range old {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	io, _, _ := cmd.TestIO("")
	root := cmd.NewRootCmd(&cmd.Factory{IO: io, Opts: &cmd.GlobalOptions{}})
	root.DisableAutoGenTag = true
	return doc.GenMarkdownTree(root, dir)
}
