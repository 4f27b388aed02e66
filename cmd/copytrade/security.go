package main

// `copytrade security`: the security probes (tools/secprobe) against a cluster of real
// processes started from this binary; the last line is
// "security: probes=N refused=N leaked=N crashed=N". Exit 1 unless every probe was
// refused and nothing crashed.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudwego/kitex/pkg/klog"

	"github.com/copytrade/copytrade/tools/secprobe"
)

func init() {
	commands["security"] = command{"attack a cluster of real processes: every probe must be refused", runSecurity}
}

func runSecurity(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("security", flag.ContinueOnError)
	fs.SetOutput(stderr)
	short := fs.Bool("short", false, "each probe once (the test suite's run)")
	bin := fs.String("bin", "", "copytrade binary to start the cluster from (default: this one)")
	keep := fs.Bool("keep", false, "keep the data directory (logs) after the run")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	klog.SetLevel(klog.LevelError) // refused connections are the point here, not news
	log, _, err := newLogger(*logLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "security:", err)
		return 2
	}
	if *bin == "" {
		if *bin, err = os.Executable(); err != nil {
			fmt.Fprintln(stderr, "security:", err)
			return 1
		}
	}
	dir, err := os.MkdirTemp("", "copytrade-security-")
	if err != nil {
		fmt.Fprintln(stderr, "security:", err)
		return 1
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := secprobe.Run(ctx, secprobe.Config{Binary: *bin, Dir: dir, Short: *short, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "security:", err)
		return 1
	}
	for _, f := range rep.Findings {
		fmt.Fprintln(stdout, "  "+f)
	}
	fmt.Fprintln(stdout, rep.String())
	if !rep.OK() {
		return 1
	}
	return 0
}
