package dockerfile

import (
	"bytes"
	"strings"
)

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
