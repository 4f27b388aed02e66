package raftfsm

import (
	"runtime"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Benchmarks of the apply path (bytes in, through Decode, as the shard
// applies log entries). Untimed steps keep the state steady between
// iterations: every open is filled and closed again.

type benchRig struct {
	m     *Machine
	index uint64
	trade int64
}

func (r *benchRig) apply(tb testing.TB, cmd Command) *Result {
	r.index++
	legacyFill(r.m, cmd, int64(r.index))
	res := r.m.Apply(r.index, Encode(Envelope{TimeUnixNano: int64(r.index), Cmd: cmd}))
	if res.Refusal != nil {
		tb.Fatalf("%T: %v", cmd, res.Refusal)
	}
	return res
}

// newBenchRig returns a machine with `traders` traders (IDs 1..traders) of
// `follows` follows each, in mixed copy modes and position modes.
func newBenchRig(tb testing.TB, traders, follows int) *benchRig {
	r := &benchRig{m: New()}
	r.apply(tb, &Bootstrap{Group: 1, Epoch: 1, Slots: []SlotRange{{0, NumSlots - 1}}})
	r.apply(tb, &InstrumentUpsert{Instrument: Instrument{Symbol: "BTC-USDT", LotStep: fixed.MustParse("0.0001"),
		TickSize: fixed.MustParse("0.1"), MinQty: fixed.MustParse("0.0001"), MinNotional: fixed.One, MaxLeverage: 100}})
	for t := 1; t <= traders; t++ {
		r.apply(tb, &TraderApply{Trader: AccountID(t), Stats: ApplicantStats{Equity: 100_000 * fixed.One},
			Config: TraderConfig{MaxCopiers: int32(follows), ProfitShareBps: 1000}})
		for i := 0; i < follows; i++ {
			s := FollowSettings{
				Allocation:     1_000_000 * fixed.One,
				LeveragePolicy: LeverageFollowTrader,
				MarginPolicy:   MarginPolicy(1 + i%3),
				PositionMode:   PositionMode(1 + i%2),
				SlippageBps:    int64(i%4) * 25,
			}
			switch i % 3 {
			case 0:
				s.Mode, s.FixedMargin = FixedAmount, 100*fixed.One
			case 1:
				s.Mode, s.Multiplier = Multiplier, fixed.MustParse("0.5")
			case 2:
				s.Mode = Proportional
			}
			if i%5 == 0 {
				s.LeveragePolicy, s.Leverage = LeverageFixed, 5
			}
			r.apply(tb, &Follow{Copier: AccountID(1_000_000 + t*100_000 + i), Trader: AccountID(t), Settings: s})
		}
	}
	return r
}

func (r *benchRig) fill(trader AccountID, side Side) []byte {
	r.trade++
	c := &TradeFill{
		Trader: trader, TradeID: r.trade, Instrument: "BTC-USDT", Side: side, PosSide: Long,
		Qty: fixed.MustParse("0.5"), Price: 50_000 * fixed.One, Leverage: 20, MarginMode: Cross,
		Equity: 100_000 * fixed.One,
	}
	legacyFill(r.m, c, r.trade)
	return Encode(Envelope{TimeUnixNano: r.trade, Cmd: c})
}

// fillAll answers every pending order: filled at 50000.
func (r *benchRig) fillAll() []byte {
	var rs OrderResults
	for _, o := range r.m.PendingOrders() {
		rs.Results = append(rs.Results, OrderResult{ClientOrderID: o.ClientOrderID, Status: OrderFilled,
			FilledQty: o.Qty, AvgPrice: 50_000 * fixed.One, Fee: fixed.MustParse("0.01")})
	}
	return Encode(Envelope{Cmd: &rs})
}

func (r *benchRig) applyBytes(tb testing.TB, b []byte) *Result {
	r.index++
	res := r.m.Apply(r.index, b)
	if res.Refusal != nil {
		tb.Fatalf("%v", res.Refusal)
	}
	return res
}

func BenchmarkApplyOpen500(b *testing.B) {
	r := newBenchRig(b, 1, 500)
	b.ReportAllocs()
	orders := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		open := r.fill(1, Buy)
		b.StartTimer()
		res := r.applyBytes(b, open)
		b.StopTimer()
		orders += len(res.Orders)
		r.applyBytes(b, r.fillAll())
		r.applyBytes(b, r.fill(1, Sell))
		r.applyBytes(b, r.fillAll())
		b.StartTimer()
	}
	b.ReportMetric(float64(orders)/float64(b.N), "orders/op")
}

func BenchmarkApplyClose500(b *testing.B) {
	r := newBenchRig(b, 1, 500)
	b.ReportAllocs()
	orders := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		r.applyBytes(b, r.fill(1, Buy))
		r.applyBytes(b, r.fillAll())
		closeFill := r.fill(1, Sell)
		b.StartTimer()
		res := r.applyBytes(b, closeFill)
		b.StopTimer()
		orders += len(res.Orders)
		r.applyBytes(b, r.fillAll())
		b.StartTimer()
	}
	b.ReportMetric(float64(orders)/float64(b.N), "orders/op")
}

func BenchmarkApplyResults500(b *testing.B) {
	r := newBenchRig(b, 1, 500)
	b.ReportAllocs()
	n := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		r.applyBytes(b, r.fill(1, Buy))
		batch := r.fillAll()
		b.StartTimer()
		res := r.applyBytes(b, batch)
		b.StopTimer()
		n += res.ResultsApplied
		r.applyBytes(b, r.fill(1, Sell))
		r.applyBytes(b, r.fillAll())
		b.StartTimer()
	}
	b.ReportMetric(float64(n)/float64(b.N), "results/op")
}

// BenchmarkStateBytesPerFollow reports the heap held per follow with 100k
// follows (200 traders × 500), each with one open attributed position.
func BenchmarkStateBytesPerFollow(b *testing.B) {
	const traders, follows = 200, 500
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r := newBenchRig(b, traders, follows)
		for t := 1; t <= traders; t++ {
			r.applyBytes(b, r.fill(AccountID(t), Buy))
			r.applyBytes(b, r.fillAll())
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(traders*follows), "bytes/follow")
		runtime.KeepAlive(r)
	}
}
