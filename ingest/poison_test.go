package ingest

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// TestIngestPoisonRecord: malformed records (undecodable, no trader, a lead fill
// failing edge validation) are dead-lettered with their source position, counted,
// and never hold up the fills behind them; the offset still advances past them.
func TestIngestPoisonRecord(t *testing.T) {
	for _, f := range []Format{FormatJSON, FormatThrift} {
		t.Run(f.String(), func(t *testing.T) {
			brokers := newKafka(t, 1, "fills", "fills.dlq")
			p := newProducer(t, brokers)
			bad := leadFill(7, 3)
			bad.Qty = "abc"
			offs := p.send("fills",
				fillRecord(t, f, leadFill(7, 1)),
				&kgo.Record{Key: []byte("7"), Value: []byte{0xff, 0x00, 0x13, '{'}}, // neither JSON nor Thrift
				fillRecord(t, f, &ct.Fill{Trader: 0, TradeId: 9}),                   // no trader
				fillRecord(t, f, bad),                                               // a lead fill with qty "abc"
				fillRecord(t, f, leadFill(7, 2)),
				fillRecord(t, f, leadFill(8, 1)), // not a lead trader: filtered
			)
			g := newFakeGroups(7)
			cfg := testConfig(brokers, "fills")
			cfg.Format, cfg.DeadLetterTopic = f, "fills.dlq"
			r := start(t, cfg, g, g)
			waitFor(t, 20*time.Second, "offset committed past every record", func() bool {
				return p.committed(cfg.Group, "fills", 1)[0] == offs[len(offs)-1]+1
			})
			if got := g.appliedOf(7); !slices.Equal(got, []int64{1, 2}) {
				t.Fatalf("trader 7 applied %v, want [1 2]", got)
			}
			st := r.in.Stats()
			if st.DeadLetters != 3 || st.Records != 6 || st.Filtered != 1 || st.Forwarded != 2 {
				t.Fatalf("stats %+v: want 6 records, 3 dead letters, 1 filtered, 2 forwarded", st)
			}
			dl := p.consume("fills.dlq", 3, 10*time.Second)
			if len(dl) != 3 {
				t.Fatalf("%d dead letters in the topic, want 3", len(dl))
			}
			for i, want := range []int64{offs[1], offs[2], offs[3]} {
				h := map[string]string{}
				for _, kv := range dl[i].Headers {
					h[kv.Key] = string(kv.Value)
				}
				if h["source_topic"] != "fills" || h["source_partition"] != "0" || h["source_offset"] != strconv.FormatInt(want, 10) || h["error"] == "" {
					t.Errorf("dead letter %d headers %v: want fills/0/%d and an error", i, h, want)
				}
			}
		})
	}
}

// TestIngestGroupDown: while a trader's group answers UNAVAILABLE its fills wait (no
// skip), the committed offset never passes its first unapplied fill, other traders'
// fills go on; once the group is back everything is applied once, in order. Against
// stand-in groups, and against a real cluster whose group 1 the ingest can reach only
// through proxies that are cut (groupDownCluster, cluster_test.go).
func TestIngestGroupDown(t *testing.T) {
	t.Run("stand-in", groupDownFake)
	t.Run("cluster", groupDownCluster)
}

func groupDownFake(t *testing.T) {
	brokers := newKafka(t, 1, "fills", "copytrade.fills.dlq")
	p := newProducer(t, brokers)
	const down, up = 11, 12
	g := newFakeGroups(down, up)
	g.down[down] = true
	var recs []*kgo.Record
	for i := int64(1); i <= 5; i++ {
		recs = append(recs, fillRecord(t, FormatJSON, leadFill(up, i)), fillRecord(t, FormatJSON, leadFill(down, i)))
	}
	offs := p.send("fills", recs...)
	cfg := testConfig(brokers, "fills")
	start(t, cfg, g, g)
	waitFor(t, 20*time.Second, "the up trader's fills applied", func() bool { return len(g.appliedOf(up)) == 5 })
	waitFor(t, 20*time.Second, "the down group asked again", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.unavail >= 5
	})
	time.Sleep(3 * cfg.CommitInterval) // let any commit there is to make happen
	firstDown := offs[1]
	if c := p.committed(cfg.Group, "fills", 1)[0]; c > firstDown {
		t.Fatalf("committed offset %d passed the unapplied fill at %d", c, firstDown)
	}
	if got := g.appliedOf(down); len(got) != 0 {
		t.Fatalf("fills of the down group applied: %v", got)
	}
	g.mu.Lock()
	g.down[down] = false
	g.mu.Unlock()
	waitFor(t, 20*time.Second, "caught up: offset committed past every record", func() bool {
		return p.committed(cfg.Group, "fills", 1)[0] == offs[len(offs)-1]+1
	})
	for _, tr := range []int64{down, up} {
		if got := g.appliedOf(tr); !slices.Equal(got, []int64{1, 2, 3, 4, 5}) {
			t.Errorf("trader %d applied %v, want [1 2 3 4 5] once each, in order", tr, got)
		}
	}
}

// TestIngestBackpressure: while a trader's fills cannot be applied, its partition holds
// at most about MaxBuffered records and then stops fetching (paused), instead of
// buffering the topic; it resumes and catches up once they apply.
func TestIngestBackpressure(t *testing.T) {
	brokers := newKafka(t, 1, "fills", "copytrade.fills.dlq")
	p := newProducer(t, brokers)
	const trader, total = 21, 2000
	g := newFakeGroups(trader)
	g.down[trader] = true
	var recs []*kgo.Record
	for i := int64(1); i <= total; i++ {
		recs = append(recs, fillRecord(t, FormatJSON, leadFill(trader, i)))
	}
	p.send("fills", recs...)
	cfg := testConfig(brokers, "fills")
	cfg.MaxBuffered = 50
	r := start(t, cfg, g, g, WithKafkaOpts(kgo.FetchMaxPartitionBytes(4<<10), kgo.FetchMaxBytes(4<<10)))
	paused := func() float64 { return testutil.ToFloat64(r.in.metrics.paused) }
	waitFor(t, 20*time.Second, "partition paused", func() bool { return paused() == 1 })
	time.Sleep(300 * time.Millisecond) // fetching would go on here without the pause
	if n := r.in.Stats().Records; n >= total/2 {
		t.Fatalf("%d of %d records taken in while paused: the buffer is not bounded", n, total)
	}
	g.mu.Lock()
	g.down[trader] = false
	g.mu.Unlock()
	waitFor(t, 60*time.Second, "every fill applied", func() bool { return len(g.appliedOf(trader)) == total })
	want := make([]int64, total)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if got := g.appliedOf(trader); !slices.Equal(got, want) {
		t.Fatalf("applied out of order or more than once (first: %v)", got[:min(10, len(got))])
	}
	waitFor(t, 10*time.Second, "resumed", func() bool { return paused() == 0 })
}
