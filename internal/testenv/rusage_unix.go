//go:build unix

package testenv

import (
	"os"
	"runtime"
	"syscall"
)

// maxRSS is the peak resident set size of the finished process ps, in
// bytes (the kernel reports KiB on Linux, bytes on macOS).
func maxRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) << 10
}
