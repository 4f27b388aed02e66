// Command copytrade is the copy-trading backend: one binary, one subcommand per role.
//
//	copytrade node|router|exchsim|dev|ctl|rebalance|bench|config [flags]
//
// Each subcommand lives in its own file and registers itself in commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/copytrade/copytrade/rpc/kitexlog"
)

// command runs one subcommand and returns the process exit code.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// commands by name; subcommand files add theirs in init.
var commands = map[string]command{
	"exchsim": {"the simulated trading gateway (TradingGateway over Kitex)", runExchsim},
	"ctl":     {"admin CLI for the CopyTrade service", runCtl},
}

func main() {
	kitexlog.Install() // before any Kitex code: serving commands then Use their logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return 2
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "copytrade: unknown subcommand %q\n", args[0])
		usage(stderr)
		return 2
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: copytrade <subcommand> [flags]; subcommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
}
