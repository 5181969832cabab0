// Package bounded reads what ctl is given — files named on the command line
// or found in configuration directories, archives and layouts, streams —
// so that none of them can hang ctl or exhaust its memory: only regular
// files are opened, without ever blocking on a FIFO or a device, and every
// whole-file read goes through a cap.
package bounded

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Error is a file ctl refused to read: not a regular file (Kind says what
// it is), or larger than Limit.
type Error struct {
	Path  string
	Kind  string // "a FIFO", "a device", "a directory", "a socket"; "" when too large
	Limit int64  // the cap that was exceeded
}

func (e *Error) Error() string {
	if e.Kind != "" {
		return fmt.Sprintf("%s is %s, not a regular file", e.Path, e.Kind)
	}
	return fmt.Sprintf("%s is larger than the limit of %s", e.Path, FormatSize(e.Limit))
}

// FormatSize writes a limit the way messages and docs state it: whole MiB
// or KiB where it divides, else bytes.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// Open opens path for reading if it is a regular file (symlinks are
// followed). A FIFO, device, socket or directory is refused with an *Error;
// the open itself never blocks on them. It returns the file's size.
func Open(path string) (*os.File, int64, error) {
	return check(os.OpenFile(path, openFlags, 0))
}

// OpenIn is Open for name inside root (os.Root keeps it from escaping).
func OpenIn(root *os.Root, name string) (*os.File, int64, error) {
	return check(root.OpenFile(name, openFlags, 0))
}

func check(f *os.File, err error) (*os.File, int64, error) {
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, 0, &Error{Path: f.Name(), Kind: kind(fi.Mode())}
	}
	return f, fi.Size(), nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	}
	return "not a regular file"
}

// ReadFile reads the regular file path whole, refusing one of more than
// limit bytes (checked before reading, and again while reading, for files
// that grow or lie about their size).
func ReadFile(path string, limit int64) ([]byte, error) {
	f, size, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if size > limit {
		return nil, &Error{Path: path, Limit: limit}
	}
	return ReadAll(f, path, limit)
}

// ReadAll reads r to its end, refusing more than limit bytes; name is what
// the error calls r.
func ReadAll(r io.Reader, name string, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, &Error{Path: name, Limit: limit}
	}
	return b, nil
}
