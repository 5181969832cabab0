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
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
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

// line is one physical line of the source.
type line struct {
	num        int // 1-based
	start, end int // byte offsets of the content, without the line ending
	text       string
}

func splitLines(src []byte) []line {
	var lines []line
	off := 0
	for n := 1; off < len(src) || n == 1; n++ {
		i := bytes.IndexByte(src[off:], '\n')
		end, next := len(src), len(src)
		if i >= 0 {
			end, next = off+i, off+i+1
		}
		cend := end
		if cend > off && src[cend-1] == '\r' {
			cend--
		}
		lines = append(lines, line{num: n, start: off, end: cend, text: string(src[off:cend])})
		off = next
		if i < 0 {
			break
		}
	}
	return lines
}

var directiveRE = regexp.MustCompile(`^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.+?)[ \t]*$`)

// instruction is one logical instruction: its text with continuations
// joined, and for each byte of text the offset it came from in the source.
type instruction struct {
	first, last int // 1-based line numbers
	text        string
	offsets     []int
}

// Parse reads src. buildArgs override ARG defaults as docker build's
// --build-arg does; nil means none.
func Parse(src []byte, buildArgs map[string]string) (*File, error) {
	lines := splitLines(src)
	f := &File{Escape: '\\'}
	i := 0
	// Parser directives: only at the very top, before any comment, blank
	// line or instruction.
	seen := map[string]bool{}
	for ; i < len(lines); i++ {
		m := directiveRE.FindStringSubmatch(strings.TrimLeft(lines[i].text, " \t"))
		if m == nil {
			break
		}
		key := strings.ToLower(m[1])
		if key != "escape" && key != "syntax" && key != "check" {
			break // an ordinary comment ends the directives
		}
		if seen[key] {
			return nil, fmt.Errorf("%w: line %d: only one %s parser directive can be used", ErrSyntax, lines[i].num, key)
		}
		seen[key] = true
		if key == "escape" {
			if m[2] != "`" && m[2] != `\` {
				return nil, fmt.Errorf("%w: line %d: invalid escape character %q: must be ` or \\", ErrSyntax, lines[i].num, m[2])
			}
			f.Escape = m[2][0]
		}
	}
	p := parser{file: f, buildArgs: buildArgs, stages: map[string]bool{}, vars: map[string]string{}}
	for i < len(lines) {
		ins, next := nextInstruction(lines, i, f.Escape)
		i = next
		if ins == nil {
			continue
		}
		heredocs, err := p.instruction(ins)
		if err != nil {
			return nil, err
		}
		// Skip here-document bodies: their lines are not instructions.
		for _, h := range heredocs {
			for i < len(lines) {
				t := lines[i].text
				i++
				if h.stripTabs {
					t = strings.TrimLeft(t, "\t")
				}
				if t == h.word {
					break
				}
			}
		}
	}
	return f, nil
}

// nextInstruction gathers the logical instruction that starts at or after
// lines[i], skipping comments and blank lines; it returns nil at the end.
func nextInstruction(lines []line, i int, escape byte) (*instruction, int) {
	var ins *instruction
	for ; i < len(lines); i++ {
		l := lines[i]
		trimmed := strings.TrimLeft(l.text, " \t")
		if trimmed == "" || trimmed[0] == '#' {
			// A comment or blank line: skipped, also inside a continuation.
			continue
		}
		if ins == nil {
			ins = &instruction{first: l.num}
		}
		ins.last = l.num
		lead := len(l.text) - len(trimmed)
		content := l.text
		if len(ins.text) == 0 {
			content = trimmed
		} else {
			lead = 0
		}
		body := strings.TrimRight(content, " \t")
		cont := len(body) > 0 && body[len(body)-1] == escape
		if cont {
			content = body[:len(body)-1]
		}
		for k := 0; k < len(content); k++ {
			ins.offsets = append(ins.offsets, l.start+lead+k)
		}
		ins.text += content
		if !cont {
			return ins, i + 1
		}
	}
	return ins, i
}

type heredoc struct {
	word      string
	stripTabs bool
}

var heredocRE = regexp.MustCompile(`<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)(["']?)`)

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
	case "RUN", "COPY", "ADD":
		var hs []heredoc
		for _, m := range heredocRE.FindAllStringSubmatch(rest, -1) {
			if m[2] != m[4] {
				continue
			}
			hs = append(hs, heredoc{word: m[3], stripTabs: m[1] == "-"})
		}
		return hs, nil
	}
	return nil, nil
}

// field is a whitespace-separated word of an instruction and its position.
type field struct {
	text       string
	start, end int // offsets in the instruction text
}

func fields(s string, base int) []field {
	var out []field
	start := -1
	for k := 0; k <= len(s); k++ {
		space := k == len(s) || s[k] == ' ' || s[k] == '\t'
		switch {
		case space && start >= 0:
			out = append(out, field{s[start:k], base + start, base + k})
			start = -1
		case !space && start < 0:
			start = k
		}
	}
	return out
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
	fr.Start, fr.End = ins.offsets[img.start], ins.offsets[img.end-1]+1
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

func (p *parser) arg(ins *instruction, base int, rest string) error {
	trimmed := strings.TrimLeft(rest, " \t")
	base += len(rest) - len(trimmed)
	words, err := splitArgWords(strings.TrimRight(trimmed, " \t"), p.file.Escape)
	if err != nil {
		return fmt.Errorf("%w: line %d: %w", ErrSyntax, ins.first, err)
	}
	if len(words) == 0 {
		return fmt.Errorf("%w: line %d: ARG requires at least one argument", ErrSyntax, ins.first)
	}
	for _, w := range words {
		name, def, hasDef := strings.Cut(w.text, "=")
		if name == "" {
			return fmt.Errorf("%w: line %d: ARG names can not be blank", ErrSyntax, ins.first)
		}
		a := Arg{Line: ins.first, Name: name}
		if hasDef {
			a.Default = def
			start := base + w.start + len(name) + 1
			if def != "" {
				a.Start, a.End = ins.offsets[start], ins.offsets[base+w.end-1]+1
				a.Contiguous = a.End-a.Start == len(def)
			}
			v, err := p.expand(def, ins.first)
			if err != nil {
				return err
			}
			a.Value, a.IsSet = v, true
		}
		if v, ok := p.buildArgs[name]; ok {
			a.Value, a.IsSet, a.Overridden = v, true, true
		}
		if a.IsSet {
			p.vars[name] = a.Value
		} else {
			delete(p.vars, name)
		}
		p.file.Args = append(p.file.Args, a)
	}
	return nil
}

// splitArgWords splits ARG's operands on unquoted whitespace, keeping
// quotes and escapes for expand to interpret.
func splitArgWords(s string, escape byte) ([]field, error) {
	var words []field
	start := 0
	var cur strings.Builder
	var quote byte
	inWord := false
	for k := 0; k < len(s); k++ {
		c := s[k]
		if !inWord && c != ' ' && c != '\t' {
			start = k
		}
		switch {
		case c == escape && quote != '\'' && k+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[k+1])
			k++
			inWord = true
		case quote != 0:
			cur.WriteByte(c)
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
			cur.WriteByte(c)
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, field{cur.String(), start, k})
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if inWord {
		words = append(words, field{cur.String(), start, len(s)})
	}
	return words, nil
}

func (p *parser) expand(word string, lineNum int) (string, error) {
	v, err := Expand(word, p.file.Escape, func(name string) (string, bool) {
		v, ok := p.vars[name]
		return v, ok
	})
	if err != nil {
		return "", fmt.Errorf("%w: line %d: %w", ErrSyntax, lineNum, err)
	}
	return v, nil
}
