package bench

import (
	"errors"
	"strings"
	"testing"

	"github.com/copytrade/copytrade/tools/exchsim"
)

// TestFillFailures: a run is failed when any light-load fill failed or most fills of a
// phase did (every fill refused as DUPLICATE_FILL, say); later throughput steps may
// fail fills without failing the run.
func TestFillFailures(t *testing.T) {
	ok := LoadResult{Fills: FillCounts{Sent: 100, OK: 100}}
	if err := (&Report{Latency: &ok, Throughput: &ThroughputResult{Steps: []LoadResult{ok, {Fills: FillCounts{Sent: 100, Errors: 90}}}}}).FillFailures(); err != nil {
		t.Fatalf("a saturated late throughput step failed the run: %v", err)
	}
	dup := LoadResult{Fills: FillCounts{Sent: 100, Errors: 100}, Errors: map[string]int{"DUPLICATE_FILL": 100}}
	err := (&Report{Latency: &dup}).FillFailures()
	if !errors.Is(err, ErrFillsFailed) || !strings.Contains(err.Error(), "latency: 100 of 100") || !strings.Contains(err.Error(), "DUPLICATE_FILL") {
		t.Fatalf("every fill a duplicate: %v", err)
	}
	one := LoadResult{Fills: FillCounts{Sent: 100, OK: 99, Errors: 1}}
	if err := (&Report{Latency: &one}).FillFailures(); err == nil {
		t.Fatal("a failed fill at light load passed")
	}
	if err := (&Report{Failover: &FailoverResult{Load: one}}).FillFailures(); err != nil {
		t.Fatalf("one failed fill during a failover failed the run: %v", err)
	}
}

// TestTradeIDsStartAtRunBase: a trader's fills start at the run's first trade ID and
// increase by one, so runs that start later send higher IDs than earlier runs did.
func TestTradeIDsStartAtRunBase(t *testing.T) {
	inst := exchsim.DefaultInstruments()[0]
	const base = 1_780_000_000_000
	g := newTraderGen(TraderSpec{ID: 7}, inst, 1, base)
	for i := range int64(5) {
		if f := g.next(inst.MarkPrice); f.TradeId != base+i {
			t.Fatalf("fill %d: trade ID %d, want %d", i, f.TradeId, base+i)
		}
	}
	if f := newTraderGen(TraderSpec{ID: 7}, inst, 1, 0).next(inst.MarkPrice); f.TradeId != 1 {
		t.Fatalf("no base: first trade ID %d, want 1", f.TradeId)
	}
}
