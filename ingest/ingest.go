// Package ingest is `copytrade ingest`: it consumes the trading system's fill topics
// from Kafka (franz-go, one consumer group), drops fills of traders that do not lead
// before any RPC, forwards the rest through the router's forwarding code in batches,
// and commits a partition's offset only once every fill before it was applied or
// refused for good. See DESIGN.md.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Forwarder forwards a batch of fills and answers one outcome per fill, in order: the
// router's ForwardFills (RouterBackend).
type Forwarder interface {
	ForwardFills(ctx context.Context, req *ct.SubmitFillsRequest) ([]*ct.FillOutcome, error)
}

var errOutcomes = errors.New("ingest: the forwarder answered a different number of outcomes than fills")

type tp struct {
	topic string
	part  int32
}

// Ingest is one consumer-group member. Run it with Run; many may run side by side (as
// many as the topics have partitions do work).
type Ingest struct {
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	fwd     Forwarder
	filter  *leadFilter
	cl      *kgo.Client
	sem     chan struct{}
	onFinal func(*ct.Fill, *ct.FillOutcome, time.Time) // every final answer, with the record's timestamp
	extra   []kgo.Opt

	ctx    context.Context
	cancel context.CancelFunc

	mu    sync.Mutex
	parts map[tp]*partition

	runOnce   sync.Once
	closeOnce sync.Once
	crashed   atomic.Bool // tests: Crash, no commit on the way out
	bg        sync.WaitGroup
}

// Option adjusts an Ingest (tests and embedding).
type Option func(*Ingest)

// WithKafkaOpts appends franz-go client options (timeouts, a dialer, ...).
func WithKafkaOpts(opts ...kgo.Opt) Option {
	return func(in *Ingest) { in.extra = append(in.extra, opts...) }
}

// WithOnFinal calls fn with every fill answered for good (applied, duplicate or
// refused) and its record's timestamp, from the partition's goroutine.
func WithOnFinal(fn func(f *ct.Fill, o *ct.FillOutcome, produced time.Time)) Option {
	return func(in *Ingest) { in.onFinal = fn }
}

// New connects a consumer-group member; Run consumes.
func New(cfg Config, fwd Forwarder, src LeadSource, opts ...Option) (*Ingest, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	in := &Ingest{cfg: cfg, log: log.With("component", "ingest"), metrics: newMetrics(), fwd: fwd,
		sem: make(chan struct{}, cfg.MaxInFlight), parts: map[tp]*partition{}}
	in.ctx, in.cancel = context.WithCancel(context.Background())
	in.filter = newLeadFilter(src, cfg, in.log, in.metrics)
	for _, o := range opts {
		o(in)
	}
	kopts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeTopics(cfg.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.BlockRebalanceOnPoll(),
		// Fetched but not yet polled data is bounded too (franz-go's default is 50 MiB).
		kgo.FetchMaxBytes(16 << 20),
		kgo.FetchMaxPartitionBytes(1 << 20),
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(cfg.CommitInterval),
		kgo.OnPartitionsAssigned(in.assigned),
		kgo.OnPartitionsRevoked(in.revoked),
		kgo.OnPartitionsLost(in.lost),
		kgo.DefaultProduceTopic(cfg.DeadLetterTopic),
		kgo.ProducerLinger(0),
		kgo.WithLogger(kgoLogger{in.log}),
	}
	cl, err := kgo.NewClient(append(kopts, in.extra...)...)
	if err != nil {
		in.cancel()
		return nil, fmt.Errorf("ingest: kafka client: %w", err)
	}
	in.cl = cl
	return in, nil
}

// Metrics exposes the collectors.
func (in *Ingest) Metrics() *Metrics { return in.metrics }

// Stats are running totals for a one-line summary.
type Stats struct {
	Records, Filtered, Forwarded, DeadLetters int64
	LagMax                                    int64
}

// Stats returns the totals so far and the largest partition lag now.
func (in *Ingest) Stats() Stats {
	s := Stats{Records: in.metrics.stats.records.Load(), Filtered: in.metrics.stats.filtered.Load(),
		Forwarded: in.metrics.stats.forwarded.Load(), DeadLetters: in.metrics.stats.dead.Load()}
	in.mu.Lock()
	for _, p := range in.parts {
		hwm, next := p.hwm.Load(), p.next.Load()
		if hwm < 0 {
			continue
		}
		if next < 0 {
			next = hwm - p.queued.Load()
		}
		s.LagMax = max(s.LagMax, hwm-next)
	}
	in.mu.Unlock()
	return s
}

// Run consumes until ctx ends or Close; it returns nil then.
func (in *Ingest) Run(ctx context.Context) error {
	started := false
	in.runOnce.Do(func() { started = true })
	if !started {
		return errors.New("ingest: Run called twice")
	}
	in.bg.Add(1)
	go func() { defer in.bg.Done(); in.filter.run(in.ctx) }()
	stop := context.AfterFunc(ctx, in.cancel)
	defer stop()
	for in.ctx.Err() == nil {
		// A poll hands over at most a quarter of a partition's buffer, so a partition
		// holds at most about 1.25 × MaxBuffered records before its pause takes effect.
		fs := in.cl.PollRecords(in.ctx, min(max(in.cfg.MaxBuffered/4, 1), 4*in.cfg.MaxBatch))
		if fs.IsClientClosed() || in.ctx.Err() != nil {
			in.cl.AllowRebalance()
			break
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				in.log.Warn("fetch error", "topic", t, "partition", p, "err", err)
			}
		})
		fs.EachPartition(func(ftp kgo.FetchTopicPartition) {
			p := in.partition(ftp.Topic, ftp.Partition)
			p.hwm.Store(ftp.HighWatermark)
			if len(ftp.Records) > 0 && !p.push(ftp.Records) {
				in.pause(p)
			}
		})
		in.cl.AllowRebalance()
	}
	return nil
}

// Close stops consuming: every partition's batch in flight may finish within
// RevokeGrace, marked offsets are committed, the member leaves its group.
func (in *Ingest) Close() {
	in.closeOnce.Do(func() {
		in.cl.CloseAllowingRebalance() // revokes: stops partitions, commits
		in.cancel()
		in.stopAll(0)
		in.bg.Wait()
	})
}

// Crash stops like a killed process as far as Kafka can tell: batches in flight are
// cancelled (their fills may or may not apply), nothing more is committed. Only
// offsets the auto-commit already sent stay. (Tests: restart, replay, dedup.)
func (in *Ingest) Crash() {
	in.crashed.Store(true)
	in.cancel()
	in.Close()
}

func (in *Ingest) partition(topic string, part int32) *partition {
	in.mu.Lock()
	defer in.mu.Unlock()
	k := tp{topic, part}
	p := in.parts[k]
	if p == nil {
		p = newPartition(in, topic, part)
		in.parts[k] = p
	}
	return p
}

func (in *Ingest) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	for t, ps := range m {
		for _, p := range ps {
			in.partition(t, p)
		}
	}
	in.log.Info("partitions assigned", "partitions", fmtParts(m))
}

// revoked: stop the partitions (their in-flight batch may finish), then commit what
// they marked, before another member starts on them.
func (in *Ingest) revoked(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
	in.stop(m, in.cfg.RevokeGrace)
	if in.crashed.Load() {
		return
	}
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		in.log.Warn("committing on revoke failed; the next owner replays from the last commit", "err", err)
	}
	if len(m) > 0 {
		in.log.Info("partitions revoked", "partitions", fmtParts(m))
	}
}

// lost: another member may already own them; stop at once, commit nothing.
func (in *Ingest) lost(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	in.stop(m, 0)
	if len(m) > 0 {
		in.log.Warn("partitions lost; the next owner replays from the last commit", "partitions", fmtParts(m))
	}
}

func (in *Ingest) stop(m map[string][]int32, grace time.Duration) {
	var ps []*partition
	in.mu.Lock()
	for t, parts := range m {
		for _, part := range parts {
			if p := in.parts[tp{t, part}]; p != nil {
				ps = append(ps, p)
				delete(in.parts, tp{t, part})
			}
		}
	}
	in.mu.Unlock()
	in.stopParts(ps, grace)
}

func (in *Ingest) stopAll(grace time.Duration) {
	in.mu.Lock()
	var ps []*partition
	for k, p := range in.parts {
		ps = append(ps, p)
		delete(in.parts, k)
	}
	in.mu.Unlock()
	in.stopParts(ps, grace)
}

// stopParts stops partitions and resumes the fetching of any that were paused: a
// pause outlives the assignment in franz-go, and the partition may come back to this
// member.
func (in *Ingest) stopParts(ps []*partition, grace time.Duration) {
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); p.stop(grace) }()
	}
	wg.Wait()
	for _, p := range ps {
		in.resume(p, true)
		in.metrics.lag.DeleteLabelValues(p.topic, p.label)
	}
}

// mark makes offset (the next to consume) committable for a partition.
func (in *Ingest) mark(topic string, part int32, epoch int32, offset int64) {
	in.cl.MarkCommitOffsets(map[string]map[int32]kgo.EpochOffset{topic: {part: {Epoch: epoch, Offset: offset}}})
}

// pause stops fetching p while it holds MaxBuffered records or more. The check and the
// call are under p's pause lock, like resume's: a resume can never run between the
// decision to pause and the pause itself (that would leave p paused for good).
func (in *Ingest) pause(p *partition) {
	p.pauseMu.Lock()
	defer p.pauseMu.Unlock()
	if p.paused || p.queued.Load() < int64(in.cfg.MaxBuffered) {
		return
	}
	in.cl.PauseFetchPartitions(map[string][]int32{p.topic: {p.part}})
	p.paused = true
	in.metrics.paused.Inc()
}

// resume lets p fetch again once it holds less than half of MaxBuffered (any number
// when force: the partition is being given up).
func (in *Ingest) resume(p *partition, force bool) {
	p.pauseMu.Lock()
	defer p.pauseMu.Unlock()
	if !p.paused || !force && p.queued.Load() >= int64(in.cfg.MaxBuffered/2) {
		return
	}
	in.cl.ResumeFetchPartitions(map[string][]int32{p.topic: {p.part}})
	p.paused = false
	in.metrics.paused.Dec()
}

// produceDLQ sends a malformed record to the dead-letter topic; it is done (and its
// offset committable) once Kafka acknowledged it. A failed produce is retried.
func (in *Ingest) produceDLQ(p *partition, it *item, cause error) {
	r := it.rec
	dl := &kgo.Record{Topic: in.cfg.DeadLetterTopic, Key: r.Key, Value: r.Value, Headers: append(r.Headers[:len(r.Headers):len(r.Headers)],
		kgo.RecordHeader{Key: "source_topic", Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: "source_partition", Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: "source_offset", Value: []byte(strconv.FormatInt(r.Offset, 10))},
		kgo.RecordHeader{Key: "error", Value: []byte(cause.Error())})}
	var produce func()
	produce = func() {
		in.cl.Produce(p.ctx, dl, func(_ *kgo.Record, err error) {
			switch {
			case err == nil:
				it.st.Store(stDone)
				p.poke()
			case p.ctx.Err() != nil: // stopping: the next owner replays and dead-letters it again
			default:
				in.log.Warn("dead-letter produce failed; retrying", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
				time.AfterFunc(time.Second, produce)
			}
		})
	}
	produce()
}

func fmtParts(m map[string][]int32) string {
	s := ""
	for t, ps := range m {
		if s != "" {
			s += " "
		}
		s += fmt.Sprintf("%s%v", t, ps)
	}
	return s
}

// kgoLogger sends franz-go's logs to slog (info and above).
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelInfo }

func (k kgoLogger) Log(level kgo.LogLevel, msg string, kv ...any) {
	switch level {
	case kgo.LogLevelError:
		k.l.Warn(msg, kv...) // the client retries; the ingest's own logs say what failed for good
	case kgo.LogLevelWarn:
		k.l.Warn(msg, kv...)
	default:
		k.l.Debug(msg, kv...)
	}
}
