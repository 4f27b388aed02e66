package main

// `copytrade dev`: the whole system on loopback in one process (tools/devcluster), a
// seeded population, a demo workload with live progress, then a summary ending in
//
//	dev: signals=N copier_orders=M placed=P rejected=R skipped=S p50_ms=X p99_ms=Y \
//	     ingest: records=… filtered=… forwarded=… lag_max=…
//
// (the ingest part with --fills kafka, the default: exchsim publishes every fill of
// every account to an in-process Kafka and ingest forwards the lead traders'; with
// --fills rpc the lead fills are pushed to the router as before),
// and, unless --exit-after, the cluster keeps serving until SIGINT/SIGTERM.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudwego/kitex/pkg/klog"

	"github.com/copytrade/copytrade/rpc/kitexlog"
	"github.com/copytrade/copytrade/tools/devcluster"
)

// devFlags are `copytrade dev`'s flags.
type devFlags struct {
	duration    time.Duration
	exitAfter   bool
	data        string
	traders     int
	copiers     int
	rate        float64
	seed        uint64
	groups      int
	nodes       int
	noSync      bool
	venueFaults bool
	logLevel    string
	fills       string
	http        string
}

func parseDevFlags(args []string, stderr io.Writer) (*devFlags, error) {
	f := &devFlags{}
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&f.duration, "duration", 20*time.Second, "how long lead traders act")
	fs.BoolVar(&f.exitAfter, "exit-after", false, "stop after the summary instead of serving until interrupted")
	fs.StringVar(&f.data, "data", "", "data directory, new or empty (default: a fresh one under the temp dir)")
	fs.IntVar(&f.traders, "traders", 20, "lead traders")
	fs.IntVar(&f.copiers, "copiers", 500, "copiers per trader")
	fs.Float64Var(&f.rate, "rate", 20, "lead-trader fills per second (Poisson, across all traders)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the population and the activity")
	fs.IntVar(&f.groups, "groups", 2, "shard groups (slots split equally)")
	fs.IntVar(&f.nodes, "nodes", 3, "nodes per group (1, 3 or 5)")
	fs.BoolVar(&f.venueFaults, "venue-faults", false, "run exchsim as a hostile venue (latency past the dispatch timeout, partial fills, rejects, reordered, duplicated and contract-breaking reports)")
	fs.BoolVar(&f.noSync, "nosync", false, "turn fsync off in the raft logs (faster, not what production does)")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
	fs.StringVar(&f.fills, "fills", "kafka", "fill path: kafka (exchsim publishes every fill to an in-process Kafka, ingest consumes it) or rpc (lead fills pushed to the router)")
	fs.StringVar(&f.http, "http", "", "host:port serving every process's /metrics (group and node labels), /livez, /readyz and pprof (empty: off)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if f.fills != "kafka" && f.fills != "rpc" {
		return nil, fmt.Errorf("dev: --fills must be kafka or rpc, got %q", f.fills)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("dev: unexpected argument %q", fs.Arg(0))
	}
	if f.duration <= 0 || f.rate <= 0 {
		return nil, errors.New("dev: --duration and --rate must be > 0")
	}
	return f, nil
}

// runDev runs `copytrade dev ARGS` and returns the process exit code.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseDevFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := dev(ctx, f, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "dev: %v\n", err)
		return 1
	}
	return 0
}

func dev(ctx context.Context, f *devFlags, stdout, stderr io.Writer) error {
	log, lv, err := newLogger(f.logLevel, stderr)
	if err != nil {
		return err
	}
	// Kitex's lines through the same slog logger (one writer for stderr: two loggers
	// writing one buffer each under its own lock raced), at warn and above — its own
	// "server listen at" lines are noise here.
	kitexlog.Use(log)
	klog.SetLevel(klog.LevelWarn)

	opts := devcluster.DefaultOptions()
	opts.DataDir, opts.Groups, opts.NodesPerGroup, opts.Seed = f.data, f.groups, f.nodes, f.seed
	opts.NoSync, opts.Logger, opts.VenueFaults = f.noSync, log, f.venueFaults
	if level := lv.Level(); level < slog.LevelWarn {
		opts.RaftLogLevel = level
	}
	began := time.Now()
	c, err := devcluster.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		// A whole cluster stopping at once makes raft complain; that is not news.
		lv.Set(slog.LevelError + 4)
		if err := c.Close(); err != nil {
			fmt.Fprintf(stderr, "dev: shutdown: %v\n", err)
		}
	}()
	if f.http != "" {
		addr, stopHTTP, err := serveDevHTTP(f.http, c, f.groups, log)
		if err != nil {
			return err
		}
		defer func() { _ = stopHTTP(context.Background()) }()
		fmt.Fprintf(stdout, "dev: metrics http://%s/metrics, readiness http://%s/readyz\n", addr, addr)
	}
	fmt.Fprintf(stdout, "dev: data dir %s\n", c.DataDir())
	fmt.Fprintf(stdout, "dev: %d groups × %d nodes, router %s, exchsim %s (started in %s)\n",
		f.groups, f.nodes, c.RouterAddr(), c.ExchsimAddr(), time.Since(began).Round(time.Millisecond))

	seedAt := time.Now()
	so := devcluster.DefaultSeedOptions()
	so.Traders, so.CopiersPerTrader, so.Seed = f.traders, f.copiers, f.seed
	pop, err := c.Seed(ctx, so)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dev: seeded %d instruments, eligibility rules, %d lead traders, %d follows in %s\n",
		pop.Stats.Instruments, pop.Stats.Traders, pop.Stats.Follows, time.Since(seedAt).Round(time.Millisecond))

	var kafka *devcluster.Kafka
	if f.fills == "kafka" {
		if kafka, err = c.StartKafka(devcluster.DefaultKafkaOptions()); err != nil {
			return err
		}
		defer kafka.Close()
		fmt.Fprintf(stdout, "dev: fills: exchsim publishes every fill to Kafka topic %s (in process), ingest forwards lead traders' fills\n", devcluster.FillsTopic)
	} else {
		fmt.Fprintln(stdout, "dev: fills: lead traders' fills pushed to the router (SubmitFills)")
	}
	fmt.Fprintf(stdout, "dev: lead traders act for %s at %.0f fills/s\n", f.duration, f.rate)
	sum, err := c.RunWorkload(ctx, devcluster.WorkloadOptions{
		Kafka:   kafka,
		Traders: pop.Traders(), Duration: f.duration, Rate: f.rate, Seed: f.seed,
		TraderBalance: so.TraderBalance, CallTimeout: 5 * time.Second,
		Progress: func(p devcluster.Progress) {
			fmt.Fprintf(stdout, "\r%5.1fs  signals %d  copier orders %d  placed %d  rejected %d  skipped %d  p99 %.2fms   ",
				p.Elapsed.Seconds(), p.Signals, p.CopierOrders, p.Placed, p.Rejected, p.Skipped, float64(p.P99)/float64(time.Millisecond))
		},
		ProgressInterval: 500 * time.Millisecond,
	})
	fmt.Fprintln(stdout)
	if err != nil {
		return err
	}
	for _, l := range sum.Details() {
		fmt.Fprintf(stdout, "dev: %s\n", l)
	}
	if f.venueFaults {
		printVenueFaults(ctx, stdout, c)
	}
	line := sum.Line()
	if kafka != nil {
		line += " " + kafka.Line()
	}
	fmt.Fprintln(stdout, line)
	if sum.Placed == 0 && ctx.Err() == nil {
		return errors.New("no copier order was placed: see the lines above")
	}
	if f.exitAfter || ctx.Err() != nil {
		return nil
	}
	printServing(stdout, c)
	<-ctx.Done()
	fmt.Fprintln(stdout, "dev: shutting down")
	return nil
}

// printServing tells how to reach the running cluster.
func printServing(w io.Writer, c *devcluster.Cluster) {
	fmt.Fprintf(w, `
dev: serving until Ctrl-C
  router    %s
  exchsim   %s
  keys      %s
  topology  %s
  admin token (7 days):
    export COPYTRADE_TOKEN=%s
  try (copytrade = the binary from make build, or go run ./cmd/copytrade):
    copytrade ctl --router %s status
    copytrade ctl --router %s trader get 1
    copytrade ctl token --keys %s --identity 100001 --role account
`, c.RouterAddr(), c.ExchsimAddr(), c.KeyFile(), c.TopologyFile(), c.AdminToken(),
		c.RouterAddr(), c.RouterAddr(), c.KeyFile())
}

func init() {
	commands["dev"] = command{"the whole system on loopback with a demo workload (make dev)", runDev}
}
