// Package store is ctl's local image store: an OCI image layout on disk,
// content-addressed and safe under concurrent processes and crashes.
package store

import "errors"

// writeError is a failure to write to the store's disk (full, over quota,
// read-only): never the input's fault, so never ErrInvalidInput.
type writeError struct{ err error }

func (e *writeError) Error() string { return "writing to the image store: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// isWriteError tells whether err is a writeError.
func isWriteError(err error) bool { return errors.As(err, new(*writeError)) }

// Sentinel errors of the store.
var (
	// ErrNotFound: no image in the store answers to the reference or ID.
	ErrNotFound = errors.New("no such image")
	// ErrInvalidInput: an archive or layout that cannot be read or is unsafe.
	ErrInvalidInput = errors.New("invalid input")
	// ErrCorrupt: content that does not match the digest or size its
	// manifest declares (of an image being written; Load reports it as
	// ErrInvalidInput too, the archive being the user's).
	ErrCorrupt = errors.New("corrupt content")
)

// DirError says the store's directory cannot be used: with Dir empty,
// DefaultDir found no place for it (no home directory); else the lock
// files in Dir cannot be written (a read-only directory).
type DirError struct {
	Dir string
	Err error
}

func (e *DirError) Error() string {
	if e.Dir == "" {
		return "locating the image store: " + e.Err.Error()
	}
	return "locking the image store: " + e.Err.Error()
}

func (e *DirError) Unwrap() error { return e.Err }

// PlatformError is an index that cannot be made as asked: a source image
// whose platform is unknown (Second empty: its config names none), or two
// entries of one platform (First and Second name them). It is invalid
// input.
type PlatformError struct {
	Platform      string // the duplicated platform; empty for an unknown one
	First, Second string // the sources; Second empty for an unknown platform
	// Index is the index source First is an image of (its entry naming
	// no platform either), for an unknown platform.
	Index string
}

func (e *PlatformError) Error() string {
	if e.Second == "" && e.Index != "" {
		return e.First + " has no platform in its config, nor in " + e.Index + "'s entry"
	}
	if e.Second == "" {
		return e.First + " has no platform in its config"
	}
	return e.First + " and " + e.Second + " are both " + e.Platform
}

// Is makes errors.Is(err, ErrInvalidInput) hold.
func (e *PlatformError) Is(target error) bool { return target == ErrInvalidInput }
