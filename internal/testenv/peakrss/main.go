//go:build unix

// Command peakrss runs a command and reports its peak resident set size:
//
//	peakrss OUT BINARY [ARG...]
//
// It exists because the rusage of a process started from a large one is
// wrong on Linux: Go starts children with vfork (the child shares the
// parent's memory until exec), and the kernel carries the parent's
// high-water mark into the child's ru_maxrss at exec. Started from this
// small process instead, BINARY's ru_maxrss is its own. peakrss passes its
// standard streams and environment through, forwards SIGINT, SIGTERM,
// SIGHUP and SIGQUIT, writes BINARY's ru_maxrss in bytes (or "start: ERROR")
// to the file OUT, and ends as BINARY ended: same exit code, or killed by
// the same signal. The kernel kills BINARY if peakrss dies.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: peakrss OUT BINARY [ARG...]")
		os.Exit(2)
	}
	out := os.Args[1]
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = deathSig()
	if err := cmd.Start(); err != nil {
		_ = os.WriteFile(out, []byte("start: "+err.Error()), 0o600)
		os.Exit(127)
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	_ = cmd.Wait()
	ps := cmd.ProcessState
	rss := int64(0)
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss)
		if runtime.GOOS != "darwin" { // KiB on Linux and the BSDs, bytes on macOS
			rss <<= 10
		}
	}
	_ = os.WriteFile(out, []byte(fmt.Sprint(rss)), 0o600)
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		signal.Reset(ws.Signal())
		_ = syscall.Kill(os.Getpid(), ws.Signal())
		select {} // the signal ends the process
	}
	os.Exit(ps.ExitCode())
}
