// Package flock takes advisory locks (flock(2)) on files and directories.
// The kernel drops a lock when its process ends, however it ends (SIGKILL
// too), so a killed ctl never leaves anything locked.
package flock

import (
	"errors"
	"os"
	"syscall"
)

// Lock locks f (how: syscall.LOCK_SH or syscall.LOCK_EX), waiting for
// it, and returns the release, which unlocks and closes f. f is closed if
// the lock fails.
func Lock(f *os.File, how int) (func(), error) {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			f.Close()
			return nil, err
		}
		return func() {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
		}, nil
	}
}

// Dir locks the directory dir itself (see Lock): no lock file is made in
// it.
func Dir(dir string, how int) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	return Lock(f, how)
}
