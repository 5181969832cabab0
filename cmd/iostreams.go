package cmd

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the standard streams of one ctl invocation, with what is
// known about them (terminal or not). Tests build one
// with TestIO and set the TTY flags they want to exercise.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	StdinTTY  bool
	StdoutTTY bool
	StderrTTY bool
	// ErrWidth is the width of the terminal on stderr, asked each time
	// (the user may resize it); nil or 0 when unknown.
	ErrWidth func() int
}

// SystemIO returns the process's own streams.
func SystemIO() *IOStreams {
	isTTY := func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
	s := &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		StdinTTY:  isTTY(os.Stdin),
		StdoutTTY: isTTY(os.Stdout),
		StderrTTY: isTTY(os.Stderr),
	}
	if s.StderrTTY {
		s.ErrWidth = func() int {
			w, _, err := term.GetSize(int(os.Stderr.Fd()))
			if err != nil {
				return 0
			}
			return w
		}
	}
	return s
}

// TestIO returns streams backed by buffers, none of them a terminal.
func TestIO(stdin string) (*IOStreams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: bytes.NewBufferString(stdin), Out: out, ErrOut: errOut}, out, errOut
}
