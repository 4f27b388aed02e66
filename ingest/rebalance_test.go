package ingest

import (
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestIngestRebalance: two replicas in one group while fills flow — a second joins
// (partitions move to it), then the first leaves (all move back) — and every fill is
// still applied once per trader, in trade-ID order: a revoked partition commits what
// it finished before its next owner starts, and replays are deduplicated.
func TestIngestRebalance(t *testing.T) {
	const partitions, traders, perTrader = 4, 40, 50
	brokers := newKafka(t, partitions, "fills", "copytrade.fills.dlq")
	p := newProducer(t, brokers)
	var leads []int64
	for i := range traders {
		leads = append(leads, int64(100+i))
	}
	g := newFakeGroups(leads...)
	produce := func(from, to int64) {
		var recs []*kgo.Record
		for k := from; k <= to; k++ {
			for _, tr := range leads {
				recs = append(recs, fillRecord(t, FormatJSON, leadFill(tr, k)))
			}
		}
		p.send("fills", recs...)
	}
	total := func() (n int) {
		for _, tr := range leads {
			n += len(g.appliedOf(tr))
		}
		return n
	}
	cfg := testConfig(brokers, "fills")
	cfg.MaxBatch = 8
	a := start(t, cfg, g, g)
	produce(1, 20)
	waitFor(t, 20*time.Second, "first replica at work", func() bool { return total() >= 100 })
	b := start(t, cfg, g, g)
	produce(21, 35)
	assigned := func(r *running) int {
		r.in.mu.Lock()
		defer r.in.mu.Unlock()
		return len(r.in.parts)
	}
	waitFor(t, 60*time.Second, "second replica got partitions", func() bool { return assigned(b) > 0 })
	a.close()
	produce(36, perTrader)
	waitFor(t, 60*time.Second, "every fill applied", func() bool { return total() == traders*perTrader })
	want := make([]int64, perTrader)
	for i := range want {
		want[i] = int64(i + 1)
	}
	for _, tr := range leads {
		if got := g.appliedOf(tr); !slices.Equal(got, want) {
			t.Fatalf("trader %d applied %v, want 1..%d once each, in order", tr, got, perTrader)
		}
	}
	waitFor(t, 10*time.Second, "offsets committed", func() bool { return b.in.Stats().LagMax == 0 })
	if a.in.Stats().Records == 0 || b.in.Stats().Records == 0 {
		t.Errorf("records: first replica %d, second %d; want both to have consumed", a.in.Stats().Records, b.in.Stats().Records)
	}
}
