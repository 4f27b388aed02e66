// Package bench is `copytrade bench`: it starts a real cluster as separate processes on
// loopback (3 nodes per group with fsync, a router, exchsim) or attaches to a running
// one, seeds lead traders and copiers, drives lead-trader fills through the router and
// measures each fill from send to the answer that every copier order is acknowledged
// by the gateway, beside the floor (a no-op raft commit through the same router, a
// 500-order gateway batch) measured in the same run. Scenarios: latency, throughput,
// copiers, failover. It writes a JSON report and SVG charts and prints a table and a
// one-line summary. See docs/benchmarks.md.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/cloudwego/kitex/client"

	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	gw "github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
	"github.com/copytrade/copytrade/shard"
	"github.com/copytrade/copytrade/tools/devcluster"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// Run runs the configured scenarios, writes the report and charts into cfg.Out (when
// set), prints the table and, as its last line, the summary line to stdout, and
// returns the report. Every process it started has stopped when it returns, whether
// it succeeds, fails, is cancelled or panics.
func Run(ctx context.Context, cfg Config, stdout io.Writer) (rep *Report, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.FirstTradeID == 0 {
		cfg.FirstTradeID = time.Now().UnixMilli()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "bench")
	rep = &Report{StartedAt: time.Now().UTC(), Machine: machine(), Scenarios: cfg.Scenarios}

	var cl *Cluster
	if cfg.attached() {
		if cl, err = AttachCluster(&cfg); err != nil {
			return nil, err
		}
	} else {
		bin := cfg.Binary
		if bin == "" {
			if bin, err = os.Executable(); err != nil {
				return nil, fmt.Errorf("bench: locate the copytrade binary: %w", err)
			}
		}
		dir := cfg.DataDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "copytrade-bench-"); err != nil {
				return nil, fmt.Errorf("bench: data dir: %w", err)
			}
			if !cfg.KeepData {
				defer os.RemoveAll(dir)
			}
		} else if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("bench: data dir: %w", err)
		}
		sup := NewSupervisor(log, 5*time.Second)
		// No child outlives Run: not on error, cancellation (SIGINT/SIGTERM reach Run
		// through ctx) or panic.
		defer func() {
			p := recover()
			sup.StopAll()
			rep.Pids = sup.Pids()
			if p != nil {
				panic(p)
			}
		}()
		if cl, err = StartCluster(ctx, &cfg, bin, dir, sup, log); err != nil {
			return rep, errWithLogs(err, cl, sup)
		}
		log.Info("processes", "pids", sup.Pids(), "dir", dir)
	}
	rep.Cluster = ClusterInfo{Started: cl.Started(), Groups: len(cl.Groups), Nodes: 3 * len(cl.Groups),
		Fsync: !cfg.NoSync, ExchsimMode: cfg.ExchsimMode}

	r, err := newRunner(&cfg, cl, log, stdout)
	if err != nil {
		return rep, err
	}
	if err := r.waitReady(ctx, 30*time.Second); err != nil {
		return rep, errWithLogs(err, cl, nil)
	}
	gens, sweep, err := r.seed(ctx, rep)
	if err != nil {
		return rep, errWithLogs(err, cl, nil)
	}
	stopMarks := r.followMarks(ctx)
	defer stopMarks()

	if rep.QuietCPU, _, err = r.idleCPU(ctx, 3*time.Second, false); err != nil {
		return rep, err
	}
	if rep.IdleCPU, rep.IdleFloor, err = r.idleCPU(ctx, 4*time.Second, true); err != nil {
		return rep, err
	}
	r.idle, r.quiet = rep.IdleCPU, rep.QuietCPU
	t0 := time.Now()
	if cfg.has(ScenarioLatency) {
		if rep.Latency, err = r.latency(ctx, gens); err != nil {
			return rep, err
		}
	}
	if cfg.has(ScenarioThroughput) {
		if rep.Throughput, err = r.throughput(ctx, gens); err != nil {
			return rep, err
		}
	}
	if cfg.has(ScenarioCopiers) {
		if rep.Copiers, err = r.copiers(ctx, sweep); err != nil {
			return rep, err
		}
	}
	if cfg.has(ScenarioFailover) {
		if rep.Failover, err = r.failover(ctx, gens); err != nil {
			return rep, errWithLogs(err, cl, nil)
		}
	}
	if cfg.Fills == "kafka" {
		if rep.Kafka, err = r.kafka(ctx, gens, rep.Latency); err != nil {
			return rep, errWithLogs(err, cl, nil)
		}
	}
	if cfg.VenueFaults {
		if rep.Venue, err = r.venueOutcome(ctx, rep.Cluster.Groups); err != nil {
			return rep, err
		}
	}
	rep.ElapsedSec = r3(time.Since(t0).Seconds())
	rep.MetricsMissing = dedup(r.missing)
	rep.finish()
	rep.Pids = cl.Pids()
	if cfg.Out != "" {
		if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
			return rep, fmt.Errorf("bench: out dir: %w", err)
		}
		if _, err := rep.WriteCharts(cfg.Out); err != nil {
			return rep, err
		}
		if err := rep.WriteJSON(cfg.Out); err != nil {
			return rep, err
		}
		if err := rep.WriteMarkdown(cfg.Out); err != nil {
			return rep, err
		}
	}
	// Stop the processes before printing, so nothing they cause to be logged comes
	// after the summary line.
	cl.Stop()
	rep.Pids = cl.Pids()
	rep.WriteTable(stdout)
	fmt.Fprintln(stdout, rep.SummaryLine())
	return rep, nil
}

// errWithLogs adds the tail of every child's log to err, so a cluster that would not
// start says why.
func errWithLogs(err error, cl *Cluster, sup *Supervisor) error {
	if cl == nil || cl.sup == nil {
		if sup == nil {
			return err
		}
		cl = &Cluster{sup: sup}
	}
	cl.sup.mu.Lock()
	procs := append([]*Proc(nil), cl.sup.procs...)
	cl.sup.mu.Unlock()
	msg := ""
	for _, p := range procs {
		if t := tailLog(p.LogPath, 600); t != "" {
			msg += fmt.Sprintf("\n--- %s (%s) ---\n%s", p.Name, p.LogPath, t)
		}
	}
	if msg == "" {
		return err
	}
	return fmt.Errorf("%w%s", err, msg)
}

func newRunner(cfg *Config, cl *Cluster, log *slog.Logger, stdout io.Writer) (*runner, error) {
	ctc, err := shard.NewClient([]string{cl.RouterAddr}, append(cl.ClientTLS(benchClient), client.WithConnectTimeout(time.Second))...)
	if err != nil {
		return nil, err
	}
	gwc, err := exchsim.NewClient(cl.GatewayAddr, append(cl.ClientTLS(benchClient), client.WithConnectTimeout(time.Second))...)
	if err != nil {
		return nil, fmt.Errorf("bench: gateway client: %w", err)
	}
	return &runner{cfg: cfg, log: log, cluster: cl, ct: ctc, gw: gwc, progress: cfg.Progress,
		tty: cfg.Progress != nil && isTTY(cfg.Progress)}, nil
}

// waitReady waits until a no-op commits through the router in every group.
func (r *runner) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, g := range r.cluster.Groups {
		for {
			cctx, cancel := context.WithTimeout(router.WithGroup(auth.WithToken(ctx, r.cluster.AdminToken), g.ID), 2*time.Second)
			_, err := r.ct.Noop(cctx, &ct.NoopRequest{})
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("bench: group %d not ready after %s: %w", g.ID, timeout, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// seed creates the workload and returns the main traders' and the copier sweep's
// generators.
func (r *runner) seed(ctx context.Context, rep *Report) (gens, sweep []*traderGen, err error) {
	t0 := time.Now()
	specs := gatewayInstruments()
	r.marks = newMarks(specs)
	bySym := map[string]exchsim.InstrumentSpec{}
	var syms []string
	for _, sp := range specs {
		bySym[sp.Symbol] = sp
		syms = append(syms, sp.Symbol)
	}
	var steps []int
	if r.cfg.has(ScenarioCopiers) {
		steps = r.cfg.CopierSteps
	}
	plans, err := seedPlans(r.cfg.Traders, r.cfg.Copiers, steps, r.cfg.Seed, devcluster.InstrumentsOf(specs))
	if err != nil {
		return nil, nil, err
	}
	var total int64
	for _, p := range plans {
		total += int64(len(p.Follows))
	}
	var done atomic.Int64
	stop := r.seedProgress(&done, total, t0)
	for _, p := range plans {
		st, err := seedPlan(ctx, r.ct, r.gw, r.cluster.AdminToken, p)
		done.Add(int64(st.Follows + st.Existing))
		if err != nil {
			stop()
			return nil, nil, err
		}
	}
	stop()
	rep.Workload = WorkloadInfo{Traders: r.cfg.Traders, Copiers: r.cfg.Copiers, Follows: done.Load(),
		SeedSec: r3(time.Since(t0).Seconds()), Instruments: syms, Seed: r.cfg.Seed,
		CopyModeMix: "devcluster mix: 40% fixed amount, 30% multiplier, 30% proportional; 30% one-way; caps, slippage bands, filters; no stop-loss"}
	r.log.Info("seeded", "follows", done.Load(), "took", time.Since(t0).Round(time.Millisecond))
	for _, t := range specsOf(plans[0], syms, 0) {
		gens = append(gens, newTraderGen(t, bySym[t.Instrument], r.cfg.Seed, r.cfg.FirstTradeID))
	}
	for _, p := range plans[1:] {
		t := specsOf(p, syms, 0)[0]
		sweep = append(sweep, newTraderGen(t, bySym[t.Instrument], r.cfg.Seed, r.cfg.FirstTradeID))
	}
	return gens, sweep, nil
}

func (r *runner) seedProgress(done *atomic.Int64, total int64, t0 time.Time) (stop func()) {
	if r.progress == nil {
		return func() {}
	}
	every := 5 * time.Second
	if r.tty {
		every = 250 * time.Millisecond
	}
	quit := make(chan struct{})
	fin := make(chan struct{})
	go func() {
		defer close(fin)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				if r.tty {
					fmt.Fprint(r.progress, "\r\033[K")
				}
				return
			case <-t.C:
			}
			line := fmt.Sprintf("[seed] %d follows, %d seeded, %.0fs", total, done.Load(), time.Since(t0).Seconds())
			if r.tty {
				fmt.Fprintf(r.progress, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(r.progress, line)
			}
		}
	}()
	return func() { close(quit); <-fin }
}

// followMarks refreshes the mark prices fills are priced at, every 500 ms.
func (r *runner) followMarks(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			cctx, c := context.WithTimeout(ctx, 2*time.Second)
			resp, err := r.gw.MarkPrices(cctx, &gw.MarkPricesRequest{})
			c()
			if err == nil {
				for _, m := range resp.GetMarks() {
					if p, err := fixed.Parse(m.GetPrice()); err == nil && p > 0 {
						r.marks.set(m.GetInstrument(), p)
					}
				}
			} else if !errors.Is(ctx.Err(), context.Canceled) {
				r.log.Debug("mark prices", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

// OutFiles lists what Run writes into Out.
func OutFiles(dir string) []string {
	var out []string
	for _, n := range []string{"report.json", "report.md", "latency.svg", "p99_vs_rate.svg", "copiers.svg"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
