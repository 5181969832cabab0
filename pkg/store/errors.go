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
