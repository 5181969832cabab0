package store

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback starts writing bytes [off, off+n) of f to disk and returns
// without waiting (sync_file_range with SYNC_FILE_RANGE_WRITE). It only
// moves work earlier: durability still comes from the fsync before commit,
// so its errors are ignored.
func startWriteback(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}
