package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"unicode"
)

// formatFlagHelp is the --format help of a command that prints data, with
// an example template over one of the fields its items have.
func formatFlagHelp(field string) string {
	return `output format: "text", "json", or a Go template such as '{{.` + field + `}}'`
}

// printer writes command results in the format chosen with --format: the
// command's own text, one JSON document per item, or a Go template applied
// to each item. Checking the format before any work is done keeps a typo from
// costing a round trip to a registry.
type printer struct {
	format string
	tmpl   *template.Template
}

func newPrinter(format string) (*printer, error) {
	p := &printer{format: format}
	switch format {
	case "", "text", "json":
		return p, nil
	}
	if !strings.Contains(format, "{{") {
		return nil, usageError{fmt.Errorf("invalid --format %q: use text, json or a Go template", format)}
	}
	t, err := parseTemplate(format)
	if err != nil {
		return nil, err
	}
	p.tmpl = t
	return p, nil
}

// parseTemplate parses a --format template (its escapes undone, a newline
// after each item) with docker's template functions: the one place ctl
// builds a template. options are text/template's Option strings.
func parseTemplate(format string, options ...string) (*template.Template, error) {
	t, err := template.New("format").Funcs(templateFuncs).Option(options...).Parse(unescapeFormat(format) + "\n")
	if err != nil {
		return nil, usageError{fmt.Errorf("invalid --format template: %w", err)}
	}
	return t, nil
}

// templateFuncs are the functions docker's --format offers (docker/cli's
// templates package), beside text/template's own (println, printf, len,
// index...).
var templateFuncs = template.FuncMap{
	"json":     jsonString,
	"split":    strings.Split,
	"join":     strings.Join,
	"title":    title,
	"lower":    strings.ToLower,
	"upper":    strings.ToUpper,
	"pad":      pad,
	"truncate": truncate,
}

// title upper-cases the first letter of each word, as docker's title
// (strings.Title) does.
func title(s string) string {
	prev := ' '
	return strings.Map(func(r rune) rune {
		sep := !unicode.IsLetter(prev) && !unicode.IsDigit(prev) && prev != '_' && prev != '\''
		prev = r
		if sep {
			return unicode.ToTitle(r)
		}
		return r
	}, s)
}

// pad surrounds a non-empty s with prefix and suffix spaces (docker's pad).
func pad(s string, prefix, suffix int) string {
	if s == "" {
		return s
	}
	return strings.Repeat(" ", max(prefix, 0)) + s + strings.Repeat(" ", max(suffix, 0))
}

// truncate keeps the first n bytes of s (docker's truncate).
func truncate(s string, n int) string {
	if n < 0 || len(s) <= n {
		return s
	}
	return s[:n]
}

// JSON reports whether items should be printed as JSON.
func (p *printer) JSON() bool { return p.format == "json" }

// Text reports whether the command's own text is printed (no JSON, no
// template).
func (p *printer) Text() bool { return p.tmpl == nil && !p.JSON() }

// Print writes one item: text(w) in text mode, else JSON or the template.
func (p *printer) Print(w io.Writer, item any, text func(io.Writer) error) error {
	switch {
	case p.tmpl != nil:
		return execTemplate(p.tmpl, w, item)
	case p.JSON():
		return json.NewEncoder(w).Encode(item)
	}
	return text(w)
}

// execTemplate applies a --format template to item. A template that cannot
// be applied (a field the item does not have, a bad index) is the user's to
// fix, like one that does not parse: exit 2. Write errors stay what they are.
func execTemplate(t *template.Template, w io.Writer, item any) error {
	err := t.Execute(w, item)
	var ee template.ExecError
	if errors.As(err, &ee) {
		if m := missingField.FindStringSubmatch(err.Error()); m != nil {
			// text/template names the Go type ("in type cmd.imageRow"):
			// say instead which fields there are.
			return usageError{fmt.Errorf("invalid --format template: no field .%s (the fields are %s)", m[1], fieldList(item))}
		}
		return usageError{fmt.Errorf("invalid --format template: %w", err)}
	}
	return err
}

var missingField = regexp.MustCompile(`can't evaluate field (\w+) in type `)

// fieldList names what a template can see in item: its exported fields,
// or its keys for a map (".A .B").
func fieldList(item any) string {
	v := reflect.Indirect(reflect.ValueOf(item))
	var names []string
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				names = append(names, "."+f.Name)
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			names = append(names, "."+fmt.Sprint(k))
		}
		sort.Strings(names)
	}
	return strings.Join(names, " ")
}

// formatEscapes are the escapes docker's --format accepts as typed in a
// shell ('{{.Repository}}\t{{.Tag}}'): a literal backslash-t is a tab and
// backslash-n a newline.
var formatEscapes = strings.NewReplacer(`\t`, "\t", `\n`, "\n")

func unescapeFormat(s string) string { return formatEscapes.Replace(s) }

// jsonString is docker's json template function: v as JSON, HTML
// characters unescaped, without a trailing newline.
func jsonString(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
