// Package atomicfile replaces files whole. What is written goes to a
// temporary file beside the target, is synced, and is renamed over the
// target, and the directory is synced after the rename: a reader, an
// interrupted command or a power cut finds the old file or the new one,
// never part of either, and the new one survives once Write returns. The
// temporary file of a Write killed midway is removed by the next Write of
// its target (see reclaim).
//
// ctl writes every file it replaces this way: the store's index.json and
// oci-layout, archives (save -o, sync --to), sync state and pinned
// Dockerfiles.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// tempInfix joins a target's base name to the random part of its
// temporary file's name: ".NAME.tmp-RANDOM".
const tempInfix = ".tmp-"

// IsTemp tells whether name (a base name) is a temporary file Write made
// for the file base, as one that was killed midway leaves it.
func IsTemp(name, base string) bool { return strings.HasPrefix(name, "."+base+tempInfix) }

// WriteFile replaces path with data (see Write).
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write replaces path with what write writes, as docker's and an editor's
// writes behave otherwise:
//   - a symbolic link is written through: the file it points to is
//     replaced and the link stays a link;
//   - an existing file keeps its permissions; a new one is 0644;
//   - a path that is not a regular file (/dev/stdout, /dev/null, a named
//     pipe) is written into, not renamed over: that would replace a device
//     with a file (as root, /dev/null for the whole machine).
//
// Failures about the temporary file are reported as "writing PATH: ..."
// with the cause kept (errors.Is(err, fs.ErrNotExist) still holds): its
// name means nothing to the user. An error of write's own that is about
// another file passes unchanged. A failure that creating the file hit
// (a missing directory, one not writable) is a *CreateError.
func Write(path string, write func(io.Writer) error) error {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	perm := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return writeInto(path, write)
		}
		perm = fi.Mode().Perm()
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	reclaim(dir, base)
	f, err := createTemp(dir, base)
	if err != nil {
		return &CreateError{Path: path, Err: unwrapPath(err)}
	}
	tmp := f.Name()
	defer f.Close()      // after the rename: the lock is held until then
	defer os.Remove(tmp) // a no-op once renamed
	about := func(err error) error {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == tmp {
			return fmt.Errorf("writing %s: %w", path, pe.Err)
		}
		return err
	}
	if err := write(f); err != nil {
		return about(err)
	}
	for _, step := range []func() error{func() error { return f.Chmod(perm) }, f.Sync} {
		if err := step(); err != nil {
			return about(err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, unwrapPath(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, unwrapPath(err))
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("writing %s: syncing its directory: %w", path, unwrapPath(err))
	}
	return nil
}

// Temporary files of a Write killed midway (SIGKILL, a crash, a power
// cut) are removed by the next Write of the same target, and only those:
// each Write holds an exclusive flock on its temporary file until it has
// renamed it, which the kernel drops when the process ends however it
// ends, so a temporary file that can be locked has no live writer. No
// guess by age: that of a Write under way is never removed.

// createTemp makes a temporary file of base in dir, locked until it is
// closed. A reclaim may remove it between its creation and its lock;
// then another is made.
func createTemp(dir, base string) (*os.File, error) {
	for {
		f, err := os.CreateTemp(dir, "."+base+tempInfix+"*")
		if err != nil {
			return nil, err
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) || errors.Is(err, syscall.EINTR) {
			f.Close() // a reclaim holds it, and removes it
			continue
		}
		// A file system without flock(2) has no reclaim either: the
		// file is written unlocked.
		if err == nil && !sameFile(f, f.Name()) {
			f.Close() // removed by a reclaim before the lock
			continue
		}
		return f, nil
	}
}

// reclaim removes the temporary files of base in dir whose writers are
// gone: those it can lock.
func reclaim(dir, base string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !IsTemp(e.Name(), base) || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		// Only the file still there under its name (another reclaim may
		// have removed it since it was listed).
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil && sameFile(f, p) {
			os.Remove(p)
		}
		f.Close()
	}
}

// sameFile reports whether f is the file at path.
func sameFile(f *os.File, path string) bool {
	held, err1 := f.Stat()
	now, err2 := os.Lstat(path)
	return err1 == nil && err2 == nil && os.SameFile(held, now)
}

// writeInto writes into path, which is not a regular file.
func writeInto(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return &CreateError{Path: path, Err: unwrapPath(err)}
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// CreateError is a file Write could not create or open for writing: a
// missing directory, one not writable, a device that refuses writes.
type CreateError struct {
	Path string
	Err  error
}

func (e *CreateError) Error() string { return "writing " + e.Path + ": " + e.Err.Error() }
func (e *CreateError) Unwrap() error { return e.Err }

// unwrapPath drops the path from an *fs.PathError or *os.LinkError (one
// that names the temporary file), keeping its cause.
func unwrapPath(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

// SyncDir makes the renames and creations of files in dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// maxParallelSyncs bounds the fsyncs SyncFiles runs at once.
const maxParallelSyncs = 32

// SyncFiles makes the content of every file in paths durable, many fsyncs
// at once: the file system folds concurrent fsyncs into a few journal
// commits, where one after another each waits for its own (a load or a
// sync of 300 small images is 900 blobs). The renames and creations of
// the files are made durable by SyncDir on their directory, after.
func SyncFiles(paths []string) error {
	sem := make(chan struct{}, maxParallelSyncs)
	errs := make(chan error, len(paths))
	var wg sync.WaitGroup
	for _, p := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			f, err := os.Open(p)
			if err == nil {
				err = f.Sync()
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when none failed
}
