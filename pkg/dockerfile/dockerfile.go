// Package dockerfile reads the FROM instructions of a Dockerfile the way
// BuildKit does, keeping the line numbers and byte offsets needed to report
// on them and to rewrite them in place. It is pure: no files, no network.
//
// What it understands:
//   - parser directives at the top of the file (# escape=` and # syntax=...),
//   - comments (a line whose first non-blank character is #), blank lines,
//     and lines continued with the escape character, including comment and
//     blank lines inside a continued instruction,
//   - here-documents of RUN, COPY and ADD (<<EOF ... EOF), whose lines are
//     content, not instructions,
//   - FROM [--platform=P] IMAGE [AS NAME], with IMAGE naming an earlier
//     stage (case-insensitively) marked as a stage, not a base,
//   - ARG instructions before the first FROM, whose defaults (or the build
//     arguments given) are substituted into FROM: $VAR, ${VAR},
//     ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word}, quotes and the
//     escape character as BuildKit's shell lexer treats them.
package dockerfile

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// ErrSyntax is wrapped by every error Parse returns.
var ErrSyntax = errors.New("dockerfile syntax error")

// File is what Parse learnt from a Dockerfile.
type File struct {
	Escape byte   // the escape character: '\\' unless a directive changed it to '`'
	Args   []Arg  // ARG instructions before the first FROM, in order
	Froms  []From // every FROM instruction, in order
}

// Arg is one global build argument (declared before the first FROM).
type Arg struct {
	Line  int    // 1-based line of its ARG instruction
	Name  string // the argument name
	Value string // its value after expansion: the build argument if given, else the default
	IsSet bool   // whether it has a value (a default or a build argument)
	// Default is the default as written ("" when none); Start and End are
	// its byte offsets in the source when it is not empty, and Contiguous
	// is false when it spans a line continuation.
	Default    string
	Start, End int
	Contiguous bool
	// Overridden is set when a build argument replaced the default.
	Overridden bool
}

// From is one FROM instruction.
type From struct {
	Line    int    // 1-based line where the instruction starts
	EndLine int    // 1-based line where it ends (continuations)
	Raw     string // the image operand as written, before substitution
	Image   string // the image operand after ARG substitution and quote removal
	// Platform is the --platform flag after substitution ("" when absent).
	Platform string
	Stage    string // the AS name, lowercased ("" when absent)
	// StageRef is set when Image names an earlier stage: not a base image.
	StageRef bool
	// Start and End are the byte offsets of Raw in the source, for rewriting;
	// Contiguous is false when Raw spans a line continuation, and so cannot
	// be replaced in place.
	Start, End int
	Contiguous bool
}

// Scratch reports whether the FROM starts from the empty image.
func (f From) Scratch() bool { return strings.EqualFold(f.Image, "scratch") }

// IsBase reports whether the FROM names an image to pull: neither an
// earlier stage nor scratch.
func (f From) IsBase() bool { return !f.StageRef && !f.Scratch() }

// HasVariables reports whether the image operand uses build arguments.
func (f From) HasVariables() bool { return strings.ContainsAny(f.Raw, "$\"'") }

// The regexps are compiled on first use, not when ctl starts: most
// commands never parse a Dockerfile.
var directiveRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$`)
})

// Parse reads src. buildArgs override ARG defaults as docker build's
// --build-arg does; nil means none. Time and memory are linear in the size
// of src, which is at most MaxSize.
func Parse(src []byte, buildArgs map[string]string) (*File, error) {
	if len(src) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, more than the limit of %d MiB", ErrSyntax, len(src), MaxSize>>20)
	}
	sc := newLineScanner(src)
	f := &File{Escape: '\\'}
	// Parser directives: only at the very top, before any comment, blank
	// line or instruction.
	seen := map[string]bool{}
	for l, ok := sc.peek(); ok; l, ok = sc.peek() {
		m := directiveRE().FindStringSubmatch(strings.TrimLeft(l.text, " \t"))
		if m == nil {
			break
		}
		key := strings.ToLower(m[1])
		if key != "escape" && key != "syntax" && key != "check" {
			break // an ordinary comment ends the directives
		}
		if seen[key] {
			return nil, fmt.Errorf("%w: line %d: only one %s parser directive can be used", ErrSyntax, l.num, key)
		}
		seen[key] = true
		if key == "escape" {
			if m[2] != "`" && m[2] != `\` {
				return nil, fmt.Errorf("%w: line %d: invalid escape character %q: must be ` or \\", ErrSyntax, l.num, m[2])
			}
			f.Escape = m[2][0]
		}
		sc.next()
	}
	p := parser{file: f, buildArgs: buildArgs, stages: map[string]bool{}, vars: map[string]string{}}
	for ins := nextInstruction(sc, f.Escape); ins != nil; ins = nextInstruction(sc, f.Escape) {
		heredocs, err := p.instruction(ins)
		if err != nil {
			return nil, err
		}
		// Skip here-document bodies: their lines are not instructions.
		for _, h := range heredocs {
			for l, ok := sc.next(); ok; l, ok = sc.next() {
				t := l.text
				if h.stripTabs {
					t = strings.TrimLeft(t, "\t")
				}
				if t == h.word {
					break
				}
			}
		}
	}
	if len(f.Froms) == 0 {
		return nil, fmt.Errorf("%w: no FROM instruction: a Dockerfile has at least one build stage", ErrSyntax)
	}
	return f, nil
}

type heredoc struct {
	word      string
	stripTabs bool
}

var heredocRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)(["']?)`)
})

type parser struct {
	file      *File
	buildArgs map[string]string
	stages    map[string]bool
	vars      map[string]string // global ARGs with a value
}

// instruction handles one logical instruction and returns the
// here-documents that follow it.
func (p *parser) instruction(ins *instruction) ([]heredoc, error) {
	text := ins.text
	kw, rest := text, ""
	if k := strings.IndexAny(text, " \t"); k >= 0 {
		kw, rest = text[:k], text[k:]
	}
	switch strings.ToUpper(kw) {
	case "FROM":
		return nil, p.from(ins, len(kw), rest)
	case "ARG":
		if len(p.file.Froms) == 0 {
			return nil, p.arg(ins, len(kw), rest)
		}
		return nil, nil
	}
	// Only ARG may come before the first FROM, as docker build says.
	if len(p.file.Froms) == 0 {
		return nil, fmt.Errorf("%w: line %d: %s before the first FROM: no build stage in current context", ErrSyntax, ins.first, keyword(kw))
	}
	switch strings.ToUpper(kw) {
	case "RUN", "COPY", "ADD":
		var hs []heredoc
		for _, m := range heredocRE().FindAllStringSubmatch(rest, -1) {
			if m[2] != m[4] {
				continue
			}
			hs = append(hs, heredoc{word: m[3], stripTabs: m[1] == "-"})
		}
		return hs, nil
	}
	return nil, nil
}

// keyword names an instruction's first word in an error: as written when
// it is a word, quoted and cut short when it is not (a binary file).
func keyword(kw string) string {
	if len(kw) <= 16 && strings.Trim(strings.ToUpper(kw), "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
		return strings.ToUpper(kw)
	}
	if len(kw) > 16 {
		kw = kw[:16] + "..."
	}
	return fmt.Sprintf("%q", kw)
}

func (p *parser) from(ins *instruction, base int, rest string) error {
	fs := fields(rest, base)
	fr := From{Line: ins.first, EndLine: ins.last}
	for len(fs) > 0 && strings.HasPrefix(fs[0].text, "--") {
		name, value, ok := strings.Cut(fs[0].text[2:], "=")
		if !ok {
			return fmt.Errorf("%w: line %d: FROM flag --%s needs a value (--%s=VALUE)", ErrSyntax, ins.first, name, name)
		}
		if strings.ToLower(name) != "platform" {
			return fmt.Errorf("%w: line %d: unknown FROM flag --%s", ErrSyntax, ins.first, name)
		}
		v, err := p.expand(value, ins.first)
		if err != nil {
			return err
		}
		fr.Platform = v
		fs = fs[1:]
	}
	switch {
	case len(fs) == 3 && strings.EqualFold(fs[1].text, "as"):
		fr.Stage = strings.ToLower(fs[2].text)
	case len(fs) != 1:
		return fmt.Errorf("%w: line %d: FROM requires either one or three arguments (IMAGE [AS NAME])", ErrSyntax, ins.first)
	}
	img := fs[0]
	fr.Raw = img.text
	fr.Start, fr.End = ins.offset(img.start), ins.offset(img.end-1)+1
	fr.Contiguous = fr.End-fr.Start == img.end-img.start
	v, err := p.expand(img.text, ins.first)
	if err != nil {
		return err
	}
	if v == "" {
		return fmt.Errorf("%w: line %d: base name (%s) should not be blank", ErrSyntax, ins.first, img.text)
	}
	fr.Image = v
	fr.StageRef = p.stages[strings.ToLower(v)]
	if fr.Stage != "" {
		p.stages[fr.Stage] = true
	}
	p.file.Froms = append(p.file.Froms, fr)
	return nil
}

// MaxSize is the largest Dockerfile Parse reads: real ones are a few KiB.
const MaxSize = 32 << 20
