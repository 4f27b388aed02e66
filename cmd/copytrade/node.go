package main

// `copytrade node`: one member of a shard group (hashicorp/raft, the CopyTrade RPC,
// metrics and pprof) until SIGINT/SIGTERM, then a graceful shutdown that hands
// leadership over first.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/kitexlog"
	"github.com/copytrade/copytrade/shard"
)

func init() {
	commands["node"] = command{"one node of a 3-node shard group", runNode}
}

// parseMembers reads "id=raft_host:port/rpc_host:port,..." .
func parseMembers(s string) ([]shard.Member, error) {
	var out []shard.Member
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, addrs, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("member %q: want id=raft_addr/rpc_addr", part)
		}
		raftAddr, rpcAddr, _ := strings.Cut(addrs, "/")
		out = append(out, shard.Member{ID: id, RaftAddr: raftAddr, RPCAddr: rpcAddr})
	}
	return out, nil
}

func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := shard.DefaultConfig()
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.NodeID, "id", "", "this node's raft server ID (must be in -members)")
	group := fs.Uint("group", 1, "shard group ID (> 0)")
	fs.StringVar(&cfg.DataDir, "data", "", "data directory (raft.db, snapshots)")
	fs.StringVar(&cfg.RaftBindAddr, "raft", "127.0.0.1:7001", "raft transport listen host:port")
	fs.StringVar(&cfg.RaftAdvertiseAddr, "raft-advertise", "", "raft address other members dial (default: -raft)")
	fs.StringVar(&cfg.RPCAddr, "rpc", "127.0.0.1:7101", "CopyTrade RPC listen host:port")
	fs.StringVar(&cfg.HTTPAddr, "http", "", "host:port serving /metrics (empty: off)")
	fs.StringVar(&cfg.PprofAddr, "pprof", "", "host:port serving /debug/pprof/ on its own listener (empty, the default: off)")
	addrFile := fs.String("addr-file", "", "once every listener is bound, write their addresses to this file as JSON "+
		`({"raft","raft_advertise","rpc","http","pprof"}; atomically: readers see it whole or not at all; `+
		"removed at start and at exit). With port 0 in -raft, -rpc, -http or -pprof it tells which port was bound")
	gw := fs.String("gateway", "127.0.0.1:7400", "TradingGateway endpoints, comma-separated host:port")
	members := fs.String("members", "", "the group's voters: id=raft_addr/rpc_addr,... (this node included)")
	fs.BoolVar(&cfg.Bootstrap, "bootstrap", false, "create the group if the data dir is empty (initial members only)")
	slots := fs.String("slots", "", "slots owned at bootstrap, FROM-TO[,FROM-TO...] (default: all)")
	fs.DurationVar(&cfg.HeartbeatTimeout, "heartbeat-timeout", cfg.HeartbeatTimeout, "raft heartbeat timeout")
	fs.DurationVar(&cfg.ElectionTimeout, "election-timeout", cfg.ElectionTimeout, "raft election timeout")
	fs.DurationVar(&cfg.LeaderLeaseTimeout, "leader-lease-timeout", cfg.LeaderLeaseTimeout, "raft leader lease timeout")
	fs.DurationVar(&cfg.CommitTimeout, "commit-timeout", cfg.CommitTimeout, "raft commit timeout")
	fs.IntVar(&cfg.MaxAppendEntries, "max-append-entries", cfg.MaxAppendEntries, "entries per AppendEntries (256..1024)")
	fs.Uint64Var(&cfg.SnapshotThresholdEntries, "snapshot-threshold", cfg.SnapshotThresholdEntries, "new entries that trigger a snapshot")
	fs.DurationVar(&cfg.SnapshotInterval, "snapshot-interval", cfg.SnapshotInterval, "how often the snapshot threshold is checked")
	fs.IntVar(&cfg.DispatchBatchSize, "dispatch-batch", cfg.DispatchBatchSize, "orders per PlaceOrders request")
	fs.IntVar(&cfg.DispatchParallelism, "dispatch-parallelism", cfg.DispatchParallelism, "PlaceOrders requests in flight per fan-out")
	fs.DurationVar(&cfg.DispatchTimeout, "dispatch-timeout", cfg.DispatchTimeout, "deadline of one gateway request")
	fs.DurationVar(&cfg.ResultsBatchWindow, "results-window", cfg.ResultsBatchWindow, "gateway results gathered into one OrderResults command")
	fs.DurationVar(&cfg.MarkPriceInterval, "mark-interval", cfg.MarkPriceInterval, "mark-price proposal interval (0: off)")
	settle := fs.String("settlement", "daily", "settlement period: daily, weekly or off (UTC)")
	fs.Int64Var(&cfg.SettlementAccount, "settlement-account", 0, "profit-share account (0: copier pays trader directly)")
	keyFile := fs.String("keys", "", "key file (JSON: key ID → hex or base64 secret): every RPC must carry a token signed by one of its keys; reloaded on SIGHUP")
	insecure := fs.Bool("insecure", false, "development only: serve without authentication (no --keys) and without TLS off loopback")
	loadTLS := tlsFlags(fs)
	limits := limitFlags(fs)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	configPath := fs.String("config", "", "config file (TOML; keys are these flags' names; flags given here override it)")
	check := fs.Bool("check", false, "validate the configuration and exit (copytrade config check)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *configPath != "" {
		if err := applyConfig(fs, *configPath, "node"); err != nil {
			fmt.Fprintln(stderr, "node:", err)
			return 2
		}
	}
	cfg.Group = raftfsm.GroupID(*group)
	var err error
	if cfg.Members, err = parseMembers(*members); err != nil {
		fmt.Fprintln(stderr, "node:", err)
		return 2
	}
	for _, a := range strings.Split(*gw, ",") {
		if a = strings.TrimSpace(a); a != "" {
			cfg.GatewayAddrs = append(cfg.GatewayAddrs, a)
		}
	}
	switch *settle {
	case "daily":
		cfg.SettlementPeriod = shard.SettleDaily
	case "weekly":
		cfg.SettlementPeriod = shard.SettleWeekly
	case "off":
		cfg.SettlementPeriod = 0
	default:
		fmt.Fprintf(stderr, "node: -settlement must be daily, weekly or off, got %q\n", *settle)
		return 2
	}
	if *slots != "" {
		for _, r := range strings.Split(*slots, ",") {
			var from, to uint16
			if _, err := fmt.Sscanf(r, "%d-%d", &from, &to); err != nil {
				fmt.Fprintf(stderr, "node: -slots range %q: want FROM-TO\n", r)
				return 2
			}
			cfg.BootstrapSlots = append(cfg.BootstrapSlots, raftfsm.SlotRange{From: from, To: to})
		}
	}
	if cfg.Logger, _, err = newFormatLogger(*logLevel, *logFormat, stderr); err != nil {
		fmt.Fprintln(stderr, "node:", err)
		return 2
	}
	if !*check {
		kitexlog.Use(cfg.Logger) // Kitex's lines through slog too
	}
	guard, _, err := loadGuard(*keyFile, *insecure, limits(), cfg.Logger)
	if err != nil {
		fmt.Fprintln(stderr, "node:", err)
		if errors.Is(err, errNoKeys) {
			return 2
		}
		return 1
	}
	if guard != nil {
		cfg.ServerOptions = append(cfg.ServerOptions, guard.ServerOption())
	}
	if cfg.TLS, err = loadTLS(); err != nil {
		fmt.Fprintln(stderr, "node:", err)
		return 2
	}
	cfg.Insecure = *insecure
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, "node:", err)
		return 2
	}
	if *check {
		return 0
	}
	if *addrFile != "" {
		// A file left by an earlier run must not pass for this run's addresses.
		if err := os.Remove(*addrFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(stderr, "node: -addr-file:", err)
			return 1
		}
		defer os.Remove(*addrFile)
	}
	n, err := shard.New(cfg, nil)
	if err != nil {
		fmt.Fprintln(stderr, "node:", err)
		return 1
	}
	if err := n.ExportRaftMetrics(); err != nil {
		cfg.Logger.Warn("raft's own metrics not exported", "err", err)
	}
	if guard != nil {
		_ = n.Metrics().Register(guard.Collector())
	}
	if err := n.Start(); err != nil {
		fmt.Fprintln(stderr, "node:", err)
		_ = n.Kill()
		return 1
	}
	addrs := n.Addrs()
	if *addrFile != "" {
		if err := shard.WriteAddrFile(*addrFile, addrs); err != nil {
			fmt.Fprintln(stderr, "node:", err)
			_ = n.Kill()
			return 1
		}
	}
	fmt.Fprintf(stdout, "node %s of group %d: raft %s (advertised %s), rpc %s\n", cfg.NodeID, cfg.Group, addrs.Raft, addrs.RaftAdvertise, addrs.RPC)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-hup:
			reloadKeys(guard, *keyFile, cfg.Logger)
			reloadTLS(cfg.TLS, cfg.Logger)
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, "node: shutdown:", err)
		return 1
	}
	return 0
}
