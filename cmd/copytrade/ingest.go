package main

// `copytrade ingest`: consumes the trading system's fill topics from Kafka, keeps only
// lead traders' fills and forwards them through an in-process router (the router's
// forwarding code, not a hop through a router process). Run as many as the topics have
// partitions; they share the consumer group.

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

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/copytrade/copytrade/ingest"
	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/ops"
)

func init() {
	commands["ingest"] = command{"consume fills from Kafka, filter lead traders, forward to the groups", runIngest}
}

func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := ingest.DefaultConfig()
	rc := router.DefaultConfig()
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka bootstrap brokers, comma-separated host:port")
	topics := fs.String("topics", "copytrade.fills", "fill topics, comma-separated (keyed by trader)")
	fs.StringVar(&cfg.Group, "group", cfg.Group, "Kafka consumer group shared by every ingest replica")
	format := fs.String("format", "json", "record format of fill v2: json (sonic) or thrift (binary)")
	fs.StringVar(&cfg.DeadLetterTopic, "dlq", cfg.DeadLetterTopic, "dead-letter topic for malformed records")
	topoPath := fs.String("topology", "", "topology file (the router's: groups and members)")
	keyFile := fs.String("keys", "", "key file; the active key signs the ingest's trading-system token")
	insecure := fs.Bool("insecure", false, "call the groups without a token or TLS certificate (development only)")
	loadTLS := tlsFlags(fs) // mutual TLS to the groups; a trading-system certificate needs no --keys
	kafkaTLS := kafkaTLSFlags(fs)
	httpAddr := fs.String("http", "", "host:port serving /metrics and /debug/pprof/ (empty: off)")
	wait := fs.String("wait", "commit", "what a forwarded batch waits for: commit or acked")
	fs.IntVar(&cfg.MaxBatch, "max-batch", cfg.MaxBatch, "fills per forwarded batch (<= 1000)")
	fs.IntVar(&cfg.MaxBuffered, "max-buffered", cfg.MaxBuffered, "records held per partition before its fetching pauses")
	fs.IntVar(&cfg.MaxInFlight, "max-in-flight", cfg.MaxInFlight, "batches in flight over all partitions")
	fs.DurationVar(&cfg.RefreshInterval, "refresh-interval", cfg.RefreshInterval, "periodic relearning of the lead-trader set")
	fs.DurationVar(&cfg.ClockSkew, "clock-skew", cfg.ClockSkew, "how far record timestamps may run ahead of this clock")
	fs.IntVar(&cfg.MaxLeadTraders, "max-lead-traders", cfg.MaxLeadTraders, "exact set up to this many traders (8 bytes each); a Bloom filter of that size beyond")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log, _, err := newLogger(*logLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "ingest:", err)
		return 2
	}
	cfg.Logger, rc.Logger = log, log
	cfg.Brokers, cfg.Topics = splitList(*brokers), splitList(*topics)
	if cfg.Format, err = ingest.ParseFormat(*format); err != nil {
		fmt.Fprintln(stderr, "ingest:", err)
		return 2
	}
	switch strings.ToLower(*wait) {
	case "commit":
		cfg.Wait = ct.WaitFor_COMMIT
	case "acked":
		cfg.Wait = ct.WaitFor_ACKED
	default:
		fmt.Fprintf(stderr, "ingest: -wait must be commit or acked, got %q\n", *wait)
		return 2
	}
	if *topoPath == "" {
		fmt.Fprintln(stderr, "ingest: -topology is required")
		return 2
	}
	topo, err := router.LoadTopology(*topoPath)
	if err != nil {
		fmt.Fprintln(stderr, "ingest:", err)
		return 1
	}
	if rc.TLS, err = loadTLS(); err != nil {
		fmt.Fprintln(stderr, "ingest:", err)
		return 2
	}
	var kopts []ingest.Option
	ktls, err := kafkaTLS()
	if err != nil {
		fmt.Fprintln(stderr, "ingest:", err)
		return 2
	} else if ktls != nil {
		kopts = append(kopts, ingest.WithKafkaOpts(kgo.DialTLSConfig(ktls.Config())))
	}
	backend := &ingest.RouterBackend{}
	switch {
	case rc.TLS != nil && *keyFile == "":
		if id := rc.TLS.Identity(); auth.Role(id.Role) != auth.RoleTradingSystem {
			fmt.Fprintf(stderr, "ingest: without --keys the TLS certificate must name the trading-system role (copytrade://role/trading-system/<name>), not %s\n", id)
			return 2
		}
		log.Info("calling the groups as the certificate's trading-system identity", "identity", rc.TLS.Identity().String())
	case *keyFile != "":
		ks, err := auth.LoadKeys(*keyFile)
		if err != nil {
			fmt.Fprintln(stderr, "ingest:", err)
			return 1
		}
		rc.Key = ks.Active()
		backend.Auth = (&ingest.Tokens{Key: ks.Active(), TTL: time.Hour}).Auth
	case !*insecure:
		fmt.Fprintln(stderr, "ingest:", errNoKeys)
		return 2
	default:
		log.Warn("calling the groups without a token (-insecure)")
	}
	if backend.R, err = router.New(rc, topo); err != nil {
		fmt.Fprintln(stderr, "ingest:", err)
		return 1
	}
	defer backend.R.Close(context.Background())
	in, err := ingest.New(cfg, backend, backend, kopts...)
	if err != nil {
		fmt.Fprintln(stderr, "ingest:", err)
		if errors.Is(err, ingest.ErrInvalidConfig) {
			return 2
		}
		return 1
	}
	if *httpAddr != "" {
		addr, stop, err := ops.Serve(*httpAddr, in.Metrics().Registry, log)
		if err != nil {
			in.Close()
			fmt.Fprintln(stderr, "ingest:", err)
			return 1
		}
		defer stop(context.Background())
		log.Info("serving metrics", "addr", addr.String())
	}
	fmt.Fprintf(stdout, "ingest: consuming %s from %s as group %s (%s), forwarding to %d groups\n",
		strings.Join(cfg.Topics, ","), strings.Join(cfg.Brokers, ","), cfg.Group, cfg.Format, len(topo.Groups))
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	runErr := make(chan error, 1)
	go func() { runErr <- in.Run(ctx) }()
	for loop := true; loop; {
		select {
		case err = <-runErr:
			loop = false
		case <-hup:
			reloadTLS(rc.TLS, log)    // the certificate the groups see
			reloadKafkaTLS(ktls, log) // the brokers' CA and our client certificate
		}
	}
	in.Close()
	st := in.Stats()
	fmt.Fprintf(stdout, "ingest: stopped: records=%d filtered=%d forwarded=%d dead_letters=%d lag_max=%d\n",
		st.Records, st.Filtered, st.Forwarded, st.DeadLetters, st.LagMax)
	if err != nil {
		fmt.Fprintln(stderr, "ingest:", err)
		return 1
	}
	return 0
}
