package raftfsm

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Tests of fill contract v2 (design §3, "What the machine trusts from the
// venue"). Each drives the machine through the log path (harness) with fills
// that carry the venue's position after the fill and its event time.

var mp = fixed.MustParse // a decimal literal in the fill-v2 tests

// v2 is a test venue: it builds v2 fills for trader 1 on BTC and answers
// copier orders.
type v2 struct {
	t   *testing.T
	h   *harness
	ids int64
	mm  MarginMode // of the trader's fills; Cross unless set
}

// newV2 sets up BTC (lot 0.001, tick 0.5), trader 1 (share bps) and the
// given follows of trader 1 (copier → settings).
func newV2(t *testing.T, shareBps int64, follows map[AccountID]FollowSettings) *v2 {
	t.Helper()
	h := newHarness(t)
	h.apply(&InstrumentUpsert{Instrument: Instrument{Symbol: "BTC", LotStep: mp("0.001"), TickSize: mp("0.5"),
		MinQty: mp("0.001"), MaxLeverage: 100}})
	if r := h.apply(&TraderApply{Trader: 1, Stats: ApplicantStats{Equity: 10_000 * fixed.One},
		Config: TraderConfig{ProfitShareBps: shareBps}}); r.Refusal != nil {
		t.Fatal(r.Refusal)
	}
	for _, c := range sortedKeys(follows) {
		if r := h.apply(&Follow{Copier: c, Trader: 1, Settings: follows[c]}); r.Refusal != nil {
			t.Fatalf("follow %d: %v", c, r.Refusal)
		}
	}
	return &v2{t: t, h: h}
}

// mult is a hedge-mode follow copying k × the trader's quantity.
func mult(k string) FollowSettings {
	return FollowSettings{Mode: Multiplier, Multiplier: mp(k), Allocation: 1_000_000 * fixed.One,
		LeveragePolicy: LeverageFollowTrader, MarginPolicy: MarginFollowTrader, PositionMode: Hedge}
}

// fill sends trader 1's fill on BTC/long: side, qty, price and the venue's
// position after it, at venue time = the entry's stamp.
func (v *v2) fill(side Side, qty, price, after string) *Result {
	v.t.Helper()
	v.ids++
	return v.h.apply(&TradeFill{Trader: 1, TradeID: v.ids, Instrument: "BTC", Side: side, PosSide: Long,
		Qty: mp(qty), Price: mp(price), Leverage: 10, MarginMode: max(v.mm, Cross), Equity: 10_000 * fixed.One,
		PositionAfter: mp(after), EventTimeUnixNano: v.h.now + 1_000_000_000})
}

// must is fill, failing the test on a refusal.
func (v *v2) must(side Side, qty, price, after string) *Result {
	v.t.Helper()
	r := v.fill(side, qty, price, after)
	if r.Refusal != nil {
		v.t.Fatalf("fill %d: %v", v.ids, r.Refusal)
	}
	return r
}

// fillAll fills every pending order at price.
func (v *v2) fillAll(price string) *Result {
	v.t.Helper()
	return v.h.apply(v.h.fillAll(mp(price), 0))
}

// answer sends one result for the pending order id.
func (v *v2) answer(id string, st OrderStatus, qty, price string) *Result {
	v.t.Helper()
	r := v.h.apply(&OrderResults{Results: []OrderResult{{ClientOrderID: id, Status: st, FilledQty: mp(qty), AvgPrice: mp(price)}}})
	if r.Refusal != nil || r.ResultsApplied != 1 {
		v.t.Fatalf("result %s: %v applied %d", id, r.Refusal, r.ResultsApplied)
	}
	return r
}

// qty is the copier's attributed BTC/long quantity for trader 1.
func (v *v2) qty(copier AccountID) fixed.Dec {
	f, ok := v.h.m.Follow(copier, 1)
	if !ok {
		return 0
	}
	if i := posIndex(f.Positions, "BTC", Long); i >= 0 {
		return f.Positions[i].Qty
	}
	return 0
}

func (v *v2) wantQty(copier AccountID, want string) {
	v.t.Helper()
	if got := v.qty(copier); got != mp(want) {
		v.t.Fatalf("copier %d holds %s, want %s", copier, got, want)
	}
}

func skipOf(r *Result, copier AccountID) SkipReason {
	for _, s := range r.Skips {
		if s.Copier == copier {
			return s.Reason
		}
	}
	return SkipNone
}

// TestCloseFractionFromVenuePosition: the close fraction is q / (position
// after + q) from the venue's figure, so a position held from before the
// trader led, a fill the machine never saw, or a re-application never skews
// later closes; the tracked position is a cross-check (mismatch counted,
// venue wins).
func TestCloseFractionFromVenuePosition(t *testing.T) {
	t.Run("held before leading", func(t *testing.T) {
		v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("0.5")})
		r := v.must(Buy, "1", "60000", "2") // the trader already held 1
		if !r.PositionMismatch {
			t.Fatal("venue before 1, tracked 0: mismatch not reported")
		}
		v.fillAll("60000")
		v.must(Sell, "1", "60000", "1") // half of the trader's 2
		v.fillAll("60000")
		v.wantQty(101, "0.25")
	})
	t.Run("a fill never seen", func(t *testing.T) {
		v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("0.5")})
		v.must(Buy, "1", "60000", "1")
		v.fillAll("60000")
		v.ids++ // the trader buys 1 more; that fill never reaches the machine
		r := v.must(Sell, "1", "60000", "1")
		if !r.PositionMismatch {
			t.Fatal("mismatch not reported")
		}
		v.fillAll("60000")
		v.wantQty(101, "0.25")
		if tv, _ := v.h.m.Trader(1); tv.Mismatches != 1 || tv.Positions[0].Qty != mp("1") {
			t.Fatalf("trader: mismatches %d, positions %+v: want 1 and the venue's 1", tv.Mismatches, tv.Positions)
		}
	})
	t.Run("one-way: the side the fill does not touch", func(t *testing.T) {
		v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("0.5")})
		short := func(id int64, side Side, qty, after string) {
			t.Helper()
			if r := v.h.apply(&TradeFill{Trader: 1, TradeID: id, Instrument: "BTC", Side: side, PosSide: Both, Qty: mp(qty),
				Price: mp("60000"), Leverage: 10, MarginMode: Cross, PositionAfter: mp(after),
				EventTimeUnixNano: v.h.now + 1_000_000_000}); r.Refusal != nil {
				t.Fatal(r.Refusal)
			}
		}
		short(1, Sell, "1", "-1") // tracked: short 1
		v.fillAll("60000")
		// The trader bought its short back in a fill never seen, then buys 1 more:
		// the venue says long 1. No short is left, for the trader or the copy.
		short(3, Buy, "1", "1")
		v.fillAll("60000")
		if f, _ := v.h.m.Follow(101, 1); len(f.Positions) != 1 || f.Positions[0].Side != Long || f.Positions[0].Qty != mp("0.5") {
			t.Fatalf("copy: %+v, want only long 0.5", f.Positions)
		}
		tv, _ := v.h.m.Trader(1)
		if len(tv.Positions) != 1 || tv.Positions[0].Side != Long || tv.Positions[0].Qty != mp("1") || tv.Mismatches != 1 {
			t.Fatalf("positions %+v, mismatches %d: want only long 1, one mismatch", tv.Positions, tv.Mismatches)
		}
	})
	t.Run("re-apply", func(t *testing.T) {
		v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("0.5")})
		v.must(Buy, "1", "60000", "1")
		v.fillAll("60000")
		v.h.apply(&TraderExit{Trader: 1, Policy: LiqDetach}) // the copier keeps its 0.5, detached
		// While not leading, the trader closes at the venue: the fill is refused.
		if r := v.fill(Sell, "1", "60000", "0"); r.Refusal == nil || r.Refusal.Code != CodeNotLeadTrader {
			t.Fatalf("fill of an exited trader: %v", r.Refusal)
		}
		v.h.apply(&TraderApply{Trader: 1, Stats: ApplicantStats{Equity: 10_000 * fixed.One}})
		v.h.apply(&Follow{Copier: 101, Trader: 1, Settings: mult("0.5")})
		v.must(Buy, "1", "61000", "1") // flat at the venue before: tracked said 1
		v.fillAll("61000")
		v.wantQty(101, "0.5")
		v.must(Sell, "1", "61000", "0") // the trader is flat: so is the copy
		v.fillAll("61000")
		v.wantQty(101, "0")
	})
}

// TestShrinkWhileOpenPending: a shrink that arrives while the copier's open
// is still pending is owed and closed when the open's result arrives, in
// proportion to what it filled; a shrink to flat owes everything.
func TestShrinkWhileOpenPending(t *testing.T) {
	t.Run("filled", func(t *testing.T) {
		v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("0.5")})
		open := v.must(Buy, "0.3", "60000", "0.3").Orders[0] // 0.15 pending
		r := v.must(Sell, "0.1", "60000", "0.2")             // a third, while pending
		if len(r.Orders) != 0 || skipOf(r, 101) != SkipCloseOwed {
			t.Fatalf("shrink while pending: orders %v skips %v, want CLOSE_OWED", r.Orders, r.Skips)
		}
		r = v.answer(open.ClientOrderID, OrderFilled, "0.15", "60000")
		if len(r.Orders) != 1 || r.Orders[0].Effect != EffectClose || r.Orders[0].Qty != mp("0.05") {
			t.Fatalf("open filled: orders %+v, want a close of 0.05", r.Orders)
		}
		v.fillAll("60000")
		v.wantQty(101, "0.1")
		v.must(Sell, "0.1", "60000", "0.1") // half of what is left
		v.fillAll("60000")
		v.wantQty(101, "0.05")
	})
	t.Run("partly filled", func(t *testing.T) {
		v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("0.5")})
		open := v.must(Buy, "0.3", "60000", "0.3").Orders[0]
		v.must(Sell, "0.1", "60000", "0.2")
		v.answer(open.ClientOrderID, OrderPartiallyFilled, "0.06", "60000") // owes a third of 0.06
		v.fillAll("60000")
		v.wantQty(101, "0.04")
	})
	t.Run("two shrinks, two opens", func(t *testing.T) {
		v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("1")})
		a := v.must(Buy, "0.4", "60000", "0.4").Orders[0]
		v.must(Sell, "0.2", "60000", "0.2") // a keeps 1/2
		b := v.must(Buy, "0.2", "60000", "0.4").Orders[0]
		v.must(Sell, "0.1", "60000", "0.3") // a keeps 3/8, b 3/4
		v.answer(a.ClientOrderID, OrderFilled, "0.4", "60000")
		v.answer(b.ClientOrderID, OrderFilled, "0.2", "60000")
		v.fillAll("60000")
		v.wantQty(101, "0.3") // 0.15 + 0.15: the trader's 0.3
	})
	t.Run("flat while pending", func(t *testing.T) {
		v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("0.5")})
		a := v.must(Buy, "0.3", "60000", "0.3").Orders[0]
		v.must(Sell, "0.3", "60000", "0")
		b := v.must(Buy, "0.2", "60000", "0.2").Orders[0] // a new position
		v.answer(a.ClientOrderID, OrderFilled, "0.15", "60000")
		v.answer(b.ClientOrderID, OrderFilled, "0.1", "60000")
		v.fillAll("60000")
		v.wantQty(101, "0.1") // only what the new position wants
	})
}

// TestRejectedCloseIsOwed: a close the venue rejects, or fills only in part,
// while the follow is active is placed again for the rest.
func TestRejectedCloseIsOwed(t *testing.T) {
	v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("0.5")})
	v.must(Buy, "1", "60000", "1")
	v.fillAll("60000")
	cl := v.must(Sell, "0.5", "60000", "0.5").Orders[0]
	r := v.answer(cl.ClientOrderID, OrderRejected, "0", "0")
	if len(r.Orders) != 1 || r.Orders[0].Effect != EffectClose || r.Orders[0].Qty != mp("0.25") {
		t.Fatalf("rejected close: orders %+v, want the 0.25 again", r.Orders)
	}
	r = v.answer(r.Orders[0].ClientOrderID, OrderPartiallyFilled, "0.1", "60000")
	if len(r.Orders) != 1 || r.Orders[0].Qty != mp("0.15") {
		t.Fatalf("partly filled close: orders %+v, want the other 0.15", r.Orders)
	}
	v.fillAll("60000")
	v.wantQty(101, "0.25")
}

// TestReapplyKeepsEarnedRatio: profit earned under a 5 % share is charged 5 %
// even when the trader exits and re-applies at 30 % before the settlement.
func TestReapplyKeepsEarnedRatio(t *testing.T) {
	v := newV2(t, 500, map[AccountID]FollowSettings{101: mult("1")})
	v.must(Buy, "1", "50000", "1")
	v.fillAll("50000")
	v.must(Sell, "1", "50100", "0")
	v.fillAll("50100") // +100
	v.h.apply(&TraderExit{Trader: 1})
	if r := v.h.apply(&TraderApply{Trader: 1, Stats: ApplicantStats{Equity: 10_000 * fixed.One},
		Config: TraderConfig{ProfitShareBps: 3000}}); r.Refusal != nil {
		t.Fatal(r.Refusal)
	}
	r := v.h.apply(&Settle{Period: 1})
	var got fixed.Dec
	for _, e := range r.Settlements {
		if e.Copier == 101 {
			got = e.Amount
		}
	}
	if got != mp("5") {
		t.Fatalf("share of 100 earned at 5 %%: %s (entries %+v), want 5", got, r.Settlements)
	}
	if tv, _ := v.h.m.Trader(1); tv.ShareBps != 3000 {
		t.Fatalf("ratio in force after the settlement: %d, want the new 3000", tv.ShareBps)
	}
}

// TestEveryCloseKeepsMarginMode: a position opened isolated (the follow
// follows the trader's margin mode, and the trader trades isolated) is closed
// isolated by every kind of close, not only those a fill triggers.
func TestEveryCloseKeepsMarginMode(t *testing.T) {
	iso := mult("1") // MarginFollowTrader
	sl := iso
	sl.StopLossBps = 100
	setup := func(t *testing.T) *v2 {
		v := newV2(t, 0, map[AccountID]FollowSettings{101: iso, 102: sl})
		v.mm = Isolated
		v.must(Buy, "1", "60000", "1")
		v.fillAll("60000")
		return v
	}
	check := func(t *testing.T, what string, r *Result) {
		t.Helper()
		n := 0
		for _, o := range r.Orders {
			if o.Effect == EffectClose {
				n++
				if o.MarginMode != Isolated {
					t.Errorf("%s: close %s of copier %d in margin mode %d, want isolated", what, o.ClientOrderID, o.Copier, o.MarginMode)
				}
			}
		}
		if n == 0 {
			t.Fatalf("%s: no close planned: %+v", what, r.Orders)
		}
	}
	t.Run("unfollow", func(t *testing.T) {
		v := setup(t)
		check(t, "unfollow", v.h.apply(&Unfollow{Copier: 101, Trader: 1, ClosePositions: true}))
	})
	t.Run("exit", func(t *testing.T) {
		v := setup(t)
		check(t, "exit", v.h.apply(&TraderExit{Trader: 1, Policy: LiqClose}))
	})
	t.Run("stop-loss", func(t *testing.T) {
		v := setup(t)
		check(t, "stop-loss", v.h.apply(&MarkPrices{Prices: []MarkPrice{{"BTC", mp("1000")}}}))
	})
	t.Run("orphan", func(t *testing.T) {
		v := setup(t)
		v.fill(Buy, "1", "60000", "2")
		pend := v.h.m.PendingOrders()
		v.must(Sell, "2", "60000", "0") // flat while the opens are pending
		for _, o := range pend {
			check(t, "orphan", v.answer(o.ClientOrderID, OrderFilled, o.Qty.String(), "60000"))
		}
	})
	t.Run("leftover", func(t *testing.T) {
		v := setup(t)
		v.fill(Buy, "1", "60000", "2")
		var late OrderState
		for _, o := range v.h.m.PendingOrders() {
			if o.Copier == 101 {
				late = o
			}
		}
		v.h.apply(&Unfollow{Copier: 101, Trader: 1, ClosePositions: true})
		check(t, "leftover", v.answer(late.ClientOrderID, OrderFilled, late.Qty.String(), "60000"))
	})
}

// TestPositionModeLockedWhileOpen: a follow's position mode cannot change
// while it holds positions or orders (closes would carry the wrong side and
// reduce-only flag); once flat it can.
func TestPositionModeLockedWhileOpen(t *testing.T) {
	v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("1")})
	oneway := mult("1")
	oneway.PositionMode = OneWay
	v.must(Buy, "1", "60000", "1")
	if r := v.h.apply(&FollowUpdate{Copier: 101, Trader: 1, Settings: oneway}); r.Refusal == nil ||
		r.Refusal.Code != CodeInvalidArgument || !strings.Contains(r.Refusal.Msg, "Settings.PositionMode") {
		t.Fatalf("mode change with an open pending: %v", r.Refusal)
	}
	v.fillAll("60000")
	if r := v.h.apply(&FollowUpdate{Copier: 101, Trader: 1, Settings: oneway}); r.Refusal == nil {
		t.Fatal("mode change with a position accepted")
	}
	v.must(Sell, "1", "60000", "0")
	v.fillAll("60000")
	if r := v.h.apply(&FollowUpdate{Copier: 101, Trader: 1, Settings: oneway}); r.Refusal != nil {
		t.Fatalf("mode change when flat: %v", r.Refusal)
	}
	r := v.must(Buy, "1", "60000", "1")
	if o := r.Orders[0]; o.PosSide != Both || o.ReduceOnly {
		t.Fatalf("open after the change: %+v, want one-way", o)
	}
}

// TestImplausibleFillRefused: a price outside the instrument's band around
// the mark, a quantity above its maximum, a notional that overflows the
// ledger or a venue time far ahead are refused before Raft (CheckFillAt),
// naming the field, and change nothing.
func TestImplausibleFillRefused(t *testing.T) {
	h := newHarness(t)
	h.apply(&InstrumentUpsert{Instrument: Instrument{Symbol: "BTC", LotStep: mp("0.001"), TickSize: mp("0.5"),
		MinQty: mp("0.001"), MaxLeverage: 100, PriceBandBps: 1000, MaxOrderQty: mp("100")}})
	h.apply(&InstrumentUpsert{Instrument: Instrument{Symbol: "ETH", LotStep: mp("0.001"), TickSize: mp("0.5"),
		MinQty: mp("0.001"), MaxLeverage: 100}}) // no band, no maximum
	h.apply(&TraderApply{Trader: 1, Stats: ApplicantStats{Equity: 10_000 * fixed.One}})
	h.apply(&Follow{Copier: 101, Trader: 1, Settings: mult("1")})
	h.apply(&MarkPrices{Prices: []MarkPrice{{"BTC", mp("60000")}, {"ETH", mp("3000")}}})
	base := TradeFill{Trader: 1, TradeID: 1, Instrument: "BTC", Side: Buy, PosSide: Long, Qty: mp("1"),
		Price: mp("60000"), Leverage: 10, MarginMode: Cross, Equity: 10_000 * fixed.One, PositionAfter: mp("1")}
	cases := []struct {
		name, field string
		mut         func(*TradeFill)
	}{
		{"qty 9e10 at 9e10", "Qty", func(f *TradeFill) {
			f.Qty, f.Price, f.PositionAfter = mp("90000000000"), mp("90000000000"), mp("90000000000")
		}},
		{"qty above the maximum", "Qty", func(f *TradeFill) { f.Qty, f.PositionAfter = mp("100.001"), mp("100.001") }},
		{"price 100x the mark", "Price", func(f *TradeFill) { f.Price = mp("6000000") }},
		{"price below the band", "Price", func(f *TradeFill) { f.Price = mp("53999.5") }},
		{"notional overflows", "Qty", func(f *TradeFill) {
			f.Instrument, f.Qty, f.Price, f.PositionAfter = "ETH", mp("90000000000"), mp("90000000000"), mp("90000000000")
		}},
		{"venue time ahead", "EventTimeUnixNano", func(f *TradeFill) { f.EventTimeUnixNano += 120_000_000_000 }},
		{"position after below an opening qty", "PositionAfter", func(f *TradeFill) { f.PositionAfter = mp("0.5") }},
	}
	for _, c := range cases {
		f := base
		f.EventTimeUnixNano = h.now + 1_000_000_000
		c.mut(&f)
		if ref := h.m.CheckFillAt(&f, h.now+1_000_000_000); c.field != "PositionAfter" &&
			(ref == nil || ref.Code != CodeImplausibleFill || !strings.HasPrefix(ref.Msg, c.field+":")) {
			t.Errorf("%s: CheckFillAt %v, want IMPLAUSIBLE_FILL naming %s", c.name, ref, c.field)
		}
		r := h.apply(&f)
		if r.Refusal == nil || r.Refusal.Code != CodeImplausibleFill || !strings.HasPrefix(r.Refusal.Msg, c.field+":") || len(r.Orders) != 0 {
			t.Errorf("%s: applied %v (orders %d), want IMPLAUSIBLE_FILL naming %s", c.name, r.Refusal, len(r.Orders), c.field)
		}
		if len(h.m.PendingOrders()) != 0 {
			t.Fatalf("%s: orders pending after a refusal", c.name)
		}
	}
	tv, _ := h.m.Trader(1)
	if len(tv.Positions) != 0 || tv.Stats.MaxDrawdownBps != 0 || tv.SignalSeq != 0 {
		t.Fatalf("refused fills changed the trader: %+v", tv)
	}
	f := base
	f.EventTimeUnixNano = h.now + 1_000_000_000
	f.Price = mp("65500") // inside the 10 % band
	if r := h.apply(&f); r.Refusal != nil || len(r.Orders) != 1 {
		t.Fatalf("plausible fill: %v", r.Refusal)
	}
}

// TestCopiedOrderIsNotASignal: a fill of an order copytrade placed (a copier
// who also leads) is refused before Raft with COPIED_ORDER: no cascades.
func TestCopiedOrderIsNotASignal(t *testing.T) {
	v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("1")})
	id := v.must(Buy, "1", "60000", "1").Orders[0].ClientOrderID
	if !IsCopiedOrderID(id) {
		t.Fatalf("IsCopiedOrderID(%q) = false for the machine's own ID", id)
	}
	for _, own := range []string{"", "web-17", "C1-2", "c0-1", "c1-", "c-1", "c1_2", "sim-lead-9"} {
		if IsCopiedOrderID(own) {
			t.Errorf("IsCopiedOrderID(%q) = true for a trader's own ID", own)
		}
	}
	before := v.h.m.Hash()
	f := &TradeFill{Trader: 1, TradeID: 99, Instrument: "BTC", Side: Buy, PosSide: Long, Qty: mp("1"),
		Price: mp("60000"), Leverage: 10, MarginMode: Cross, PositionAfter: mp("2"), ClientOrderID: id,
		EventTimeUnixNano: v.h.now + 1_000_000_000}
	if ref := v.h.m.CheckFillAt(f, v.h.now+1_000_000_000); ref == nil || ref.Code != CodeCopiedOrder {
		t.Fatalf("CheckFillAt: %v, want COPIED_ORDER", ref)
	}
	if v.h.m.Hash() != before {
		t.Fatal("CheckFillAt changed the state")
	}
	if r := v.h.apply(f); r.Refusal == nil || r.Refusal.Code != CodeCopiedOrder || len(r.Orders) != 0 {
		t.Fatalf("apply: %v, %d orders", r.Refusal, len(r.Orders))
	}
	f.ClientOrderID, f.TradeID = "web-17", 100
	if r := v.h.apply(f); r.Refusal != nil || len(r.Orders) != 1 {
		t.Fatalf("the trader's own order: %v", r.Refusal)
	}
}

// TestStaleSignalSkipsOpensNotCloses: a fill whose venue time is older than
// the trader's signal age limit at the leader's stamp opens nothing
// (SIGNAL_STALE) but its closes are copied; the limit is per trader (2 s by
// default).
func TestStaleSignalSkipsOpensNotCloses(t *testing.T) {
	v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("1")})
	aged := func(side Side, qty, after string, ageMs int64) *Result {
		v.ids++
		r := v.h.apply(&TradeFill{Trader: 1, TradeID: v.ids, Instrument: "BTC", Side: side, PosSide: Long,
			Qty: mp(qty), Price: mp("60000"), Leverage: 10, MarginMode: Cross, PositionAfter: mp(after),
			EventTimeUnixNano: v.h.now + 1_000_000_000 - ageMs*1_000_000})
		if r.Refusal != nil {
			t.Fatal(r.Refusal)
		}
		return r
	}
	if r := aged(Buy, "1", "1", 2001); len(r.Orders) != 0 || skipOf(r, 101) != SkipSignalStale {
		t.Fatalf("stale open: orders %+v skips %+v, want SIGNAL_STALE", r.Orders, r.Skips)
	}
	if r := aged(Buy, "1", "2", 2000); len(r.Orders) != 1 {
		t.Fatalf("open at the limit: %+v", r.Skips)
	}
	v.fillAll("60000")
	if r := aged(Sell, "1", "1", 60_000); len(r.Orders) != 1 || r.Orders[0].Effect != EffectClose || r.Orders[0].Qty != mp("0.5") {
		t.Fatalf("stale close: %+v, want half the copy closed", r.Orders)
	}
	v.fillAll("60000")
	v.wantQty(101, "0.5")
	v.h.apply(&TraderUpdate{Trader: 1, Config: TraderConfig{SignalMaxAgeMs: 10_000}})
	if r := aged(Buy, "1", "2", 9_000); len(r.Orders) != 1 {
		t.Fatalf("open within the trader's 10 s: %+v", r.Skips)
	}
}

// TestRoundTripRealisesExactly: fully closing a position realises exactly
// Σ exit value − Σ entry cost, for the copier and for the trader, however it
// was closed: the case (0.2 @ 60000 + 0.1 @ 61000 closed in thirds)
// and random sequences of opens and partial closes.
func TestRoundTripRealisesExactly(t *testing.T) {
	type leg struct {
		buy        bool
		qty, price string
	}
	run := func(t *testing.T, legs []leg) {
		t.Helper()
		v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("1")})
		var pos, want fixed.Dec
		for _, l := range legs {
			q, p := mp(l.qty), mp(l.price)
			value, err := fixed.Mul(q, p, fixed.Down)
			if err != nil {
				t.Fatal(err)
			}
			if l.buy {
				pos += q
				want -= value
				v.must(Buy, l.qty, l.price, pos.String())
			} else {
				pos -= q
				want += value
				v.must(Sell, l.qty, l.price, pos.String())
			}
			v.fillAll(l.price)
		}
		if pos != 0 {
			t.Fatalf("test bug: the legs leave %s open", pos)
		}
		f, ok := v.h.m.Follow(101, 1)
		if !ok || len(f.Positions) != 0 || f.RealizedPnL != want {
			t.Fatalf("copier realised %s, want exactly %s (positions %+v)", f.RealizedPnL, want, f.Positions)
		}
		tv, _ := v.h.m.Trader(1)
		var trader fixed.Dec
		for _, day := range tv.Stats.Days {
			trader += day.RealizedPnL
		}
		if trader != want {
			t.Fatalf("trader realised %s, want exactly %s", trader, want)
		}
	}
	t.Run("thirds", func(t *testing.T) {
		run(t, []leg{{true, "0.2", "60000"}, {true, "0.1", "61000"},
			{false, "0.1", "60500"}, {false, "0.1", "60500"}, {false, "0.1", "60500"}})
	})
	for seed := uint64(1); seed <= 25; seed++ {
		rng := rand.New(rand.NewPCG(seed, 10))
		price := func() string { return fixed.Dec(59_000*fixed.One + fixed.Dec(rng.IntN(4000))*fixed.One/2).String() }
		var legs []leg
		var pos int // in lots of 0.001
		for range 1 + rng.IntN(4) {
			n := 1 + rng.IntN(500)
			pos += n
			legs = append(legs, leg{true, fixed.Dec(n * 100_000).String(), price()})
			for rng.IntN(2) == 0 && pos > 1 { // partial closes
				k := 1 + rng.IntN(pos-1)
				pos -= k
				legs = append(legs, leg{false, fixed.Dec(k * 100_000).String(), price()})
			}
		}
		legs = append(legs, leg{false, fixed.Dec(pos * 100_000).String(), price()})
		t.Run("seed"+strconv.FormatUint(seed, 10), func(t *testing.T) { run(t, legs) })
	}
}

// TestTraderPnLNetOfFee: fill v2 carries the trader's fee, so the trader's
// realised PnL (the leaderboard's) is net of it, and a round trip that gains
// less than its fees is a loss.
func TestTraderPnLNetOfFee(t *testing.T) {
	v := newV2(t, 0, nil)
	fill := func(id int64, side Side, price, after, fee string) {
		t.Helper()
		if r := v.h.apply(&TradeFill{Trader: 1, TradeID: id, Instrument: "BTC", Side: side, PosSide: Long, Qty: mp("1"),
			Price: mp(price), Leverage: 10, MarginMode: Cross, PositionAfter: mp(after), Fee: mp(fee),
			EventTimeUnixNano: v.h.now + 1_000_000_000}); r.Refusal != nil {
			t.Fatal(r.Refusal)
		}
	}
	fill(1, Buy, "60000", "1", "3")
	fill(2, Sell, "60100", "0", "3")
	fill(3, Buy, "60000", "1", "30")
	fill(4, Sell, "60050", "0", "30")
	tv, _ := v.h.m.Trader(1)
	var pnl fixed.Dec
	for _, day := range tv.Stats.Days {
		pnl += day.RealizedPnL
	}
	if pnl != mp("84") || tv.Stats.Wins != 1 || tv.Stats.Losses != 1 {
		t.Fatalf("realised %s, wins %d, losses %d: want 100 − 6 + 50 − 60 = 84, one win (94), one loss (−10)", pnl, tv.Stats.Wins, tv.Stats.Losses)
	}
}

// TestDustCloseDetachedWhenTraderFlat: a close the venue refuses because the
// quantity is below its minimums fails the same way every time. With the trader
// flat, the remainder is detached to the copier (its own, shown by queries)
// instead of being re-planned after every rejection; while the trader is still
// open, it stays attributed for the trader's next shrink; and a copier who
// unfollowed gets the same treatment. Before, each rejection planned the same
// close again — an unbounded loop once the follow had ended.
func TestDustCloseDetachedWhenTraderFlat(t *testing.T) {
	rejectDust := func(v *v2, id string) *Result {
		v.t.Helper()
		r := v.h.apply(&OrderResults{Results: []OrderResult{{ClientOrderID: id, Status: OrderRejected, Reason: "BELOW_MIN_NOTIONAL"}}})
		if r.Refusal != nil || r.ResultsApplied != 1 {
			v.t.Fatalf("result %s: %v", id, r.Refusal)
		}
		return r
	}
	detached := func(v *v2, copier AccountID) fixed.Dec {
		f, _ := v.h.m.Follow(copier, 1)
		var q fixed.Dec
		for _, p := range f.Detached {
			q += p.Qty
		}
		return q
	}

	t.Run("trader flat", func(t *testing.T) {
		v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("0.5")})
		v.must(Buy, "1", "60000", "1")
		v.fillAll("60000")
		cl := v.must(Sell, "1", "60000", "0").Orders[0]
		if r := rejectDust(v, cl.ClientOrderID); len(r.Orders) != 0 {
			t.Fatalf("dust close re-planned: %+v", r.Orders)
		}
		v.wantQty(101, "0")
		if got := detached(v, 101); got != mp("0.5") {
			t.Fatalf("detached %s, want the 0.5 the venue would not close", got)
		}
	})
	t.Run("trader still open", func(t *testing.T) {
		v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("0.5")})
		v.must(Buy, "1", "60000", "1")
		v.fillAll("60000")
		cl := v.must(Sell, "0.5", "60000", "0.5").Orders[0]
		if r := rejectDust(v, cl.ClientOrderID); len(r.Orders) != 0 {
			t.Fatalf("dust close re-planned: %+v", r.Orders)
		}
		v.wantQty(101, "0.5") // above its 0.25 target: the next shrink closes it
		if got := detached(v, 101); got != 0 {
			t.Fatalf("detached %s while the trader is open, want 0", got)
		}
		r := v.must(Sell, "0.5", "60000", "0")
		if len(r.Orders) != 1 || r.Orders[0].Qty != mp("0.5") {
			t.Fatalf("the trader's close: orders %+v, want all 0.5", r.Orders)
		}
	})
	t.Run("follow ended", func(t *testing.T) {
		v := newV2(t, 0, map[AccountID]FollowSettings{101: mult("0.5")})
		v.must(Buy, "1", "60000", "1")
		v.fillAll("60000")
		r := v.h.apply(&Unfollow{Copier: 101, Trader: 1, ClosePositions: true})
		if r.Refusal != nil || len(r.Orders) != 1 {
			t.Fatalf("unfollow: %v orders %+v", r.Refusal, r.Orders)
		}
		if r := rejectDust(v, r.Orders[0].ClientOrderID); len(r.Orders) != 0 {
			t.Fatalf("dust close of an ended follow re-planned: %+v", r.Orders)
		}
		if got := detached(v, 101); got != mp("0.5") {
			t.Fatalf("detached %s, want 0.5", got)
		}
	})
}
