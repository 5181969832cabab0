package testenv

import (
	"slices"
	"testing"
)

func TestScreen(t *testing.T) {
	t.Parallel()
	s := NewScreen(10)
	s.Write([]byte("a: 1\nb: 1\ntotal\n"))
	s.Write([]byte("\r\x1b[3A\x1b[2Ka: done\n\x1b[2Kb: 2\n\x1b[J"))
	if got, want := s.Lines(), []string{"a: done", "b: 2"}; !slices.Equal(got, want) || s.Wraps != 0 || s.Column() != 0 {
		t.Errorf("lines %q wraps %d column %d, want %q", got, s.Wraps, s.Column(), want)
	}
	s.Write([]byte("0123456789ab\n"))
	if got := s.Lines(); s.Wraps != 1 || got[len(got)-1] != "ab" {
		t.Errorf("a line wider than the screen: lines %q wraps %d", got, s.Wraps)
	}
}
