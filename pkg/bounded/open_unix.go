//go:build unix

package bounded

import "syscall"

// openFlags: O_NONBLOCK so that opening a FIFO with no writer returns at
// once (it is then refused); it has no effect on regular files. O_NOCTTY so
// that a terminal device never becomes ctl's controlling terminal.
const openFlags = syscall.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY | syscall.O_CLOEXEC
