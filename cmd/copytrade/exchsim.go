package main

// `copytrade exchsim`: the simulated trading gateway (tools/exchsim) as a process, for
// `copytrade bench` and by hand. Flags map onto exchsim.Config; --http adds /metrics
// (every call's latency, by method), and /debug/pprof/ only with --pprof.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudwego/kitex/pkg/endpoint"
	"github.com/cloudwego/kitex/pkg/rpcinfo"
	"github.com/cloudwego/kitex/server"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/rpc/kitexlog"
	"github.com/copytrade/copytrade/rpc/ops"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// runExchsim runs `copytrade exchsim ARGS` until SIGINT/SIGTERM (or ctx) and returns
// the exit code: 0 after a clean stop, 1 when serving failed, 2 on a usage error.
func runExchsim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := exchsim.DefaultConfig()
	fs := flag.NewFlagSet("exchsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.ListenAddr, "listen", cfg.ListenAddr, "host:port the TradingGateway service listens on")
	mode := fs.String("mode", cfg.Mode.String(), "client order ID handling: strict (dedup) or no-dedup (a repeated ID is a new order)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the mark-price random walks")
	fs.Int64Var(&cfg.SpreadBps, "spread-bps", cfg.SpreadBps, "full bid/ask spread around the mark, basis points")
	fs.Int64Var(&cfg.TakerFeeBps, "fee-bps", cfg.TakerFeeBps, "taker fee on every fill's notional, basis points")
	fs.DurationVar(&cfg.MarkStepInterval, "mark-interval", cfg.MarkStepInterval, "how often every mark takes one random-walk step (0: marks never move by themselves)")
	fs.Int64Var(&cfg.MarkVolatilityBps, "mark-volatility-bps", cfg.MarkVolatilityBps, "standard deviation of one mark step, basis points")
	balance := fs.String("balance", cfg.DefaultBalance.String(), "wallet balance of an auto-created account")
	posMode := fs.String("position-mode", "hedge", "position mode of an auto-created account: hedge or one-way")
	fs.Int64Var(&cfg.PartialFillEveryN, "partial-every", cfg.PartialFillEveryN, "every Nth order fills only half (0: never)")
	faults := addFaultFlags(fs, &cfg)
	httpAddr := fs.String("http", "", "host:port serving /metrics (empty: off)")
	loadTLS := tlsFlags(fs)
	pprofAddr := fs.String("pprof", "", "host:port serving /debug/pprof/ on its own listener (empty, the default: off)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "exchsim: unexpected arguments %q\n", fs.Args())
		return 2
	}
	var err error
	if cfg.Mode, err = exchsim.ParseMode(*mode); err != nil {
		fmt.Fprintf(stderr, "exchsim: --mode: %v\n", err)
		return 2
	}
	if cfg.DefaultBalance, err = fixed.Parse(*balance); err != nil {
		fmt.Fprintf(stderr, "exchsim: --balance: %v\n", err)
		return 2
	}
	switch *posMode {
	case "hedge":
		cfg.DefaultPositionMode = exchsim.Hedge
	case "one-way", "oneway":
		cfg.DefaultPositionMode = exchsim.OneWay
	default:
		fmt.Fprintf(stderr, "exchsim: --position-mode must be hedge or one-way, got %q\n", *posMode)
		return 2
	}
	if err := faults.apply(fs, &cfg); err != nil {
		fmt.Fprintf(stderr, "exchsim: %v\n", err)
		return 2
	}
	var logErr error
	if cfg.Logger, _, logErr = newFormatLogger(*logLevel, *logFormat, stderr); logErr != nil {
		fmt.Fprintln(stderr, "exchsim:", logErr)
		return 2
	}
	kitexlog.Use(cfg.Logger) // Kitex's lines through slog too
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "exchsim: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// exchsim.ListenAndServe, plus a middleware timing every call for /metrics.
	sim, err := exchsim.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "exchsim: %v\n", err)
		return 1
	}
	m := newExchsimMetrics()
	m.countStats(sim)
	store, err := loadTLS()
	if err != nil {
		fmt.Fprintf(stderr, "exchsim: %v\n", err)
		return 2
	}
	var srv *exchsim.Server
	if store != nil {
		srv, err = exchsim.ServeTLS(sim, cfg.ListenAddr, store, server.WithMiddleware(m.middleware))
	} else {
		srv, err = exchsim.Serve(sim, cfg.ListenAddr, server.WithMiddleware(m.middleware))
	}
	if err != nil {
		fmt.Fprintf(stderr, "exchsim: %v\n", err)
		return 1
	}
	if *httpAddr != "" {
		_, stopHTTP, err := ops.Serve(*httpAddr, m.reg, cfg.Logger)
		if err != nil {
			fmt.Fprintf(stderr, "exchsim: %v\n", err)
			_ = srv.Stop()
			return 1
		}
		defer func() { _ = stopHTTP(context.Background()) }()
	}
	if *pprofAddr != "" {
		_, stopPprof, err := ops.ServePprof(*pprofAddr, cfg.Logger)
		if err != nil {
			fmt.Fprintf(stderr, "exchsim: %v\n", err)
			_ = srv.Stop()
			return 1
		}
		defer func() { _ = stopPprof(context.Background()) }()
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-hup:
			reloadTLS(store, cfg.Logger) // the certificate and CA; nothing else reloads
		}
	}
	if err := srv.Stop(); err != nil {
		fmt.Fprintf(stderr, "exchsim: %v\n", err)
		return 1
	}
	return 0
}

// exchsimMetrics time every TradingGateway call, as the server sees it.
type exchsimMetrics struct {
	reg   *prometheus.Registry
	calls *prometheus.HistogramVec
}

func newExchsimMetrics() *exchsimMetrics {
	m := &exchsimMetrics{reg: prometheus.NewRegistry(),
		calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "copytrade_exchsim_call_seconds", Help: "TradingGateway calls served, by method (PlaceOrders: the whole batch).",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 18),
		}, []string{"method"})}
	m.reg.MustRegister(m.calls, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// countStats exposes the simulator's counters (what a hostile venue did: faults
// injected, expired orders, contract-breaking reports), read when scraped.
func (m *exchsimMetrics) countStats(sim *exchsim.Sim) {
	for name, c := range map[string]struct {
		help string
		get  func(exchsim.Stats) int64
	}{
		"orders_created":          {"orders executed, rejected ones included; duplicates excluded", func(s exchsim.Stats) int64 { return s.OrdersCreated }},
		"orders_rejected":         {"orders rejected", func(s exchsim.Stats) int64 { return s.OrdersRejected }},
		"orders_expired":          {"orders refused EXPIRED (never executed, never recorded)", func(s exchsim.Stats) int64 { return s.OrdersExpired }},
		"faults_injected":         {"venue faults injected (--venue-faults)", func(s exchsim.Stats) int64 { return s.FaultsInjected }},
		"bad_reports":             {"contract-breaking reports sent (--venue-faults)", func(s exchsim.Stats) int64 { return s.BadReports }},
		"orders_partially_filled": {"orders partially filled", func(s exchsim.Stats) int64 { return s.OrdersPartiallyFilled }},
	} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "copytrade_exchsim_" + name + "_total", Help: "exchsim: " + c.help + ".",
		}, func() float64 { return float64(c.get(sim.Stats())) }))
	}
}

func (m *exchsimMetrics) middleware(next endpoint.Endpoint) endpoint.Endpoint {
	return func(ctx context.Context, req, resp any) error {
		start := time.Now()
		err := next(ctx, req, resp)
		method := "unknown"
		if ri := rpcinfo.GetRPCInfo(ctx); ri != nil && ri.Invocation() != nil {
			method = ri.Invocation().MethodName()
		}
		m.calls.WithLabelValues(method).Observe(time.Since(start).Seconds())
		return err
	}
}
