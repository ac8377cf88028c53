// Command lakeport moves data between a Delta lakehouse and a customer-engagement platform.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lakeport/lakeport/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
