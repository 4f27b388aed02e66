package raftfsm

import (
	"fmt"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// shareRig is a machine for the mark and settlement benchmarks: traders ×
// follows, every follow holding a filled position on each of the
// instruments its trader trades.
type shareRig struct {
	m     *Machine
	index uint64
	now   int64
}

func (r *shareRig) apply(tb testing.TB, cmd Command) *Result {
	tb.Helper()
	r.index++
	r.now += 1_000_000_000
	legacyFill(r.m, cmd, r.now)
	res := r.m.ApplyEnvelope(r.index, Envelope{TimeUnixNano: r.now, Cmd: cmd})
	if res.Refusal != nil {
		tb.Fatalf("%T: %v", cmd, res.Refusal)
	}
	return res
}

func (r *shareRig) applyBytes(tb testing.TB, b []byte) *Result {
	tb.Helper()
	r.index++
	res := r.m.Apply(r.index, b)
	if res.Refusal != nil {
		tb.Fatalf("%v", res.Refusal)
	}
	return res
}

func benchSym(i int) string { return fmt.Sprintf("I%02d-USDT", i) }

// fillAll answers every pending order in full at price, fee 0.01.
func (r *shareRig) fillAll(tb testing.TB, price fixed.Dec) {
	var rs OrderResults
	for _, o := range r.m.PendingOrders() {
		rs.Results = append(rs.Results, OrderResult{ClientOrderID: o.ClientOrderID, Status: OrderFilled,
			FilledQty: o.Qty, AvgPrice: price, Fee: fixed.MustParse("0.01")})
	}
	r.apply(tb, &rs)
}

// newShareRig: `instruments` instruments at price 100; traders 1..traders
// with follows each (Multiplier 1, allocation 100000, stop-loss 50 %,
// take-profit 500 %), each trader long 1 lot on perTrader instruments.
func newShareRig(tb testing.TB, instruments, traders, follows, perTrader int) *shareRig {
	r := &shareRig{m: New(), now: 1_700_000_000_000_000_000}
	r.apply(tb, &Bootstrap{Group: 1, Epoch: 1, Slots: []SlotRange{{0, NumSlots - 1}}})
	for i := 0; i < instruments; i++ {
		r.apply(tb, &InstrumentUpsert{Instrument: Instrument{Symbol: benchSym(i), LotStep: fixed.MustParse("0.01"),
			TickSize: fixed.MustParse("0.01"), MinQty: fixed.MustParse("0.01"), MinNotional: fixed.One, MaxLeverage: 100}})
	}
	trade := int64(0)
	for t := 1; t <= traders; t++ {
		r.apply(tb, &TraderApply{Trader: AccountID(t), Stats: ApplicantStats{Equity: 1_000_000 * fixed.One},
			Config: TraderConfig{MaxCopiers: int32(follows), ProfitShareBps: 1000}})
		for i := 0; i < follows; i++ {
			r.apply(tb, &Follow{Copier: AccountID(1_000_000 + t*100_000 + i), Trader: AccountID(t), Settings: FollowSettings{
				Mode: Multiplier, Multiplier: fixed.One, Allocation: 100_000 * fixed.One,
				LeveragePolicy: LeverageFollowTrader, MarginPolicy: MarginFollowTrader, PositionMode: PositionMode(1 + i%2),
				StopLossBps: 5000, TakeProfitBps: 50_000,
			}})
		}
		for k := 0; k < perTrader; k++ {
			trade++
			r.apply(tb, &TradeFill{Trader: AccountID(t), TradeID: trade, Instrument: benchSym((t*perTrader + k) % instruments),
				Side: Buy, PosSide: Long, Qty: fixed.One, Price: 100 * fixed.One, Leverage: 10, MarginMode: Cross,
				Equity: 1_000_000 * fixed.One})
			r.fillAll(tb, 100*fixed.One)
		}
	}
	return r
}

// BenchmarkMarkPrices: one batch of 50 instrument prices over 10k follows
// (20 traders × 500) with 3 open positions each; no limit is crossed, so
// the state is the same after every iteration but the unrealised PnL.
func BenchmarkMarkPrices(b *testing.B) {
	r := newShareRig(b, 50, 20, 500, 3)
	var batches [2][]byte
	for j := range batches {
		var c MarkPrices
		for i := 0; i < 50; i++ {
			c.Prices = append(c.Prices, MarkPrice{Instrument: benchSym(i), Price: fixed.Dec(95+10*j+i%3) * fixed.One})
		}
		batches[j] = Encode(Envelope{TimeUnixNano: r.now, Cmd: &c})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		res := r.applyBytes(b, batches[i%2])
		if len(res.Orders) != 0 {
			b.Fatalf("a limit crossed: %d orders", len(res.Orders))
		}
	}
	b.StopTimer()
	f := r.m.traders[1].Follows[0]
	if f.UnrealizedPnL == 0 {
		b.Fatal("unrealised PnL not computed")
	}
	b.ReportMetric(10_000, "follows/op")
}

// TestMarkPricesSkipsOverflow: a follow whose unrealised PnL overflows is
// left as it was; the others are revalued and the batch applies.
func TestMarkPricesSkipsOverflow(t *testing.T) {
	r := newShareRig(t, 1, 1, 2, 1)
	tr := r.m.traders[1]
	f0, f1 := tr.Follows[0], tr.Follows[1]
	f0.Positions[0].Qty = fixed.MaxDec / 2 // test-only: a quantity no venue would allow
	f0.UnrealizedPnL = 7
	r.apply(t, &MarkPrices{Prices: []MarkPrice{{Instrument: benchSym(0), Price: fixed.MaxDec / 2}}})
	if f0.UnrealizedPnL != 7 || f0.Status != FollowActive {
		t.Fatalf("overflowing follow changed: %s %d", f0.UnrealizedPnL, f0.Status)
	}
	if f1.UnrealizedPnL == 0 {
		t.Fatal("other follow not revalued")
	}
	// The take-profit of the other follow (500 % of 100000) crossed: it stopped.
	if f1.Status != FollowStopped || f1.StopReason != reasonTakeProfit {
		t.Fatalf("follow 1: %d %q", f1.Status, f1.StopReason)
	}
}
