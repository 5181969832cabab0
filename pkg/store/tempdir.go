package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ctl-dev/ctl/pkg/tempdir"
)

// Temp files. Each process writing to the store has a directory of its own
// under tmp/, tmp/w-N/, claimed with package tempdir (an flock on
// tmp/w-N.lock held for as long as the process lives): before a process
// makes its directory it reclaims every dead owner's, so the temp files of
// a load killed midway go at the next write, not at the next prune, and
// never those of a write still running (no guess by age).

// tempPrefix begins the name of each process's temp directory.
const tempPrefix = "w-"

// tempOwner is a Store's claim on its temp directory, made at the first
// write and shared by the copies With* make.
type tempOwner struct {
	once sync.Once
	dir  *tempdir.Dir // held until the process ends
	err  error
}

// tempDir is this process's directory of temp files, claimed (after dead
// owners' are reclaimed) on first use.
func (s *Store) tempDir() (string, error) {
	t := s.temp
	t.once.Do(func() { t.dir, t.err = tempdir.Claim(s.path(tmpDir), tempPrefix) })
	if t.err != nil {
		return "", fmt.Errorf("writing to the image store: %w", t.err)
	}
	return t.dir.Path, nil
}

// reclaimTemp removes the temp directories of dead owners (each claim
// reclaims those before making its own) and what has no owner to ask:
// files directly under tmp/ (of older versions of ctl, or of a claim that
// crashed) and directories without a lock file. It returns the bytes they
// held. Only Prune, which holds gc.lock exclusively, may: no claim is then
// under way.
func (s *Store) reclaimTemp() (int64, error) {
	root := s.path(tmpDir)
	n := tempdir.Reclaim(root, "")
	ents, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return n, nil
	}
	if err != nil {
		return n, err
	}
	for _, e := range ents {
		p := filepath.Join(root, e.Name())
		switch {
		case strings.HasSuffix(e.Name(), tempdir.LockSuffix):
		case e.IsDir():
			if tempdir.Orphaned(p) {
				n += tempdir.RemoveAllCounted(p)
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
