package cmd

import (
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/ctl-dev/ctl/pkg/golden"
	"github.com/ctl-dev/ctl/pkg/registry"
	"github.com/spf13/cobra"
)

// TestFormatHelpExamples: the template each --format help offers as an
// example runs on the items that command prints.
func TestFormatHelpExamples(t *testing.T) {
	t.Parallel()
	items := map[string]any{
		"ctl catalog":          catalogItem{},
		"ctl copy":             pushedItem{},
		"ctl delete":           deletedItem{},
		"ctl load":             loadedItem{},
		"ctl image load":       loadedItem{},
		"ctl pull":             pulledItem{},
		"ctl image pull":       pulledItem{},
		"ctl image push":       pushedItem{},
		"ctl pin":              pinnedItem{},
		"ctl push":             pushedItem{},
		"ctl check dockerfile": golden.Finding{},
		"ctl digest":           digestItem{},
		"ctl inspect":          &registry.Inspection{},
		"ctl index create":     indexItem{},
		"ctl index add":        indexItem{},
		"ctl index remove":     indexItem{},
		"ctl manifest create":  indexItem{},
		"ctl manifest get":     map[string]any{"mediaType": "application/vnd.oci.image.manifest.v1+json"},
		"ctl ref":              refInfo{},
		"ctl referrers":        &registry.ReferrerTree{},
		"ctl rmi":              rmiItem{},
		"ctl image rm":         rmiItem{},
		"ctl image prune":      pruneItem{},
		"ctl tag":              pushedItem{},
		"ctl image tag":        pushedItem{},
		"ctl tags list":        tagItem{},
		"ctl tags prune":       tagPruneItem{},
		"ctl version":          versionInfo{},
	}
	example := regexp.MustCompile(`such as '(\{\{[^']*\}\})'`)
	ios, _, _ := TestIO("")
	seen := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		fl := c.Flags().Lookup("format")
		if fl == nil {
			return
		}
		m := example.FindStringSubmatch(fl.Usage)
		if m == nil {
			return
		}
		seen++
		item, ok := items[c.CommandPath()]
		if !ok {
			t.Errorf("%s: --format example %s, but the test does not know its items", c.CommandPath(), m[1])
			return
		}
		p, err := newPrinter(m[1])
		if err == nil {
			err = p.Print(io.Discard, item, nil)
		}
		if err != nil {
			t.Errorf("%s: the --format example %s fails: %v", c.CommandPath(), m[1], err)
		}
	}
	walk(NewRootCmd(&Factory{IO: ios, Opts: &GlobalOptions{}}))
	if seen < len(items) {
		t.Errorf("%d commands offer a --format example, want %d", seen, len(items))
	}
}

// TestFormatEscapes: a template typed in a shell with \t and \n means a tab
// and a newline, as in docker's --format.
func TestFormatEscapes(t *testing.T) {
	t.Parallel()
	out, errOut, code := run(t, "ref", "--format", `{{.Registry}}\t{{.Repository}}\n`, "nginx:1.25")
	if code != 0 || out != "docker.io\tlibrary/nginx\n\n" {
		t.Errorf("exit %d, stdout %q (%s)", code, out, errOut)
	}
}

// TestFormatFuncs: docker's template functions, in every command's
// templates (the printer's, and images' table templates).
func TestFormatFuncs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ format, want string }{
		{`{{upper .Repository}}`, "LIBRARY/NGINX\n"},
		{`{{lower "ABC"}}`, "abc\n"},
		{`{{title "hello big-world"}}`, "Hello Big-World\n"},
		{`{{join (split .Repository "/") "|"}}`, "library|nginx\n"},
		{`[{{pad .Tag 2 1}}]`, "[  1.25 ]\n"},
		{`[{{pad "" 2 1}}]`, "[]\n"},
		{`{{truncate .Repository 3}}`, "lib\n"},
		{`{{truncate .Tag 10}}`, "1.25\n"},
		{`{{json "<a&b>"}}`, "\"<a&b>\"\n"},
		{`{{println .Tag}}`, "1.25\n\n"},
	} {
		out, errOut, code := run(t, "ref", "--format", tc.format, "nginx:1.25")
		if code != 0 || out != tc.want {
			t.Errorf("--format %s: exit %d, stdout %q, want %q (%s)", tc.format, code, out, tc.want, errOut)
		}
	}
	t.Run("images", func(t *testing.T) {
		t.Parallel()
		tmpl, table, err := imagesTemplate(&imagesOptions{Format: `table {{upper .Repository}}\t{{truncate .Tag 1}}`}, false)
		if err != nil || !table {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := execTemplate(tmpl, &b, imageRow{Repository: "user/app", Tag: "v1"}); err != nil || b.String() != "USER/APP\tv\n" {
			t.Errorf("%q %v", b.String(), err)
		}
	})
}
