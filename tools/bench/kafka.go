package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/copytrade/copytrade/ingest"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// The --fills kafka phases (design §8): the trading system's fill stream through an
// in-process Kafka (franz-go's kfake, in the bench process) and a `copytrade ingest`
// process, with 90 % of the records fills of accounts that do not lead (the filter's
// work). Two figures, beside the RPC path's latency scenario of the same run:
//
//   - latency: lead fills at LatencyRate/s (Poisson) with their noise; the ingest's own
//     histogram, record timestamp → every copier order acknowledged (wait=ACKED);
//   - throughput: KafkaRecords records produced while the ingest is stopped, then the
//     time from its first record consumed to the last one done: records/s.

const (
	kafkaTopic = "copytrade.fills"
	kafkaDLQ   = "copytrade.fills.dlq"
	// noisePerLead: 9 non-lead fills per lead fill (90 % noise).
	noisePerLead = 9
	// noiseAccounts are the non-lead accounts' IDs: far from the seeded traders/copiers.
	noiseBase, noiseAccounts = 8_000_000_000, 100_000
)

// KafkaResult is the --fills kafka figures.
type KafkaResult struct {
	Partitions int32   `json:"partitions"`
	NoiseRatio float64 `json:"noise_ratio"`
	// LeadRate is the latency phase's lead fills/s (its records/s is 10 × that).
	LeadRate float64 `json:"lead_rate"`
	// Latency: record timestamp → every copier order acknowledged, from the ingest's
	// copytrade_ingest_latency_seconds (bucket-interpolated).
	Latency Scraped `json:"latency"`
	// RPCLatency: the same run's latency scenario (SubmitFill → acknowledged), if run.
	RPCLatency *Dist `json:"rpc_latency,omitempty"`
	// Throughput phase.
	Records      int64   `json:"records"`
	LeadFills    int64   `json:"lead_fills"`
	ElapsedSec   float64 `json:"elapsed_s"`
	RecordsPerS  float64 `json:"records_per_s"`
	ForwardPerS  float64 `json:"forwarded_per_s"`
	FilteredPerS float64 `json:"filtered_per_s"`
}

// kafkaIngest is a `copytrade ingest` process of the bench.
type kafkaIngest struct {
	proc *Proc
	http string
}

func (r *runner) startIngest(ctx context.Context, brokers []string, n int) (*kafkaIngest, error) {
	c := r.cluster
	if c.sup == nil || c.Dir == "" {
		return nil, fmt.Errorf("bench: --fills kafka needs a cluster the bench started (its topology and key files)")
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	bin, err := binaryOf(r.cfg)
	if err != nil {
		return nil, err
	}
	args := []string{"ingest", "--brokers", brokers[0], "--topics", kafkaTopic, "--dlq", kafkaDLQ,
		"--topology", filepath.Join(c.Dir, "topology.json"), "--keys", filepath.Join(c.Dir, "keys.json"),
		"--wait", "acked", "--http", ports[0], "--log-level", "warn"}
	p, err := c.sup.Start(fmt.Sprintf("ingest-%d", n), bin, args, filepath.Join(c.Dir, fmt.Sprintf("ingest-%d.log", n)))
	if err != nil {
		return nil, err
	}
	if err := waitListening(ctx, ports[0], 15*time.Second, p); err != nil {
		return nil, fmt.Errorf("bench: ingest did not start (log %s): %w", p.LogPath, err)
	}
	return &kafkaIngest{proc: p, http: ports[0]}, nil
}

// stop ends the ingest with SIGTERM (it commits what is done) and waits.
func (k *kafkaIngest) stop() {
	k.proc.signal(syscall.SIGTERM)
	select {
	case <-k.proc.Done():
	case <-time.After(10 * time.Second):
		k.proc.Kill()
	}
}

// metric sums a counter's or gauge's series on the ingest's /metrics (−1 when unread).
func (k *kafkaIngest) metric(ctx context.Context, name string) float64 {
	fams, err := scrape(ctx, "http://"+k.http+"/metrics")
	if err != nil {
		return -1
	}
	f, ok := fams[name]
	if !ok {
		return 0
	}
	sum := 0.0
	for _, m := range f.GetMetric() {
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			sum += m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			sum += m.GetGauge().GetValue()
		}
	}
	return sum
}

func (k *kafkaIngest) wait(ctx context.Context, what string, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: ingest: %s: not within %s (log %s)", what, timeout, k.proc.LogPath)
		}
		if k.proc.Exited() {
			return fmt.Errorf("bench: ingest exited: %v (log %s)", k.proc.Err(), k.proc.LogPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
	return nil
}

// kafka runs the latency and throughput phases of the Kafka fill path.
func (r *runner) kafka(ctx context.Context, gens []*traderGen, rpc *LoadResult) (*KafkaResult, error) {
	const partitions = 8
	kf, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, kafkaTopic, kafkaDLQ))
	if err != nil {
		return nil, fmt.Errorf("bench: kafka: %w", err)
	}
	defer kf.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(kf.ListenAddrs()...), kgo.DefaultProduceTopic(kafkaTopic),
		kgo.ProducerLinger(time.Millisecond), kgo.MaxBufferedRecords(1<<20))
	if err != nil {
		return nil, fmt.Errorf("bench: kafka producer: %w", err)
	}
	defer prod.Close()
	res := &KafkaResult{Partitions: partitions, NoiseRatio: noisePerLead / float64(noisePerLead+1), LeadRate: r.cfg.LatencyRate}
	if rpc != nil {
		res.RPCLatency = &rpc.Latency
	}
	rng := rand.New(rand.NewPCG(r.cfg.Seed, 15))
	noiseTrade := int64(0)
	var produced int64
	emit := func(f *ct.Fill) error {
		b, err := ingest.Encode(ingest.FormatJSON, f)
		if err != nil {
			return err
		}
		produced++
		prod.Produce(ctx, &kgo.Record{Key: []byte(strconv.FormatInt(f.Trader, 10)), Value: b, Timestamp: time.Now()}, nil)
		return nil
	}
	// One lead fill of a random trader and its noise.
	emitGroup := func() error {
		g := gens[rng.IntN(len(gens))]
		f := g.next(r.marks.get(g.inst.Symbol))
		if err := emit(f); err != nil {
			return err
		}
		for range noisePerLead {
			noiseTrade++
			n := *f
			n.Trader, n.TradeId = noiseBase+rng.Int64N(noiseAccounts), noiseTrade
			if err := emit(&n); err != nil {
				return err
			}
		}
		return nil
	}

	// Latency: the ingest consumes live.
	ing, err := r.startIngest(ctx, kf.ListenAddrs(), 1)
	if err != nil {
		return nil, err
	}
	if err := ing.wait(ctx, "lead-trader set learned", 30*time.Second, func() bool {
		return ing.metric(ctx, "copytrade_ingest_lead_traders") >= float64(len(gens))
	}); err != nil {
		return nil, err
	}
	run := func(d time.Duration) error {
		end := time.Now().Add(d)
		for next := time.Now(); time.Now().Before(end); {
			next = next.Add(time.Duration(rng.ExpFloat64() / r.cfg.LatencyRate * float64(time.Second)))
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(next)):
			}
			if err := emitGroup(); err != nil {
				return err
			}
		}
		return nil
	}
	caughtUp := func() bool {
		return ing.metric(ctx, "copytrade_ingest_records_total") >= float64(produced) && ing.metric(ctx, "copytrade_ingest_consumer_lag") == 0
	}
	r.log.Info("kafka latency phase", "lead_rate", r.cfg.LatencyRate, "noise_per_lead", noisePerLead)
	if err := run(r.cfg.Warmup); err != nil {
		return nil, err
	}
	if err := ing.wait(ctx, "warm-up consumed", 60*time.Second, caughtUp); err != nil {
		return nil, err
	}
	before, err := scrape(ctx, "http://"+ing.http+"/metrics")
	if err != nil {
		return nil, err
	}
	if err := run(r.cfg.Duration); err != nil {
		return nil, err
	}
	if err := prod.Flush(ctx); err != nil {
		return nil, err
	}
	if err := ing.wait(ctx, "latency phase consumed", 60*time.Second, caughtUp); err != nil {
		return nil, err
	}
	after, err := scrape(ctx, "http://"+ing.http+"/metrics")
	if err != nil {
		return nil, err
	}
	hb, okb := histOf(before, "copytrade_ingest_latency_seconds", nil)
	ha, oka := histOf(after, "copytrade_ingest_latency_seconds", nil)
	if okb && oka {
		d := ha.minus(hb)
		if d.count > 0 {
			res.Latency = Scraped{Metric: "ingest: record timestamp → copier orders acknowledged", Count: d.count,
				P50: r3(d.quantile(0.5) * 1000), P99: r3(d.quantile(0.99) * 1000), Mean: r3(d.sum / float64(d.count) * 1000)}
		}
	}
	ing.stop()

	// Throughput: a backlog produced while no ingest runs, then consumed from the
	// group's committed offsets by a fresh ingest.
	groups := int64(max(r.cfg.KafkaRecords/(noisePerLead+1), 1))
	for range groups {
		if err := emitGroup(); err != nil {
			return nil, err
		}
	}
	if err := prod.Flush(ctx); err != nil {
		return nil, err
	}
	res.Records, res.LeadFills = groups*(noisePerLead+1), groups
	r.log.Info("kafka throughput phase", "records", res.Records, "lead_fills", res.LeadFills)
	ing, err = r.startIngest(ctx, kf.ListenAddrs(), 2)
	if err != nil {
		return nil, err
	}
	defer ing.stop()
	var t0 time.Time
	if err := ing.wait(ctx, "first record consumed", 60*time.Second, func() bool {
		return ing.metric(ctx, "copytrade_ingest_records_total") > 0
	}); err != nil {
		return nil, err
	}
	t0 = time.Now()
	if err := ing.wait(ctx, "backlog done", 10*time.Minute, func() bool {
		return ing.metric(ctx, "copytrade_ingest_records_total") >= float64(res.Records) &&
			ing.metric(ctx, "copytrade_ingest_forwarded_total") >= float64(res.LeadFills) &&
			ing.metric(ctx, "copytrade_ingest_consumer_lag") == 0
	}); err != nil {
		return nil, err
	}
	el := time.Since(t0).Seconds()
	res.ElapsedSec = r3(el)
	res.RecordsPerS = r3(float64(res.Records) / el)
	res.ForwardPerS = r3(float64(res.LeadFills) / el)
	res.FilteredPerS = r3(ing.metric(ctx, "copytrade_ingest_filtered_total") / el)
	return res, nil
}

// binaryOf is the copytrade binary the bench starts processes from.
func binaryOf(cfg *Config) (string, error) {
	if cfg.Binary != "" {
		return cfg.Binary, nil
	}
	bin, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("bench: locate the copytrade binary: %w", err)
	}
	return bin, nil
}

// writeKafka prints the --fills kafka figures under the table.
func (r *Report) writeKafka(w io.Writer) {
	k := r.Kafka
	if k == nil {
		return
	}
	fmt.Fprintf(w, "fills via Kafka (%d partitions, %.0f %% non-lead noise, ingest wait=ACKED):\n", k.Partitions, 100*k.NoiseRatio)
	fmt.Fprintf(w, "  latency at %.0f lead fills/s: record → copier orders acknowledged p50 %.2f p99 %.2f ms (%d fills, bucket-interpolated)",
		k.LeadRate, k.Latency.P50, k.Latency.P99, k.Latency.Count)
	if k.RPCLatency != nil {
		fmt.Fprintf(w, "; RPC path (SubmitFill → acknowledged) p50 %.2f p99 %.2f ms", k.RPCLatency.P50, k.RPCLatency.P99)
	}
	fmt.Fprintf(w, "\n  throughput: %d records (%d lead fills) in %.2f s: %.0f records/s, %.0f forwarded/s, %.0f filtered/s\n",
		k.Records, k.LeadFills, k.ElapsedSec, k.RecordsPerS, k.ForwardPerS, k.FilteredPerS)
}
