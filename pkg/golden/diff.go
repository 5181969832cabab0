package golden

import (
	"fmt"
	"strings"
)

// UnifiedDiff returns a unified diff (3 lines of context) from a to b, both
// named name, or "" when they are equal. It compares line by line, which is
// exact for Pin's edits: they change lines in place and never add or remove
// one. Inputs with different line counts are shown as one hunk replacing
// everything.
func UnifiedDiff(name string, a, b []byte) string {
	if string(a) == string(b) {
		return ""
	}
	al, bl := splitKeep(string(a)), splitKeep(string(b))
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", name, name)
	if len(al) != len(bl) {
		writeHunk(&sb, al, bl, 0, len(al), 0, len(bl))
		return sb.String()
	}
	const ctx = 3
	for i := 0; i < len(al); {
		if al[i] == bl[i] {
			i++
			continue
		}
		// A hunk from the first change, extended while changes are within
		// 2*ctx lines of each other.
		start := max(0, i-ctx)
		end := i + 1
		for j := i + 1; j < len(al) && j <= end+2*ctx-1; j++ {
			if al[j] != bl[j] {
				end = j + 1
			}
		}
		stop := min(len(al), end+ctx)
		writeHunk(&sb, al, bl, start, stop, start, stop)
		i = stop
	}
	return sb.String()
}

func writeHunk(sb *strings.Builder, al, bl []string, as, ae, bs, be int) {
	fmt.Fprintf(sb, "@@ -%s +%s @@\n", hunkRange(as, ae-as), hunkRange(bs, be-bs))
	if len(al) == len(bl) {
		for k := as; k < ae; k++ {
			if al[k] == bl[k] {
				writeLine(sb, " ", al[k])
				continue
			}
			writeLine(sb, "-", al[k])
			writeLine(sb, "+", bl[k])
		}
		return
	}
	for _, l := range al[as:ae] {
		writeLine(sb, "-", l)
	}
	for _, l := range bl[bs:be] {
		writeLine(sb, "+", l)
	}
}

func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start + 1)
	}
	if n == 0 {
		return fmt.Sprintf("%d,0", start)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func writeLine(sb *strings.Builder, mark, l string) {
	sb.WriteString(mark)
	sb.WriteString(l)
	if !strings.HasSuffix(l, "\n") {
		sb.WriteString("\n\\ No newline at end of file\n")
	}
}

// splitKeep splits s into lines, each keeping its "\n".
func splitKeep(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}
