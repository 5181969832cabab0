package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Temp files. Each process writing to the store has a directory of its own
// under tmp/, tmp/w-N/, and holds an exclusive flock on tmp/w-N.lock (made
// after the directory) for as long as it lives: the kernel drops the lock when the process ends, however
// it ends, so a lock that can be taken marks a dead owner. Before a process
// makes its directory it reclaims every dead owner's, so the temp files of
// a load killed midway go at the next write, not at the next prune, and
// never those of a write still running (no guess by age).

const ownerLockSuffix = ".lock"

// tempOwner is a Store's claim on its temp directory, made at the first
// write and shared by the copies With* make.
type tempOwner struct {
	once sync.Once
	dir  string
	lock *os.File // held open (and locked) until the process ends
	err  error
}

// tempDir is this process's directory of temp files, claimed (after dead
// owners' are reclaimed) on first use.
func (s *Store) tempDir() (string, error) {
	t := s.temp
	t.once.Do(func() {
		if _, err := s.reclaimTemp(false); err != nil {
			t.err = err
			return
		}
		t.dir, t.lock, t.err = s.claimTempDir()
	})
	if t.err != nil {
		return "", fmt.Errorf("writing to the image store: %w", t.err)
	}
	return t.dir, nil
}

func (s *Store) claimTempDir() (string, *os.File, error) {
	root := s.path(tmpDir)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp(root, "w-")
	if err != nil {
		return "", nil, err
	}
	// The lock file appears under its name already locked (made under
	// another, locked, then renamed): no reclaimer can take it for a dead
	// owner's.
	f, err := os.CreateTemp(root, "new-*")
	if err == nil {
		if err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			err = os.Rename(f.Name(), dir+ownerLockSuffix)
		}
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}
	if err != nil {
		os.Remove(dir)
		return "", nil, err
	}
	return dir, f, nil
}

// reclaimTemp removes the temp directories of dead owners and returns the
// bytes they held. With loose, it also removes what has no owner to ask:
// files directly under tmp/ (of older versions of ctl, or of a claim that
// crashed) and directories without a lock file. Only Prune, which holds
// gc.lock exclusively, may: no claim is then under way.
func (s *Store) reclaimTemp(loose bool) (int64, error) {
	root := s.path(tmpDir)
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range ents {
		p := filepath.Join(root, e.Name())
		switch {
		case strings.HasSuffix(e.Name(), ownerLockSuffix):
			n += reclaimOwner(strings.TrimSuffix(p, ownerLockSuffix))
		case !loose:
		case e.IsDir():
			if _, err := os.Lstat(p + ownerLockSuffix); errors.Is(err, fs.ErrNotExist) {
				n += removeAllCounted(p)
			}
		default:
			if fi, err := e.Info(); err == nil {
				n += fi.Size()
			}
			os.Remove(p)
		}
	}
	return n, nil
}

// reclaimOwner removes dir and its lock file if no live process holds the
// lock.
func reclaimOwner(dir string) int64 {
	lockPath := dir + ownerLockSuffix
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
	n := removeAllCounted(dir)
	os.Remove(lockPath)
	return n
}

// removeAllCounted removes dir and returns the bytes of the files it held.
func removeAllCounted(dir string) int64 {
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
