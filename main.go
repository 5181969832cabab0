// Command ctl is a daemonless client for container registries.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ctl-dev/ctl/cmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd.Main(ctx, cmd.SystemIO(), os.Args[1:])
	stop()
	os.Exit(code)
}
