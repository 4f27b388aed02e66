package devcluster

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/copytrade/copytrade/ingest"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// The embedded default fill path (design §8): an in-process Kafka (franz-go's kfake)
// with a fills topic, exchsim publishing every fill of every account to it (lead
// traders' and copiers' alike: the filter must do its job), and an ingest consuming it
// through the cluster's router.

// FillsTopic and DeadLetterTopic are the dev cluster's topics.
const (
	FillsTopic      = "copytrade.fills"
	DeadLetterTopic = "copytrade.fills.dlq"
)

// KafkaOptions configures StartKafka.
type KafkaOptions struct {
	// Partitions of the fills topic (>= 1).
	Partitions int32
	// Format of the records.
	Format ingest.Format
	// Wait is what the ingest's batches wait for (ACKED: the summary's placed and
	// rejected counts, and latency to every copier order acknowledged).
	Wait ct.WaitFor
}

// DefaultKafkaOptions: 8 partitions, JSON, ACKED.
func DefaultKafkaOptions() KafkaOptions {
	return KafkaOptions{Partitions: 8, Format: ingest.FormatJSON, Wait: ct.WaitFor_ACKED}
}

// Kafka is the running pipeline: broker, exchsim's publisher, ingest.
type Kafka struct {
	kf     *kfake.Cluster
	prod   *kgo.Client
	in     *ingest.Ingest
	sim    *exchsim.Sim
	format ingest.Format
	done   chan struct{}

	published, acked, failed atomic.Int64
	onFinal                  atomic.Pointer[func(*ct.Fill, *ct.FillOutcome, time.Time)]
}

// SetOnFinal makes fn see every fill the ingest got a final answer for (nil: none).
func (k *Kafka) SetOnFinal(fn func(f *ct.Fill, o *ct.FillOutcome, produced time.Time)) {
	if fn == nil {
		k.onFinal.Store(nil)
		return
	}
	k.onFinal.Store(&fn)
}

// StartKafka starts the broker, makes exchsim publish every fill to FillsTopic and
// runs an ingest on it. Close stops it (before the cluster).
func (c *Cluster) StartKafka(opts KafkaOptions) (*Kafka, error) {
	if opts.Partitions < 1 {
		return nil, fmt.Errorf("devcluster: kafka: Partitions must be >= 1, got %d", opts.Partitions)
	}
	kf, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(opts.Partitions, FillsTopic, DeadLetterTopic))
	if err != nil {
		return nil, fmt.Errorf("devcluster: kafka: %w", err)
	}
	k := &Kafka{kf: kf, sim: c.Sim(), format: opts.Format, done: make(chan struct{})}
	k.prod, err = kgo.NewClient(kgo.SeedBrokers(kf.ListenAddrs()...), kgo.DefaultProduceTopic(FillsTopic),
		kgo.ProducerLinger(time.Millisecond), kgo.MaxBufferedRecords(1<<20))
	if err != nil {
		kf.Close()
		return nil, fmt.Errorf("devcluster: kafka producer: %w", err)
	}
	cfg := ingest.DefaultConfig()
	cfg.Brokers, cfg.Topics, cfg.DeadLetterTopic = kf.ListenAddrs(), []string{FillsTopic}, DeadLetterTopic
	cfg.Format, cfg.Wait, cfg.Logger = opts.Format, opts.Wait, c.log
	backend := &ingest.RouterBackend{R: c.rt, Auth: func(ctx context.Context) context.Context { return auth.WithToken(ctx, c.tradeToken) }}
	onFinal := ingest.WithOnFinal(func(f *ct.Fill, o *ct.FillOutcome, produced time.Time) {
		if fn := k.onFinal.Load(); fn != nil {
			(*fn)(f, o, produced)
		}
	})
	if k.in, err = ingest.New(cfg, backend, backend, onFinal); err != nil {
		k.prod.Close()
		kf.Close()
		return nil, fmt.Errorf("devcluster: %w", err)
	}
	go func() {
		defer close(k.done)
		_ = k.in.Run(context.Background())
	}()
	k.sim.SetFillPublisher(k.publish)
	return k, nil
}

// publish produces one venue fill, keyed by account (a trader's fills stay in order in
// one partition), stamped with the venue's fill time.
func (k *Kafka) publish(f exchsim.LeadFill) {
	b, err := ingest.Encode(k.format, FillOf(f))
	if err != nil {
		k.failed.Add(1)
		return
	}
	k.published.Add(1)
	k.prod.Produce(context.Background(), &kgo.Record{Key: []byte(strconv.FormatInt(f.Trader, 10)), Value: b,
		Timestamp: time.Unix(0, f.TimeUnixNano)}, func(_ *kgo.Record, err error) {
		if err != nil {
			k.failed.Add(1)
			return
		}
		k.acked.Add(1)
	})
}

// Stats are the ingest's totals.
func (k *Kafka) Stats() ingest.Stats { return k.in.Stats() }

// Line is the summary's ingest line.
func (k *Kafka) Line() string {
	s := k.Stats()
	return fmt.Sprintf("ingest: records=%d filtered=%d forwarded=%d lag_max=%d", s.Records, s.Filtered, s.Forwarded, s.LagMax)
}

// Drain waits until every fill published so far was produced and consumed and no
// partition lags, or ctx ends.
func (k *Kafka) Drain(ctx context.Context) error {
	if err := k.prod.Flush(ctx); err != nil {
		return fmt.Errorf("devcluster: kafka flush: %w", err)
	}
	for {
		s := k.in.Stats()
		if s.Records >= k.acked.Load() && s.LagMax == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devcluster: ingest still behind (records %d of %d, lag %d): %w", s.Records, k.acked.Load(), s.LagMax, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Close stops publishing, the ingest, the producer and the broker.
func (k *Kafka) Close() {
	k.sim.SetFillPublisher(nil)
	k.in.Close()
	<-k.done
	k.prod.Close()
	k.kf.Close()
}

// nopSink accepts the activity's fills: on the Kafka path they reach copytrade through
// the venue's fill stream, not a push.
type nopSink struct{}

func (nopSink) PublishFills(context.Context, []exchsim.LeadFill) error { return nil }
