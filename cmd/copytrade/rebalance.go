package main

// `copytrade rebalance`: move slots between shard groups through a router
// (tools/rebalance). One progress line per step on stdout, logs on stderr, and a last
// line
//
//	rebalance: moved|aborted migration=M epoch=E slots=... from=G1 to=G2 elapsed=...
//
// Exit codes: 0 moved (or aborted, with --abort), 1 failed (rerun to resume), 2 usage,
// 3 the migration ended aborted without --abort (the slots serve on the source again).

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bytedance/sonic"

	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/tools/rebalance"
)

func init() {
	commands["rebalance"] = command{"move slots between shard groups (freeze, drain, export, import, release; resumable)", runRebalance}
}

func runRebalance(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var g ctlGlobals
	fs := flag.NewFlagSet("rebalance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&g.router, "router", os.Getenv("COPYTRADE_ROUTER"), "router address host:port (env COPYTRADE_ROUTER)")
	fs.StringVar(&g.token, "token", "", "an admin token (else --token-file, else env COPYTRADE_TOKEN)")
	fs.StringVar(&g.tokenFile, "token-file", "", "a file holding an admin token")
	slots := slotsFlag(fs, "slots", "slots to move: ranges and numbers, e.g. 100-199,300")
	from := fs.Uint("from", 0, "the source group")
	to := fs.Uint("to", 0, "the target group")
	migration := fs.Int64("migration", 0, "the migration ID (default: derived from slots, groups and epoch, so a rerun finds it)")
	stateFile := fs.String("state", "", "the progress file (default: rebalance-FROM-to-TO-HASH.json in the current directory)")
	abort := fs.Bool("abort", false, "abort the migration instead: the target refuses it forever, then the source serves the slots again (refused once imported: the move is finished instead)")
	drain := fs.Duration("drain-timeout", 30*time.Second, "how long to wait for the frozen slots' pending orders; past it the migration is aborted")
	stepTimeout := fs.Duration("step-timeout", 60*time.Second, "how long one step is retried after transient failures (no leader, unavailable)")
	callTimeout := fs.Duration("call-timeout", 30*time.Second, "the deadline of one RPC")
	asJSON := fs.Bool("json", false, "print the final report as JSON instead of the summary line")
	logLevel := fs.String("log-level", "info", "log level on stderr: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rebalance: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	log, _, err := newLogger(*logLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "rebalance:", err)
		return 2
	}
	addrs, err := g.addrs()
	if err != nil {
		fmt.Fprintf(stderr, "rebalance: %v\n", err)
		return 2
	}
	tok, err := g.resolveToken()
	if err != nil {
		fmt.Fprintf(stderr, "rebalance: %v\n", err)
		return 2
	}
	if err := g.useTLS(); err != nil {
		fmt.Fprintf(stderr, "rebalance: %v\n", err)
		return 2
	}
	plan := rebalance.Plan{
		Slots: *slots, From: uint32(*from), To: uint32(*to), Migration: *migration,
		DrainTimeout: *drain, StepTimeout: *stepTimeout, CallTimeout: *callTimeout, Logger: log,
		Progress: func(e rebalance.Event) {
			fmt.Fprintf(stdout, "rebalance: %-8s group %d  migration %d epoch %d: %s\n", e.Step, e.Group, e.Migration, e.Epoch, e.Detail)
		},
	}
	if err := plan.Validate(); err != nil {
		fmt.Fprintf(stderr, "rebalance: %v\n", err)
		return 2
	}
	if *stateFile == "" {
		*stateFile = rebalance.DefaultStateFile(plan.Slots, plan.From, plan.To)
	}
	cli, err := dialCopyTrade(addrs, *callTimeout)
	if err != nil {
		fmt.Fprintf(stderr, "rebalance: %v\n", err)
		return 1
	}
	if tok != "" {
		ctx = auth.WithToken(ctx, tok)
	}
	fmt.Fprintf(stdout, "rebalance: slots %s from group %d to group %d, state file %s\n", formatSlots(plan.Slots), plan.From, plan.To, *stateFile)
	run := rebalance.Run
	if *abort {
		run = rebalance.Abort
	}
	rep, err := run(ctx, cli, plan, *stateFile)
	if *asJSON {
		b, _ := sonic.ConfigStd.MarshalIndent(rep, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else if rep.Outcome != "" {
		fmt.Fprintf(stdout, "rebalance: %s migration=%d epoch=%d slots=%s from=%d to=%d export_bytes=%d drain_waits=%d elapsed=%s\n",
			rep.Outcome, rep.Migration, rep.Epoch, formatSlots(rep.Slots), rep.From, rep.To, rep.ExportBytes, rep.DrainWaits, rep.Elapsed.Round(time.Millisecond))
	}
	if rep.AbortRefused {
		fmt.Fprintln(stdout, "rebalance: the abort was refused: the target had imported the slots, so the move was finished instead")
	}
	switch {
	case errors.Is(err, rebalance.ErrAborted):
		fmt.Fprintf(stderr, "rebalance: %v\n", err)
		return 3
	case err != nil:
		fmt.Fprintf(stderr, "rebalance: %v\n(rerun the same command to resume from %s)\n", err, *stateFile)
		return 1
	}
	return 0
}
