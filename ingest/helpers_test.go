package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

func testLogger() *slog.Logger {
	if os.Getenv("TESTCLUSTER_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// newKafka is an in-process Kafka with topics of partitions each.
func newKafka(t *testing.T, partitions int32, topics ...string) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func testConfig(brokers []string, topics ...string) Config {
	cfg := DefaultConfig()
	cfg.Brokers, cfg.Topics = brokers, topics
	cfg.Logger = testLogger()
	cfg.RetryBackoffMax = 50 * time.Millisecond
	cfg.CommitInterval = 100 * time.Millisecond
	cfg.RefreshInterval = 200 * time.Millisecond
	return cfg
}

// kafkaOpts make group joins quick in tests.
var kafkaOpts = WithKafkaOpts(kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(200*time.Millisecond),
	kgo.RebalanceTimeout(10*time.Second), kgo.FetchMaxWait(100*time.Millisecond))

// running is an Ingest being run by a goroutine.
type running struct {
	in   *Ingest
	done chan struct{}
}

func start(t *testing.T, cfg Config, fwd Forwarder, src LeadSource, opts ...Option) *running {
	t.Helper()
	in, err := New(cfg, fwd, src, append([]Option{kafkaOpts}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{in: in, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := in.Run(context.Background()); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	t.Cleanup(r.close)
	return r
}

func (r *running) close() { r.in.Close(); <-r.done }
func (r *running) crash() { r.in.Crash(); <-r.done }

type producer struct {
	t       *testing.T
	cl      *kgo.Client
	brokers []string
}

func newProducer(t *testing.T, brokers []string) *producer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &producer{t: t, cl: cl, brokers: brokers}
}

// send produces records keyed by trader and waits for every acknowledgement; it
// returns their offsets.
func (p *producer) send(topic string, recs ...*kgo.Record) []int64 {
	p.t.Helper()
	for _, r := range recs {
		r.Topic = topic
	}
	res := p.cl.ProduceSync(context.Background(), recs...)
	if err := res.FirstErr(); err != nil {
		p.t.Fatalf("produce: %v", err)
	}
	out := make([]int64, len(res))
	for i, r := range res {
		out[i] = r.Record.Offset
	}
	return out
}

func fillRecord(t *testing.T, f Format, fill *ct.Fill) *kgo.Record {
	t.Helper()
	b, err := Encode(f, fill)
	if err != nil {
		t.Fatal(err)
	}
	return &kgo.Record{Key: []byte(strconv.FormatInt(fill.Trader, 10)), Value: b}
}

func leadFill(trader, tradeID int64) *ct.Fill {
	// Fill contract v2: every test fill is a buy of 0.01, trade IDs from 1, so the
	// venue's position after it is tradeID × 0.01.
	return &ct.Fill{Trader: trader, TradeId: tradeID, Instrument: "BTCUSDT", Side: ct.Side_BUY,
		PositionSide: ct.PositionSide_LONG, Qty: "0.01", Price: "60000", Leverage: 10,
		MarginMode: ct.MarginMode_CROSS, Equity: "100000",
		PositionAfter: fmt.Sprintf("%d.%02d", tradeID/100, tradeID%100), EventTimeNs: time.Now().UnixNano()}
}

// committed is the group's committed offset per partition of topic (−1: none).
func (p *producer) committed(group, topic string, partitions int32) []int64 {
	p.t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	for i := range partitions {
		rt.Partitions = append(rt.Partitions, i)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), p.cl)
	if err != nil {
		p.t.Fatalf("offset fetch: %v", err)
	}
	out := make([]int64, partitions)
	for i := range out {
		out[i] = -1
	}
	for _, t := range resp.Topics {
		for _, pp := range t.Partitions {
			out[pp.Partition] = pp.Offset
		}
	}
	return out
}

// consume reads every record of topic from the start until n were read or timeout.
func (p *producer) consume(topic string, n int, timeout time.Duration) []*kgo.Record {
	p.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		p.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// fakeGroups is a Forwarder and LeadSource standing in for the groups: it applies each
// (trader, trade ID) once (DUPLICATE_FILL after), answers UNAVAILABLE for traders
// whose group is down, and records what it applied, in order, per trader.
type fakeGroups struct {
	mu      sync.Mutex
	leads   map[int64]bool
	down    map[int64]bool
	applied map[int64][]int64 // trader → trade IDs in apply order
	seen    map[[2]int64]bool
	unavail int
}

func newFakeGroups(leads ...int64) *fakeGroups {
	g := &fakeGroups{leads: map[int64]bool{}, down: map[int64]bool{}, applied: map[int64][]int64{}, seen: map[[2]int64]bool{}}
	for _, l := range leads {
		g.leads[l] = true
	}
	return g
}

func (g *fakeGroups) LeadTraders(context.Context) ([]int64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []int64
	for l := range g.leads {
		out = append(out, l)
	}
	return out, nil
}

func (g *fakeGroups) ForwardFills(_ context.Context, req *ct.SubmitFillsRequest) ([]*ct.FillOutcome, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*ct.FillOutcome, len(req.Fills))
	for i, f := range req.Fills {
		k := [2]int64{f.Trader, f.TradeId}
		o := &ct.FillOutcome{Trader: f.Trader, TradeId: f.TradeId}
		switch {
		case g.down[f.Trader]:
			o.Code = ct.ErrorCode_UNAVAILABLE
			g.unavail++
		case !g.leads[f.Trader]:
			o.Code = ct.ErrorCode_NOT_LEAD_TRADER
		case g.seen[k]:
			o.Code = ct.ErrorCode_DUPLICATE_FILL
		default:
			g.seen[k] = true
			g.applied[f.Trader] = append(g.applied[f.Trader], f.TradeId)
		}
		out[i] = o
	}
	return out, nil
}

func (g *fakeGroups) appliedOf(trader int64) []int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int64(nil), g.applied[trader]...)
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
