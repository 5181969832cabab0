package cmd

// The printer of the commands that list names from a registry (catalog,
// tags list): the flags they share, glob filtering, one name per line.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"path"

	"github.com/ctl-dev/ctl/pkg/tagset"
)

// newLineWriter buffers many short lines into few writes.
func newLineWriter(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, 64<<10) }

// listPrinter checks the flags shared by the commands that list names from a
// registry (--format, --filter, --page-size) and returns the printer.
func listPrinter(format string, filters []string, pageSize int) (*printer, error) {
	if pageSize < 0 {
		return nil, invalidInput(fmt.Errorf("invalid --page-size %d: must be positive", pageSize))
	}
	for _, glob := range filters {
		if err := checkGlob("filter", glob); err != nil {
			return nil, err
		}
	}
	return newPrinter(format)
}

// checkGlob rejects a malformed glob of --flag before any request.
func checkGlob(flag, glob string) error {
	if _, err := path.Match(glob, ""); err != nil {
		return invalidInput(fmt.Errorf("invalid --%s %q: %w", flag, glob, err))
	}
	return nil
}

// filterGlob keeps the names that match any of globs (none keeps all; an
// empty glob matches everything).
func filterGlob(names []string, globs []string) []string {
	return tagset.Query{Include: globs}.Filter(names)
}

// printList prints names one per line (escaped: they come from a server),
// as one JSON array, or through the template per item.
func printList(w io.Writer, p *printer, names []string, item func(string) any) error {
	if p.JSON() {
		if names == nil {
			names = []string{}
		}
		return json.NewEncoder(w).Encode(names)
	}
	bw := newLineWriter(w)
	for _, n := range names {
		err := p.Print(bw, item(n), func(w io.Writer) error {
			_, err := fmt.Fprintln(w, escapeControl(n))
			return err
		})
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}
