// Package tempdir makes temporary directories that a later process can
// tell abandoned, whatever ended their owner. The owner of DIR holds an
// exclusive flock on DIR.lock (made beside it) for as long as it lives:
// the kernel drops the lock when the process ends, however it ends (a
// SIGKILL too), so a lock that can be taken marks a dead owner, and its
// directory can go. No guess by age: a directory still in use is never
// removed.
package tempdir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// LockSuffix ends the name of a directory's lock file.
const LockSuffix = ".lock"

// Dir is a directory claimed by this process.
type Dir struct {
	Path string
	lock *os.File // held open (and locked) until Release or the process ends
}

// Claim removes the directories under root named prefix* whose owners are
// dead, then makes one of its own there, claimed until Release.
func Claim(root, prefix string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	Reclaim(root, prefix)
	dir, err := os.MkdirTemp(root, prefix)
	if err != nil {
		return nil, err
	}
	// The lock file appears under its name already locked (made under
	// another, locked, then renamed): no reclaimer can take it for a dead
	// owner's.
	f, err := os.CreateTemp(root, "."+prefix+"new-*")
	if err == nil {
		if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			err = os.Rename(f.Name(), dir+LockSuffix)
		}
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}
	if err != nil {
		os.Remove(dir)
		return nil, err
	}
	return &Dir{Path: dir, lock: f}, nil
}

// Release removes the directory and its lock file.
func (d *Dir) Release() error {
	err := os.RemoveAll(d.Path)
	os.Remove(d.Path + LockSuffix)
	d.lock.Close()
	return err
}

// Reclaim removes the directories under root named prefix* whose owners
// are dead, and returns the bytes they held.
func Reclaim(root, prefix string) int64 {
	ents, err := os.ReadDir(root)
	if err != nil {
		return 0
	}
	var n int64
	for _, e := range ents {
		// Not the lock files not renamed yet (.PREFIXnew-*): one may be a
		// claim's between its creation and its flock.
		if name := e.Name(); strings.HasPrefix(name, prefix) && strings.HasSuffix(name, LockSuffix) {
			n += reclaimOwner(filepath.Join(root, strings.TrimSuffix(name, LockSuffix)))
		}
	}
	return n
}

// reclaimOwner removes dir and its lock file if no live process holds the
// lock.
func reclaimOwner(dir string) int64 {
	lockPath := dir + LockSuffix
	f, err := os.OpenFile(lockPath, os.O_RDWR, 0)
	if err != nil {
		return 0
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return 0 // a live owner
	}
	// Another reclaimer may have removed this lock file between our open
	// and our lock: act only on the lock file that is still there.
	held, err1 := f.Stat()
	now, err2 := os.Lstat(lockPath)
	if err1 != nil || err2 != nil || !os.SameFile(held, now) {
		return 0
	}
	n := RemoveAllCounted(dir)
	os.Remove(lockPath)
	return n
}

// Orphaned reports whether dir has no lock file (its claim crashed before
// making one, or something else made it).
func Orphaned(dir string) bool {
	_, err := os.Lstat(dir + LockSuffix)
	return errors.Is(err, fs.ErrNotExist)
}

// RemoveAllCounted removes dir and returns the bytes of the files it held.
func RemoveAllCounted(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, de fs.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			if fi, err := de.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	os.RemoveAll(dir)
	return n
}
