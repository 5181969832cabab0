package dockerfile

import (
	"sort"
	"strings"
)

// line is one physical line of the source.
type line struct {
	num        int // 1-based
	start, end int // byte offsets of the content, without the line ending
	text       string
}

// lineScanner yields the physical lines of a source one at a time: nothing
// is kept per line, so a file of millions of short lines costs no more than
// its bytes.
type lineScanner struct {
	src   string // one copy of the source; every line's text is a slice of it
	off   int    // start of the next line
	after int    // start of the line after it, once peeked
	num   int    // number of the next line
	done  bool
}

// newLineScanner starts after a UTF-8 byte order mark, as buildkit's
// parser does (editors on Windows write one); offsets stay those of src.
func newLineScanner(src []byte) *lineScanner {
	sc := &lineScanner{src: string(src), num: 1}
	if strings.HasPrefix(sc.src, "\ufeff") {
		sc.off = len("\ufeff")
	}
	return sc
}

// peek returns the next line without consuming it; false at the end. An
// empty source is one empty line; a final newline ends the last line.
func (sc *lineScanner) peek() (line, bool) {
	if sc.done {
		return line{}, false
	}
	end, after := len(sc.src), len(sc.src)
	if i := strings.IndexByte(sc.src[sc.off:], '\n'); i >= 0 {
		end, after = sc.off+i, sc.off+i+1
	}
	sc.after = after
	cend := end
	if cend > sc.off && sc.src[cend-1] == '\r' {
		cend--
	}
	return line{num: sc.num, start: sc.off, end: cend, text: sc.src[sc.off:cend]}, true
}

// next returns the next line and consumes it.
func (sc *lineScanner) next() (line, bool) {
	l, ok := sc.peek()
	if ok {
		sc.off, sc.num, sc.done = sc.after, sc.num+1, sc.after >= len(sc.src)
	}
	return l, ok
}

// instruction is one logical instruction: its text with continuations
// joined, and where each piece of it came from in the source.
type instruction struct {
	first, last int // 1-based line numbers
	text        string
	pieces      []piece // in order of at
}

// piece is a run of an instruction's text copied from one line: text[at:]
// starts at byte src of the source.
type piece struct{ at, src int }

// offset is the source offset of byte k of the instruction's text.
func (ins *instruction) offset(k int) int {
	i := sort.Search(len(ins.pieces), func(i int) bool { return ins.pieces[i].at > k }) - 1
	return ins.pieces[i].src + k - ins.pieces[i].at
}

// nextInstruction gathers the logical instruction that starts at the next
// line or after, skipping comments and blank lines; it returns nil at the
// end. Joining is linear in the instruction's length, however many lines
// it spans.
func nextInstruction(sc *lineScanner, escape byte) *instruction {
	var ins *instruction
	var text strings.Builder
	defer func() {
		if ins != nil {
			ins.text = text.String()
		}
	}()
	for {
		l, ok := sc.next()
		if !ok {
			return ins
		}
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
		if text.Len() == 0 {
			content = trimmed
		} else {
			lead = 0
		}
		body := strings.TrimRight(content, " \t")
		cont := len(body) > 0 && body[len(body)-1] == escape
		if cont {
			content = body[:len(body)-1]
		}
		if content != "" {
			ins.pieces = append(ins.pieces, piece{at: text.Len(), src: l.start + lead})
		}
		text.WriteString(content)
		if !cont {
			return ins
		}
	}
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
