package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/ctl-dev/ctl/pkg/atomicfile"
	flocks "github.com/ctl-dev/ctl/pkg/flock"
)

// Layout of a store directory. The directory is a valid OCI image layout
// (oci-layout, index.json, blobs/sha256/...); the other entries are ctl's own
// and are ignored by OCI tools.
const (
	indexFile  = "index.json"
	layoutFile = "oci-layout"
	blobsDir   = "blobs"
	tmpDir     = "tmp"        // temp files of blobs being written; renamed into blobs/ when verified
	indexLock  = "index.lock" // exclusive flock around every read-modify-write of index.json
	gcLock     = "gc.lock"    // writers hold it shared from their first blob to their index update; prune exclusive
)

// Store is a local image store: an OCI image layout on disk whose index.json
// names images by their full canonical reference. A Store is safe for use by
// several goroutines and several processes at once.
type Store struct {
	dir      string
	absent   bool       // opened by OpenToRead where no store is made yet: reads as empty
	temp     *tempOwner // this process's temp directory, shared by copies
	parallel int        // layers written at once; 0: defaultParallelBlobs
}

// WithParallelBlobs returns a Store like s whose WriteImage and WriteIndex
// stream at most n layers at once (n < 1: defaultParallelBlobs).
func (s *Store) WithParallelBlobs(n int) *Store {
	c := *s
	c.parallel = n
	return &c
}

func (s *Store) parallelBlobs() int {
	if s.parallel < 1 {
		return defaultParallelBlobs
	}
	return s.parallel
}

// DefaultDir is where the store lives unless the caller names another:
// $CTL_STORE, else $XDG_DATA_HOME/ctl, else ~/.local/share/ctl.
func DefaultDir() (string, error) {
	if d := os.Getenv("CTL_STORE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "ctl"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", &DirError{Err: err}
	}
	return filepath.Join(home, ".local", "share", "ctl"), nil
}

// Open opens the store at dir, creating an empty layout there if none exists.
// A directory that exists but holds something other than an OCI layout with
// content is refused, so that a mistyped directory never gets scribbled over.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("opening the image store: %w: empty directory name", ErrInvalidInput)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the image store %s: %w", dir, err)
	}
	s := &Store{dir: abs, temp: &tempOwner{}}
	if _, err := os.Stat(s.path(layoutFile)); err == nil {
		return s, nil
	}
	if err := s.create(); err != nil {
		return nil, fmt.Errorf("creating the image store in %s: %w", abs, err)
	}
	return s, nil
}

// OpenExisting opens the store at dir if one is there, and creates
// nothing: without one it fails with an error matching fs.ErrNotExist.
// For commands that only look in the store.
func OpenExisting(dir string) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, layoutFile)); err != nil {
		return nil, fmt.Errorf("opening the image store %s: %w", dir, err)
	}
	return Open(dir)
}

// OpenToRead opens the store at dir for a command that only reads it
// (images, image inspect, save): it creates nothing, neither the store nor
// a lock file. Where no store is made yet (dir or its oci-layout missing)
// it reads as an empty store.
func OpenToRead(dir string) (*Store, error) {
	s, err := OpenExisting(dir)
	if errors.Is(err, fs.ErrNotExist) {
		abs, aerr := filepath.Abs(dir)
		if aerr != nil {
			return nil, fmt.Errorf("opening the image store %s: %w", dir, aerr)
		}
		return &Store{dir: abs, absent: true, temp: &tempOwner{}}, nil
	}
	return s, err
}

// create makes the store's layout under its index lock, so that processes
// using a store for the first time at once never see each other's half of
// it; a store half-created by a process that crashed is completed.
func (s *Store) create() error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	unlock, err := s.lock(indexLock, syscall.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(s.path(layoutFile)); err == nil {
		return nil // another process made it while we waited
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		switch n := e.Name(); {
		case n == indexFile, n == blobsDir, n == tmpDir, n == indexLock, n == gcLock:
		case atomicfile.IsTemp(n, indexFile), atomicfile.IsTemp(n, layoutFile):
			os.Remove(s.path(n)) // of a crashed creation
		default:
			return fmt.Errorf("%w: %s is not empty and not an image store (no oci-layout file)", ErrInvalidInput, s.dir)
		}
	}
	for _, d := range []string{filepath.Join(blobsDir, "sha256"), tmpDir} {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			return err
		}
	}
	if _, err := os.Stat(s.path(indexFile)); errors.Is(err, os.ErrNotExist) {
		if err := atomicfile.WriteFile(s.path(indexFile), []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`+"\n")); err != nil {
			return err
		}
	}
	// oci-layout last: its presence means the store is complete.
	return atomicfile.WriteFile(s.path(layoutFile), []byte(`{"imageLayoutVersion":"1.0.0"}`+"\n"))
}

// Dir is the store's directory (absolute).
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.dir}, elem...)...)
}

// lockDir takes a flock on the store's directory itself: readers (Hold)
// lock it shared, which needs no lock file (none is made in a store that
// is only read) and no write access; Prune locks it exclusively.
func (s *Store) lockDir(how int) (func(), error) {
	f, err := os.Open(s.dir)
	if err != nil {
		return nil, &DirError{Dir: s.dir, Err: err}
	}
	return flock(f, how)
}

// lock takes a flock on one of the store's lock files and returns its release.
// The kernel drops the lock when the process dies, so a killed ctl never
// leaves the store locked.
func (s *Store) lock(name string, how int) (func(), error) {
	f, err := os.OpenFile(s.path(name), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, &DirError{Dir: s.dir, Err: err}
	}
	return flock(f, how)
}

// flock locks f (closing it if that fails) and returns the release, which
// unlocks and closes it.
func flock(f *os.File, how int) (func(), error) {
	release, err := flocks.Lock(f, how)
	if err != nil {
		return nil, fmt.Errorf("locking the image store: %w", err)
	}
	return release, nil
}
