package testenv

import (
	"strconv"
	"strings"
)

// Screen is a small model of a terminal, enough to check what a user sees
// after a command redraws its progress in place: printable text wraps at
// Cols (counted in Wraps), "\r" returns, "\n" starts a new line, and the ANSI
// sequences progress drawing uses are applied: cursor up (ESC[nA), erase
// line (ESC[2K, ESC[K) and erase below (ESC[J). Other sequences are
// ignored. The screen has no height limit: it never scrolls away.
type Screen struct {
	Cols int
	// Wraps counts the lines written wider than Cols: a terminal wraps
	// them, and a redraw that moves up by lines then leaves stale copies.
	Wraps int

	rows [][]rune
	r, c int
	esc  []byte // an escape sequence being read
}

// NewScreen is an empty screen cols wide.
func NewScreen(cols int) *Screen { return &Screen{Cols: cols, rows: [][]rune{nil}} }

// Write applies terminal output to the screen.
func (s *Screen) Write(p []byte) (int, error) {
	for _, r := range string(p) {
		s.put(r)
	}
	return len(p), nil
}

func (s *Screen) put(r rune) {
	if s.esc != nil {
		s.esc = append(s.esc, string(r)...)
		if len(s.esc) == 2 && r != '[' { // a two-byte escape: ignored
			s.esc = nil
		} else if len(s.esc) > 2 && r >= 0x40 && r <= 0x7e {
			s.csi(string(s.esc[2:len(s.esc)-1]), r)
			s.esc = nil
		}
		return
	}
	switch r {
	case 0x1b:
		s.esc = []byte{0x1b}
	case '\r':
		s.c = 0
	case '\n': // as a tty with onlcr shows it: a new line
		s.down()
		s.c = 0
	default:
		if r < 0x20 {
			return
		}
		if s.c == s.Cols {
			s.Wraps++
			s.down()
			s.c = 0
		}
		row := s.rows[s.r]
		for len(row) <= s.c {
			row = append(row, ' ')
		}
		row[s.c] = r
		s.rows[s.r] = row
		s.c++
	}
}

func (s *Screen) down() {
	s.r++
	if s.r == len(s.rows) {
		s.rows = append(s.rows, nil)
	}
}

func (s *Screen) csi(param string, final rune) {
	n, err := strconv.Atoi(param)
	switch final {
	case 'A':
		if err != nil || n < 1 {
			n = 1
		}
		s.r = max(s.r-n, 0)
	case 'K':
		switch param {
		case "2":
			s.rows[s.r] = nil
		case "", "0":
			if s.c < len(s.rows[s.r]) {
				s.rows[s.r] = s.rows[s.r][:s.c]
			}
		}
	case 'J':
		if param == "" || param == "0" {
			if s.c < len(s.rows[s.r]) {
				s.rows[s.r] = s.rows[s.r][:s.c]
			}
			for i := s.r + 1; i < len(s.rows); i++ {
				s.rows[i] = nil
			}
		}
	}
}

// Lines is what the screen shows, one string per row, trailing blanks and
// trailing empty rows removed.
func (s *Screen) Lines() []string {
	var lines []string
	for _, row := range s.rows {
		lines = append(lines, strings.TrimRight(string(row), " "))
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// Column is the cursor's column: 0 when the output ended with a whole line.
func (s *Screen) Column() int { return s.c }
