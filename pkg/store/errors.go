// Package store is ctl's local image store: an OCI image layout on disk,
// content-addressed and safe under concurrent processes and crashes.
package store

import "errors"

// Sentinel errors of the store.
var (
	// ErrNotFound: no image in the store answers to the reference or ID.
	ErrNotFound = errors.New("no such image")
	// ErrInvalidInput: an archive or layout that cannot be read or is unsafe.
	ErrInvalidInput = errors.New("invalid input")
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
