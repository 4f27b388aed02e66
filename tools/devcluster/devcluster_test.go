package devcluster

import (
	"reflect"
	"testing"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
)

func TestPercentileNearestRank(t *testing.T) {
	s := make([]time.Duration, 100)
	for i := range s {
		s[i] = time.Duration(i+1) * time.Millisecond
	}
	for p, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.99: 99 * time.Millisecond,
		0.999: 100 * time.Millisecond, 1: 100 * time.Millisecond, 0.001: time.Millisecond} {
		if got := Percentile(s, p); got != want {
			t.Errorf("p%v = %s, want %s", p*100, got, want)
		}
	}
	if Percentile(nil, 0.99) != 0 {
		t.Error("no samples must give 0")
	}
	if got := Percentile([]time.Duration{7}, 0.5); got != 7 {
		t.Errorf("one sample: %s", got)
	}
}

func TestSlotRangesCoverEverySlotOnce(t *testing.T) {
	for groups := 1; groups <= 16; groups++ {
		next := 0
		for _, rs := range slotRanges(groups) {
			if len(rs) != 1 || int(rs[0].From) != next || rs[0].To < rs[0].From {
				t.Fatalf("groups=%d: ranges %v do not continue at %d", groups, rs, next)
			}
			next = int(rs[0].To) + 1
		}
		if next != raftfsm.NumSlots {
			t.Fatalf("groups=%d: ranges end at %d", groups, next)
		}
	}
	if r := slotRanges(2); r[0][0].To != 8191 || r[1][0].From != 8192 {
		t.Fatalf("two groups split at %v", r)
	}
}

func TestNewPlanDeterministicAndMixed(t *testing.T) {
	ins := InstrumentsOf(exchsim.DefaultInstruments())
	opts := DefaultSeedOptions()
	a, err := NewPlan(opts, ins)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewPlan(opts, ins)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave two plans")
	}
	if len(a.Traders) != 20 || len(a.Follows) != 10_000 || len(a.CopierModes) != 10_000 {
		t.Fatalf("plan has %d traders, %d follows, %d copiers", len(a.Traders), len(a.Follows), len(a.CopierModes))
	}
	modes := map[ct.CopyMode]int{}
	var oneWay, capped, banded, filtered, fixedLev int
	for _, f := range a.Follows {
		s := f.Settings
		modes[s.Mode]++
		if s.PositionMode == ct.PositionMode_ONE_WAY {
			oneWay++
		}
		if s.MaxOrderNotional != "" || s.MaxFollowNotional != "" {
			capped++
		}
		if s.SlippageBps > 0 {
			banded++
		}
		if len(s.Instruments) > 0 {
			filtered++
		}
		if s.LeveragePolicy == ct.LeveragePolicy_FIXED {
			fixedLev++
		}
		if f.Copier == f.Trader {
			t.Fatalf("copier %d follows itself", f.Copier)
		}
	}
	for _, m := range []ct.CopyMode{ct.CopyMode_FIXED_AMOUNT, ct.CopyMode_MULTIPLIER, ct.CopyMode_PROPORTIONAL} {
		if modes[m] < 2000 {
			t.Errorf("only %d follows in mode %s", modes[m], m)
		}
	}
	for name, n := range map[string]int{"one-way": oneWay, "capped": capped, "slippage": banded, "filtered": filtered, "fixed leverage": fixedLev} {
		if n < 500 || n > 5000 {
			t.Errorf("%d %s follows out of 10000", n, name)
		}
	}
	opts.Seed++
	c, _ := NewPlan(opts, ins)
	if reflect.DeepEqual(a.Follows, c.Follows) {
		t.Error("another seed gave the same follows")
	}
}

// The sink's counters keep copier_orders = placed + rejected + skipped + pending, count
// a refusal (which has a raft index too) as refused, not as a signal, and a
// DUPLICATE_FILL (a resend of an applied fill) as replayed, neither.
func TestRouterSinkAccounting(t *testing.T) {
	s := NewRouterSink(nil, "", time.Second)
	for _, o := range []*ct.FillOutcome{
		{Code: ct.ErrorCode_OK, Index: 10, OrdersPlanned: 5, Placed: 4, Rejected: 1, Skipped: 2},
		{Code: ct.ErrorCode_DEADLINE, Index: 11, OrdersPlanned: 3, Placed: 1, Pending: 2, Skipped: 1},
		{Code: ct.ErrorCode_DUPLICATE_FILL, Index: 12},
		{Code: ct.ErrorCode_NOT_LEAD_TRADER},
		{Code: ct.ErrorCode_UNAVAILABLE}, // not committed: no index
	} {
		s.record(o, time.Millisecond)
	}
	c, errs, samples := s.Snapshot()
	if c.Signals != 2 || c.Refused != 2 || c.Replayed != 1 || len(samples) != 2 {
		t.Fatalf("signals=%d refused=%d replayed=%d samples=%d", c.Signals, c.Refused, c.Replayed, len(samples))
	}
	if c.CopierOrders != 11 || c.CopierOrders != c.Placed+c.Rejected+c.Skipped+c.Pending {
		t.Fatalf("counts %+v break the identity", c)
	}
	if errs["DUPLICATE_FILL"] != 0 || errs["DEADLINE"] != 1 || errs["UNAVAILABLE"] != 1 {
		t.Fatalf("refusals by code: %v", errs)
	}
}

func TestFillOfKeepsEveryField(t *testing.T) {
	ins := exchsim.DefaultInstruments()[0]
	f := exchsim.LeadFill{Trader: 3, TradeID: 9, Instrument: ins.Symbol, Side: exchsim.Sell, PositionSide: exchsim.Short,
		Qty: ins.LotStep, Price: ins.MarkPrice, Leverage: 10, MarginMode: exchsim.Isolated, Equity: ins.MarkPrice, Liquidation: true,
		TimeUnixNano: 1_704_164_645_000_000_001, PositionAfter: 2 * ins.LotStep, Fee: ins.LotStep, VenueOrderID: "77", ClientOrderID: "sim-liq-3"}
	got := FillOf(f)
	want := &ct.Fill{Trader: 3, TradeId: 9, Instrument: ins.Symbol, Side: ct.Side_SELL, PositionSide: ct.PositionSide_SHORT,
		Qty: "0.001", Price: "60000", Leverage: 10, MarginMode: ct.MarginMode_ISOLATED, Equity: "60000", Liquidation: true,
		PositionAfter: "0.002", Fee: "0.001", VenueOrderId: "77", ClientOrderId: "sim-liq-3", EventTimeNs: 1_704_164_645_000_000_001}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
