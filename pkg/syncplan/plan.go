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
// Unknown keys are errors, reported as FILE:LINE.
package syncplan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"

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

// Parse reads a plan from r; file names it in errors.
func Parse(file string, r io.Reader) (*Plan, error) {
	b, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, &PlanError{File: file, Err: err}
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var raw rawPlan
	if err := dec.Decode(&raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &PlanError{File: file, Err: errors.New("empty plan: want a list of entries under the sync key")}
		}
		return nil, yamlError(file, err)
	}
	// The lines of the entries, for the errors of their values.
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	lines := entryLines(&doc)
	if len(raw.Sync) == 0 {
		return nil, &PlanError{File: file, Line: 1, Err: errors.New("no entries: want a list of entries under the sync key")}
	}
	p := &Plan{}
	for i, re := range raw.Sync {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		e, err := re.entry()
		if err != nil {
			return nil, &PlanError{File: file, Line: line, Err: err}
		}
		e.Line = line
		p.Entries = append(p.Entries, e)
	}
	return p, nil
}

// yamlError turns a yaml.v3 error into FILE:LINE: message.
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = strings.TrimSpace(strings.SplitN(msg, "\n", 2)[0])
	if m := yamlLine.FindStringSubmatchIndex(msg); m != nil {
		n, _ := strconv.Atoi(msg[m[2]:m[3]])
		rest := msg[:m[0]] + msg[m[1]:]
		rest = strings.Replace(rest, " in type syncplan.rawEntry", "", 1)
		rest = strings.Replace(rest, " in type syncplan.rawPlan", "", 1)
		return &PlanError{File: file, Line: n, Err: errors.New(strings.TrimSpace(rest))}
	}
	return &PlanError{File: file, Err: errors.New(msg)}
}

// entryLines are the lines of the items of the top-level sync: list.
func entryLines(doc *yaml.Node) []int {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "sync" {
			var lines []int
			for _, it := range m.Content[i+1].Content {
				lines = append(lines, it.Line)
			}
			return lines
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
	return rawEntry{Source: source, Destination: destination, Tags: f.Tags, Exclude: f.Exclude,
		Regex: f.Regex, Semver: f.Semver, Newest: newest, Digests: f.Digests,
		Platforms: f.Platforms, Referrers: f.Referrers, Moving: &moving}.entry()
}

// entry checks re and builds its Entry.
func (re rawEntry) entry() (Entry, error) {
	e := Entry{Tags: re.Tags, Exclude: re.Exclude, Digests: re.Digests,
		Platforms: re.Platforms, Referrers: re.Referrers, Moving: re.Moving == nil || *re.Moving}
	if re.Source == "" || re.Destination == "" {
		return Entry{}, errors.New("an entry needs a source and a destination")
	}
	if IsLayout(re.Source) || IsLayout(re.Destination) {
		return Entry{}, fmt.Errorf("an OCI layout is the sync's source or destination as a whole (from or to oci:PATH), not an entry's: entries name the repositories it holds")
	}
	d, err := reference.ParseRepository(re.Destination)
	if err != nil {
		return Entry{}, fmt.Errorf("destination: %w", err)
	}
	e.Destination = d.String()
	src, glob, err := splitSource(re.Source)
	if err != nil {
		return Entry{}, err
	}
	e.Source, e.Glob = src, glob
	for _, g := range append(append([]string{}, re.Tags...), re.Exclude...) {
		if _, err := pathMatch(g); err != nil {
			return Entry{}, fmt.Errorf("tag glob %q: %w", g, err)
		}
	}
	if re.Regex != "" {
		if e.Regex, err = regexp.Compile(re.Regex); err != nil {
			return Entry{}, fmt.Errorf("regex: %w", err)
		}
	}
	if re.Semver != "" {
		rg, err := semver.ParseRange(re.Semver)
		if err != nil {
			return Entry{}, err
		}
		e.Range = &rg
	}
	if re.Newest != nil {
		if *re.Newest < 1 {
			return Entry{}, fmt.Errorf("newest: must be a positive integer, got %d", *re.Newest)
		}
		e.Newest = int(*re.Newest)
	}
	for _, d := range re.Digests {
		if _, err := v1.NewHash(d); err != nil {
			return Entry{}, fmt.Errorf("digest %q: %w", d, err)
		}
	}
	if len(re.Platforms) > 0 {
		if e.Select, err = platform.ParseSelection(strings.Join(re.Platforms, ",")); err != nil {
			return Entry{}, fmt.Errorf("platforms: %w", err)
		}
		if re.Referrers && !e.Select.IsAll() {
			return Entry{}, fmt.Errorf("referrers of a platform subset (a new manifest) are %w: mirror the whole index with its referrers", ErrNotYet)
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
			return "", "", fmt.Errorf("source: %w", err)
		}
		return r.String(), "", nil
	}
	host, glob, ok := strings.Cut(s, "/")
	if !ok || !reference.LooksLikeHost(host) {
		return "", "", fmt.Errorf("source %q: a repository pattern needs its registry (HOST/PATTERN)", s)
	}
	if _, err := pathMatch(glob); err != nil {
		return "", "", fmt.Errorf("source pattern %q: %w", glob, err)
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
