package main

// `copytrade bench`: the whole-system benchmark (tools/bench). It starts its own cluster
// from this binary (or attaches to one), runs the scenarios and prints a table and, as
// the last line, the summary line; the JSON report and charts go to --out.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"strings"
	"syscall"

	"github.com/copytrade/copytrade/tools/bench"
)

func init() {
	commands["bench"] = command{"benchmark a cluster: latency, throughput, copiers, failover", runBench}
}

// runBench runs `copytrade bench ARGS`: 0 when the run completed, 1 when it failed (or
// its fills did: Report.FillFailures),
// 2 on a usage error. SIGINT/SIGTERM stop it; every process it started is stopped.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := bench.DefaultConfig()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarios := fs.String("scenarios", strings.Join(cfg.Scenarios, ","), "comma-separated: "+strings.Join(bench.AllScenarios, ", "))
	fs.StringVar(&cfg.Out, "out", "", "directory for report.json and the SVG charts (empty: none)")
	fs.IntVar(&cfg.Groups, "groups", cfg.Groups, "shard groups to start (3 nodes each)")
	fs.IntVar(&cfg.Traders, "traders", cfg.Traders, "lead traders of the main workload")
	fs.IntVar(&cfg.Copiers, "copiers", cfg.Copiers, "copiers per trader")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "fills/s of the failover load (Poisson across traders)")
	fs.Float64Var(&cfg.ThroughputStart, "throughput-start", cfg.ThroughputStart, "fills/s of the first throughput step")
	fs.Float64Var(&cfg.LatencyRate, "latency-rate", cfg.LatencyRate, "fills/s of the latency scenario (one in flight)")
	fs.IntVar(&cfg.Inflight, "inflight", cfg.Inflight, "fills in flight at most (one per trader)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured time of the latency scenario (failover: half, at least 9s)")
	fs.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "warm-up before each measured period, not counted")
	fs.DurationVar(&cfg.StepDuration, "step", cfg.StepDuration, "length of one throughput step (first quarter is warm-up)")
	fs.Float64Var(&cfg.StepFactor, "step-factor", cfg.StepFactor, "rate multiplier between throughput steps")
	fs.IntVar(&cfg.MaxSteps, "max-steps", cfg.MaxSteps, "throughput steps at most")
	fs.DurationVar(&cfg.P99Budget, "p99-budget", cfg.P99Budget, "P99 a throughput step must stay within")
	copierSteps := fs.String("copier-steps", joinInts(cfg.CopierSteps), "copier counts of the copiers scenario")
	fs.DurationVar(&cfg.CopierStepDuration, "copier-step", cfg.CopierStepDuration, "measured time of one copiers step")
	fs.Float64Var(&cfg.CopierRate, "copier-rate", cfg.CopierRate, "fills/s of a copiers step")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the workload")
	fs.StringVar(&cfg.DataDir, "data", "", "data and log directory of the started processes (default: a temporary one)")
	fs.BoolVar(&cfg.KeepData, "keep", false, "keep the temporary data directory (logs, raft data)")
	fs.StringVar(&cfg.ExchsimMode, "exchsim-mode", cfg.ExchsimMode, "mode of the started exchsim: no-dedup or strict")
	fs.BoolVar(&cfg.VenueFaults, "venue-faults", false, "start exchsim as a hostile venue (exchsim --venue-faults)")
	fs.BoolVar(&cfg.TLS, "tls", false, "run every hop of the started cluster over mutual TLS (a CA made for the run)")
	fs.StringVar(&cfg.Binary, "bin", "", "copytrade binary to start the cluster from (default: this one)")
	fs.StringVar(&cfg.Topology, "topology", "", "attach: the running cluster's topology file")
	fs.StringVar(&cfg.Router, "router", "", "attach: the router's address")
	fs.StringVar(&cfg.Token, "token", "", "attach: an admin token")
	fs.StringVar(&cfg.Gateway, "gateway", "", "attach: the gateway's address")
	fs.StringVar(&cfg.Fills, "fills", cfg.Fills, "rpc, or kafka: also measure the Kafka fill path (in-process broker, an ingest process, 90 % noise) after the scenarios")
	fs.IntVar(&cfg.KafkaRecords, "kafka-records", cfg.KafkaRecords, "records of the Kafka throughput backlog (10 % lead fills)")
	fs.StringVar(&cfg.ProfileDir, "profile", "", "directory for CPU profiles of leader, follower, router and exchsim under load (empty: none)")
	fs.StringVar(&cfg.ProfilePhases, "profile-phases", cfg.ProfilePhases, "with --profile: profile the phases whose name starts with this")
	logLevel := fs.String("log-level", "warn", "debug, info, warn or error (the bench's own logs, on stderr)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg.Scenarios = splitComma(*scenarios)
	var err error
	if cfg.CopierSteps, err = parseInts(*copierSteps); err != nil {
		fmt.Fprintf(stderr, "bench: --copier-steps: %v\n", err)
		return 2
	}
	var logErr error
	if cfg.Logger, _, logErr = newLogger(*logLevel, stderr); logErr != nil {
		fmt.Fprintln(stderr, "bench:", logErr)
		return 2
	}
	cfg.Progress = stderr
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := bench.Run(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	if err := rep.FillFailures(); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	return 0
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range splitComma(s) {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil {
			return nil, fmt.Errorf("%q is not a number", p)
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ",")
}
