// Command ctl is a daemonless client for container registries.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ctl-dev/ctl/cmd"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		// The command winds down (its temp files removed) and exits with
		// cmd.ExitInterrupted. One still running after the grace period, or
		// a second signal, ends here: the store never depends on cleanup,
		// and the next write reclaims what is left.
		cancel()
		select {
		case <-sigs:
		case <-time.After(cmd.InterruptGrace):
		}
		fmt.Fprintf(os.Stderr, "interrupted: ctl did not stop within %v and was ended\n", cmd.InterruptGrace)
		os.Exit(cmd.ExitInterrupted)
	}()
	os.Exit(cmd.Main(ctx, cmd.SystemIO(), os.Args[1:]))
}
