package main

// `copytrade router`: the stateless CopyTrade router. It reads a topology file, learns
// the slot map from the groups and forwards every call to the right leader; SIGHUP
// reloads the topology and the key file. Any number may run side by side.

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

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/kitexlog"
	"github.com/copytrade/copytrade/shard"
)

func init() {
	commands["router"] = command{"the stateless router in front of the shard groups", runRouter}
}

func runRouter(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := router.DefaultConfig()
	fs := flag.NewFlagSet("router", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.ListenAddr, "listen", cfg.ListenAddr, "CopyTrade RPC listen host:port")
	fs.StringVar(&cfg.HTTPAddr, "http", "", "host:port serving /metrics (empty: off)")
	fs.StringVar(&cfg.PprofAddr, "pprof", "", "host:port serving /debug/pprof/ on its own listener (empty, the default: off)")
	addrFile := fs.String("addr-file", "", `once serving, write the bound addresses to this file as JSON ({"rpc","http"}; `+
		"atomically; removed at start and at exit). With port 0 in -listen or -http it tells which port was bound")
	topoPath := fs.String("topology", "", "topology file (JSON: groups and their members' raft and RPC addresses); reloaded on SIGHUP")
	keyFile := fs.String("keys", "", "key file (JSON: key ID → hex or base64 secret); reloaded on SIGHUP")
	insecure := fs.Bool("insecure", false, "development only: serve without authentication (no --keys) and without TLS off loopback")
	loadTLS := tlsFlags(fs)
	limits := limitFlags(fs)
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "budget of a forwarded call when the caller sets no deadline")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", cfg.ConnectTimeout, "dial timeout to a member")
	fs.DurationVar(&cfg.RefreshInterval, "refresh-interval", cfg.RefreshInterval, "how often the slot map is relearned")
	fs.DurationVar(&cfg.BackoffMax, "backoff-max", cfg.BackoffMax, "longest wait between retries of MOVING or a leaderless group")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "text or json")
	configPath := fs.String("config", "", "config file (TOML; keys are these flags' names; flags given here override it)")
	check := fs.Bool("check", false, "validate the configuration and exit (copytrade config check)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *configPath != "" {
		if err := applyConfig(fs, *configPath, "router"); err != nil {
			fmt.Fprintln(stderr, "router:", err)
			return 2
		}
	}
	log, _, err := newFormatLogger(*logLevel, *logFormat, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "router:", err)
		return 2
	}
	if !*check {
		kitexlog.Use(log) // Kitex's lines through slog too
	}
	cfg.Logger = log
	if *topoPath == "" {
		fmt.Fprintln(stderr, "router: -topology is required")
		return 2
	}
	topo, err := router.LoadTopology(*topoPath)
	if err != nil {
		fmt.Fprintf(stderr, "router: %v\n", err)
		return 1
	}
	guard, ks, err := loadGuard(*keyFile, *insecure, limits(), log)
	if err != nil {
		fmt.Fprintln(stderr, "router:", err)
		if errors.Is(err, errNoKeys) {
			return 2
		}
		return 1
	}
	if guard != nil {
		cfg.Guard, cfg.Key = guard, ks.Active()
	}
	if cfg.TLS, err = loadTLS(); err != nil {
		fmt.Fprintln(stderr, "router:", err)
		return 2
	}
	cfg.Insecure = *insecure
	rt, err := router.New(cfg, topo)
	if err != nil {
		fmt.Fprintf(stderr, "router: %v\n", err)
		return 1
	}
	if guard != nil {
		rt.Metrics().Registry.MustRegister(guard.Collector())
	}
	if *check {
		return 0
	}
	if *addrFile != "" {
		// A file left by an earlier run must not pass for this run's addresses.
		if err := os.Remove(*addrFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintln(stderr, "router: -addr-file:", err)
			return 1
		}
		defer os.Remove(*addrFile)
	}
	if err := rt.Start(); err != nil {
		fmt.Fprintf(stderr, "router: %v\n", err)
		return 1
	}
	if *addrFile != "" {
		a := routerAddrs{RPC: rt.Addr().String()}
		if h := rt.HTTPAddr(); h != nil {
			a.HTTP = h.String()
		}
		if err := shard.WriteAddrFile(*addrFile, a); err != nil {
			fmt.Fprintln(stderr, "router:", err)
			_ = rt.Close(context.Background())
			return 1
		}
	}
	fmt.Fprintf(stdout, "router: serving CopyTrade on %s for %d groups\n", rt.Addr(), len(topo.Groups))

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := rt.Close(sctx); err != nil {
				log.Error("router shutdown", "err", err)
				return 1
			}
			log.Info("router stopped")
			return 0
		case <-hup:
			if err := rt.Reload(*topoPath); err != nil {
				log.Error("topology reload refused; the previous one stays in force", "err", err)
			} else {
				log.Info("topology reloaded", "path", *topoPath)
			}
			reloadKeys(guard, *keyFile, log)
			reloadTLS(cfg.TLS, log)
		}
	}
}

// routerAddrs is what `router --addr-file` writes.
type routerAddrs struct {
	RPC  string `json:"rpc"`
	HTTP string `json:"http,omitempty"`
}
