// Package syncplan is the model and the planner of ctl sync: a plan of
// entries, each mirroring a source repository (or the repositories of a
// registry matching a glob) to a destination repository (or prefix) through
// tag filters; the decision, per tag, of what moves; and the runner that
// resolves both sides (one tag list each, one HEAD per tag on the source
// and, for a tag State does not know in step, on the destination) and
// copies what differs.
//
// A plan file is YAML:
//
//	sync:
//	  - source: registry.example/team/app     # or registry.example/team/*
//	    destination: mirror.local/team/app    # a prefix for a glob source
//	    tags: ["v*"]          # globs (path.Match); none: every tag
//	    exclude: ["*-rc*"]    # globs dropped
//	    regex: '^v[0-9]+\.'   # kept tags must match it too
//	    semver: ">=2.1 <3"    # ctl's semver ranges; other tags drop out
//	    newest: 5             # the newest N (semver order, else created)
//	    digests: [sha256:…]   # untagged manifests to mirror as well
//	    platforms: [linux/amd64, linux/arm64]  # a filtered index
//	    referrers: true       # signatures, SBOMs, attestations too
//	    moving: false         # keep the mirror's first copy of a tag
//
// Unknown keys and bad values are errors, reported as FILE:LINE: KEY: …
// at the line of the value at fault.
package syncplan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ctl-dev/ctl/pkg/bounded"
	"github.com/ctl-dev/ctl/pkg/platform"
	"github.com/ctl-dev/ctl/pkg/reference"
	"github.com/ctl-dev/ctl/pkg/semver"
	"github.com/ctl-dev/ctl/pkg/tagset"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"go.yaml.in/yaml/v3"
)

// ErrInvalidPlan: a plan that does not parse, names an unknown key or
// holds a value out of its domain.
var ErrInvalidPlan = errors.New("invalid sync plan")

// ErrNotYet: the plan asks for something ctl sync does not do yet.
var ErrNotYet = errors.New("not supported yet")

// PlanError says where a plan is wrong: File:Line.
type PlanError struct {
	File string
	Line int // 0 when the whole file is at fault
	Err  error
}

func (e *PlanError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

// Unwrap makes a PlanError an ErrInvalidPlan (and keeps its cause).
func (e *PlanError) Unwrap() []error { return []error{ErrInvalidPlan, e.Err} }

// Plan is a parsed plan.
type Plan struct {
	Entries []Entry
}

// Entry is one line of work: what to mirror where, through which filters.
type Entry struct {
	// Line is the entry's line in its plan file (0 for the one-line form).
	Line int
	// Source is a repository, or with Glob a registry and a repository
	// pattern to list through its catalog; Destination is a repository,
	// or with Glob the prefix the matching repositories go under.
	Source, Destination string
	// Glob is the repository pattern of a registry-wide source ("" for a
	// single repository); Source is then the registry host.
	Glob string
	// Tags, Exclude, Range, Regex and Newest select the tags (see Filter).
	Tags, Exclude []string
	Regex         *regexp.Regexp
	Range         *semver.Range
	Newest        int
	// Digests are untagged manifests to mirror besides the tags.
	Digests []string
	// Platforms, if any, copy only those platforms of an index (one: that
	// image; several: a filtered index), parsed into Select.
	Platforms []string
	Select    platform.Selection
	// Referrers copies what refers to each image along with it.
	Referrers bool
	// Moving lets a tag that moved upstream move on the mirror; without it
	// the mirror keeps its first copy.
	Moving bool
}

// rawEntry is an entry as YAML spells it.
type rawEntry struct {
	Source      string   `yaml:"source"`
	Destination string   `yaml:"destination"`
	Tags        []string `yaml:"tags"`
	Exclude     []string `yaml:"exclude"`
	Regex       string   `yaml:"regex"`
	Semver      string   `yaml:"semver"`
	Newest      *count   `yaml:"newest"`
	Digests     []string `yaml:"digests"`
	Platforms   []string `yaml:"platforms"`
	Referrers   bool     `yaml:"referrers"`
	Moving      *bool    `yaml:"moving"`
}

// count is a plan's integer: YAML's !!int only (yaml.v3 would take 2.5
// as 2).
type count int

// UnmarshalYAML refuses what is not an integer, naming the key.
func (c *count) UnmarshalYAML(n *yaml.Node) error {
	var v int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil {
		got := n.Value
		if n.ShortTag() == "!!str" {
			got = strconv.Quote(n.Value)
		} else if n.Kind != yaml.ScalarNode {
			got = "a " + strings.TrimPrefix(n.ShortTag(), "!!")
		}
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: newest: must be a positive integer, got %s", n.Line, got)}}
	}
	*c = count(v)
	return nil
}

type rawPlan struct {
	Sync []rawEntry `yaml:"sync"`
}

// yamlLine finds "line N: " in a yaml.v3 error.
var yamlLine = regexp.MustCompile(`line (\d+): `)

// MaxPlanSize bounds a plan file (read whole): thousands of entries fit.
const MaxPlanSize = 16 << 20

// Parse reads a plan from r; file names it in errors, each at the line
// of the value at fault (FILE:LINE).
func Parse(file string, r io.Reader) (*Plan, error) {
	b, err := bounded.ReadAll(r, "the plan", MaxPlanSize)
	if err != nil {
		return nil, &PlanError{File: file, Err: err}
	}
	if err := checkUTF8(b); err != nil {
		return nil, &PlanError{File: file, Line: err.line, Err: err}
	}
	// The nodes, for the lines of the values.
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, yamlError(file, &doc, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var raw rawPlan
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &PlanError{File: file, Err: errors.New("empty plan: want a list of entries under the sync key")}
		}
		return nil, yamlError(file, &doc, err)
	}
	nodes := entryNodes(&doc)
	if len(raw.Sync) == 0 {
		return nil, &PlanError{File: file, Line: 1, Err: errors.New("no entries: want a list of entries under the sync key")}
	}
	p := &Plan{}
	for i, re := range raw.Sync {
		var n *yaml.Node
		if i < len(nodes) {
			n = nodes[i]
		}
		e, err := re.entry()
		if err != nil {
			return nil, &PlanError{File: file, Line: errorLine(n, err), Err: err}
		}
		e.Line = line(n)
		p.Entries = append(p.Entries, e)
	}
	return p, nil
}

// notUTF8 is a plan's byte that is not UTF-8, at line and column.
type notUTF8 struct{ line, col int }

func (e *notUTF8) Error() string {
	return fmt.Sprintf("column %d: not UTF-8 (a plan is UTF-8 text)", e.col)
}

// checkUTF8 finds the first byte of b that is not UTF-8, as yaml.v3 would
// refuse it without saying where. A plan in UTF-16 (with its byte order
// mark), which yaml.v3 reads, is left to it.
func checkUTF8(b []byte) *notUTF8 {
	if bytes.HasPrefix(b, []byte{0xff, 0xfe}) || bytes.HasPrefix(b, []byte{0xfe, 0xff}) || utf8.Valid(b) {
		return nil
	}
	line, start := 1, 0
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return &notUTF8{line: line, col: utf8.RuneCount(b[start:i]) + 1}
		}
		if r == '\n' {
			line, start = line+1, i+n
		}
		i += n
	}
	return nil
}

// line is n's line, 0 without n.
func line(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

// errorLine is the line of the value err is about in the entry n: the
// item of a list, a key's value, else the entry's.
func errorLine(n *yaml.Node, err error) int {
	var fe *fieldError
	if n == nil || !errors.As(err, &fe) {
		return line(n)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if v := n.Content[i+1]; n.Content[i].Value == fe.Field {
			if fe.Index >= 0 && fe.Index < len(v.Content) {
				return v.Content[fe.Index].Line
			}
			return v.Line
		}
	}
	return n.Line
}

// typeError reads yaml.v3's "cannot unmarshal !!str `x` into bool".
var typeError = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")

// wants says what each Go type of a plan takes, for type errors.
var wants = map[string]string{"string": "a string", "[]string": "a list of strings", "bool": "true or false",
	"*bool": "true or false", "[]syncplan.rawEntry": "a list of entries", "syncplan.rawEntry": "an entry (source, destination and filters)"}

// yamlError turns a yaml.v3 error into FILE:LINE: message; a value of the
// wrong type is named by its key (found at that line in doc).
func yamlError(file string, doc *yaml.Node, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = strings.TrimSpace(strings.SplitN(msg, "\n", 2)[0])
	m := yamlLine.FindStringSubmatchIndex(msg)
	if m == nil {
		return &PlanError{File: file, Err: errors.New(msg)}
	}
	n, _ := strconv.Atoi(msg[m[2]:m[3]])
	rest := strings.TrimSpace(msg[:m[0]] + msg[m[1]:])
	if u := unknownField.FindStringSubmatch(rest); u != nil {
		where := `a plan is a list of entries under "sync"`
		if u[2] == "rawEntry" {
			where = "an entry takes " + strings.Join(entryKeys(), ", ")
		}
		return &PlanError{File: file, Line: n, Err: fmt.Errorf("unknown key %q (%s)", u[1], where)}
	}
	rest = strings.Replace(rest, " in type syncplan.rawEntry", "", 1)
	rest = strings.Replace(rest, " in type syncplan.rawPlan", "", 1)
	if t := typeError.FindStringSubmatch(rest); t != nil {
		if key := keyAt(doc, n, "!!"+t[1]); key != "" {
			want, got := wants[t[3]], t[2]
			if want == "" {
				want = t[3]
			}
			if got == "" {
				got = "a " + t[1]
			}
			rest = fmt.Sprintf("%s: must be %s, got %s", key, want, got)
		}
	}
	return &PlanError{File: file, Line: n, Err: errors.New(rest)}
}

// unknownField reads yaml.v3's KnownFields error, "field X not found in
// type syncplan.rawEntry".
var unknownField = regexp.MustCompile(`^field (.+) not found in type syncplan\.(rawEntry|rawPlan)$`)

// entryKeys are the keys of a plan's entry, in rawEntry's order.
func entryKeys() []string {
	t := reflect.TypeOf(rawEntry{})
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i] = t.Field(i).Tag.Get("yaml")
	}
	return keys
}

// keyAt is the key of the mapping in doc whose value (or part of it) is
// the node of type tag at line, the innermost one; "" if none. The type
// tells a mapping from its first value, which starts on the same line.
func keyAt(doc *yaml.Node, line int, tag string) string {
	key := ""
	var walk func(n *yaml.Node, under string)
	walk = func(n *yaml.Node, under string) {
		if n.Line == line && under != "" && n.ShortTag() == tag {
			key = under
		}
		for i, c := range n.Content {
			k := under
			if n.Kind == yaml.MappingNode {
				if i%2 == 0 {
					continue
				}
				k = n.Content[i-1].Value
			}
			walk(c, k)
		}
	}
	walk(doc, "")
	return key
}

// entryNodes are the items of the top-level sync: list.
func entryNodes(doc *yaml.Node) []*yaml.Node {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "sync" {
			return m.Content[i+1].Content
		}
	}
	return nil
}

// Filters are an entry's tag filters and options as the one-line form
// takes them.
type Filters struct {
	Tags, Exclude []string
	Regex, Semver string
	Newest        int
	Digests       []string
	Platforms     []string
	Referrers     bool
	Moving        bool
}

// NewEntry checks and builds the entry of the one-line form.
func NewEntry(source, destination string, f Filters) (Entry, error) {
	moving := f.Moving
	var newest *count // 0: --newest not given
	if f.Newest != 0 {
		n := count(f.Newest)
		newest = &n
	}
	e, err := rawEntry{Source: source, Destination: destination, Tags: f.Tags, Exclude: f.Exclude,
		Regex: f.Regex, Semver: f.Semver, Newest: newest, Digests: f.Digests,
		Platforms: f.Platforms, Referrers: f.Referrers, Moving: &moving}.entry()
	var fe *fieldError
	if errors.As(err, &fe) {
		// Named as the command line spells it.
		return Entry{}, fmt.Errorf("%s: %w", flagOf[fe.Field], fe.Err)
	}
	return e, err
}

// flagOf is the one-line form's spelling of each key of an entry.
var flagOf = map[string]string{"source": "SRC_REPO", "destination": "DST_REPO", "tags": "--tags", "exclude": "--exclude",
	"regex": "--regex", "semver": "--semver", "newest": "--newest", "digests": "--digest", "platforms": "--platform",
	"referrers": "--referrers"}

// fieldError is a value of an entry out of its domain: Field names its
// key, Index its item in a list (-1: the whole value).
type fieldError struct {
	Field string
	Index int
	Err   error
}

func (e *fieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *fieldError) Unwrap() error { return e.Err }

// bad is a *fieldError of the whole value of field.
func bad(field string, err error) error { return &fieldError{Field: field, Index: -1, Err: err} }

// entry checks re and builds its Entry.
func (re rawEntry) entry() (Entry, error) {
	e := Entry{Tags: re.Tags, Exclude: re.Exclude, Digests: re.Digests,
		Platforms: re.Platforms, Referrers: re.Referrers, Moving: re.Moving == nil || *re.Moving}
	if re.Source == "" || re.Destination == "" {
		return Entry{}, errors.New("an entry needs a source and a destination")
	}
	for _, f := range [][2]string{{"source", re.Source}, {"destination", re.Destination}} {
		if IsLayout(f[1]) {
			return Entry{}, bad(f[0], errors.New("an OCI layout is the sync's source or destination as a whole (from or to oci:PATH), not an entry's: entries name the repositories it holds"))
		}
	}
	d, err := reference.ParseRepository(re.Destination)
	if err != nil {
		return Entry{}, bad("destination", err)
	}
	e.Destination = d.String()
	src, glob, err := splitSource(re.Source)
	if err != nil {
		return Entry{}, bad("source", err)
	}
	e.Source, e.Glob = src, glob
	for field, globs := range [][]string{re.Tags, re.Exclude} {
		for i, g := range globs {
			if _, err := pathMatch(g); err != nil {
				return Entry{}, &fieldError{Field: []string{"tags", "exclude"}[field], Index: i, Err: fmt.Errorf("glob %q: %w", g, err)}
			}
		}
	}
	if re.Regex != "" {
		if e.Regex, err = regexp.Compile(re.Regex); err != nil {
			return Entry{}, bad("regex", err)
		}
	}
	if re.Semver != "" {
		rg, err := semver.ParseRange(re.Semver)
		if err != nil {
			return Entry{}, bad("semver", err)
		}
		e.Range = &rg
	}
	if re.Newest != nil {
		if *re.Newest < 1 {
			return Entry{}, bad("newest", fmt.Errorf("must be a positive integer, got %d", *re.Newest))
		}
		e.Newest = int(*re.Newest)
	}
	for i, d := range re.Digests {
		if _, err := v1.NewHash(d); err != nil {
			return Entry{}, &fieldError{Field: "digests", Index: i, Err: fmt.Errorf("%q: %w", d, err)}
		}
	}
	if len(re.Platforms) > 0 {
		if e.Select, err = platform.ParseSelection(strings.Join(re.Platforms, ",")); err != nil {
			return Entry{}, bad("platforms", err)
		}
		if re.Referrers && !e.Select.IsAll() {
			return Entry{}, bad("referrers", fmt.Errorf("%w with a platform subset (a new manifest): mirror the whole index with its referrers", ErrNotYet))
		}
	}
	return e, nil
}

// IsLayout reports whether s names an OCI layout (oci:PATH).
func IsLayout(s string) bool { return strings.HasPrefix(s, "oci:") }

// splitSource reads a source: a repository, or HOST/PATTERN with glob
// characters in the repository path.
func splitSource(s string) (string, string, error) {
	if !strings.ContainsAny(s, "*?[") {
		r, err := reference.ParseRepository(s)
		if err != nil {
			return "", "", err
		}
		return r.String(), "", nil
	}
	host, glob, ok := strings.Cut(s, "/")
	if !ok || !reference.LooksLikeHost(host) {
		return "", "", fmt.Errorf("%q: a repository pattern needs its registry (HOST/PATTERN)", s)
	}
	if _, err := pathMatch(glob); err != nil {
		return "", "", fmt.Errorf("pattern %q: %w", glob, err)
	}
	return host, glob, nil
}

// Query is the entry's filters as a tagset query (Regex aside).
func (e *Entry) Query() tagset.Query {
	return tagset.Query{Include: e.Tags, Exclude: e.Exclude, Range: e.Range, Newest: e.Newest}
}

// Filter keeps the tags that pass Tags, Exclude, Range and Regex, in order
// (Newest is applied by Select, which may need creation times).
func (e *Entry) Filter(tags []string) []string {
	kept := e.Query().Filter(tags)
	if e.Regex == nil {
		return kept
	}
	out := kept[:0]
	for _, t := range kept {
		if e.Regex.MatchString(t) {
			out = append(out, t)
		}
	}
	return out
}

// DestinationOf maps a repository found by a glob source to its place
// under the destination prefix: the pattern's literal leading directories
// are dropped (team/* under mirror puts team/app at mirror/app).
func (e *Entry) DestinationOf(repo string) string {
	if e.Glob == "" {
		return e.Destination
	}
	return strings.TrimSuffix(e.Destination, "/") + "/" + strings.TrimPrefix(repo, e.globDir())
}

// globDir is the directory part of Glob before its first pattern
// character ("team/" of "team/*"), which DestinationOf drops.
func (e *Entry) globDir() string {
	lit := e.Glob
	if i := strings.IndexAny(lit, "*?["); i >= 0 {
		lit = lit[:i]
	}
	return lit[:strings.LastIndex(lit, "/")+1]
}

// pathMatch checks glob's syntax as path.Match reads it.
func pathMatch(glob string) (bool, error) { return path.Match(glob, "") }
