//go:build !linux

package store

import "os"

// startWriteback does nothing where sync_file_range is not available: the
// fsync before commit writes everything.
func startWriteback(f *os.File, off, n int64) {}
