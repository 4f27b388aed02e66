package raftfsm

import (
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

func init() { separateGolden[OpOrderResolve] = "TestOrderResolveGolden" }

const orderResolveGolden = "021a8cc88980e6adb4a62f011763742d313030312d303030303030303034322d323030320280be920180e8bdfdfdf502b0cad60300"

func TestOrderResolveGolden(t *testing.T) {
	cmd := &OrderResolve{Result: OrderResult{ClientOrderID: "ct-1001-0000000042-2002", Status: OrderFilled,
		FilledQty: gdec(1200000), AvgPrice: gdec(64_250_00000000), Fee: gdec(3855000)}}
	got := hex.EncodeToString(Encode(Envelope{TimeUnixNano: goldenTime, Cmd: cmd}))
	if got != orderResolveGolden {
		t.Fatalf("OrderResolve encoding changed (old logs would not replay)\n got: %s\nwant: %s", got, orderResolveGolden)
	}
	b, _ := hex.DecodeString(orderResolveGolden)
	env, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(env.Cmd, cmd) {
		t.Fatalf("decoded %+v, want %+v", env.Cmd, cmd)
	}
	// A resolve carries exactly one result.
	two := Encode(Envelope{TimeUnixNano: goldenTime, Cmd: &OrderResults{Results: []OrderResult{cmd.Result, cmd.Result}}})
	two[1] = byte(OpOrderResolve)
	if _, err := Decode(two); err == nil || !strings.Contains(err.Error(), "exactly one") {
		t.Fatalf("two results in a resolve: %v", err)
	}
}

// TestQuarantineIsolatesBadResult: in one batch, a result whose figures
// overflow the ledger and one with a negative fee are quarantined, each
// changing nothing; the good result is applied. The admin resolves one.
func TestQuarantineIsolatesBadResult(t *testing.T) {
	h := newHarness(t)
	h.apply(&InstrumentUpsert{Instrument: Instrument{Symbol: "BTC", LotStep: fixed.MustParse("0.001"), TickSize: fixed.MustParse("0.5"),
		MinQty: fixed.MustParse("0.001"), MaxLeverage: 100}})
	h.apply(&TraderApply{Trader: 1, Stats: ApplicantStats{Equity: 10_000 * fixed.One}})
	for _, c := range []AccountID{10, 11, 12} {
		h.apply(&Follow{Copier: c, Trader: 1, Settings: FollowSettings{Mode: Multiplier, Multiplier: fixed.One,
			Allocation: 100_000 * fixed.One, LeveragePolicy: LeverageFollowTrader, MarginPolicy: MarginFollowTrader, PositionMode: Hedge}})
	}
	fill := func(id int64) {
		h.apply(&TradeFill{Trader: 1, TradeID: id, Instrument: "BTC", Side: Buy, PosSide: Long, Qty: fixed.One,
			Price: 50_000 * fixed.One, Leverage: 10, MarginMode: Cross, Equity: 10_000 * fixed.One})
	}
	fill(1)
	h.apply(h.fillAll(50_000*fixed.One, fixed.One)) // every follow has paid a fee: MaxDec more overflows
	fill(2)
	orders := h.m.PendingOrders()
	if len(orders) != 3 {
		t.Fatalf("%d pending orders", len(orders))
	}
	f0 := h.m.traders[1].findFollow(orders[0].Copier)
	share0 := f0.Share
	res := h.apply(&OrderResults{Results: []OrderResult{
		{ClientOrderID: orders[0].ClientOrderID, Status: OrderFilled, FilledQty: orders[0].Qty, AvgPrice: 50_000 * fixed.One, Fee: fixed.MaxDec},
		{ClientOrderID: orders[1].ClientOrderID, Status: OrderFilled, FilledQty: orders[1].Qty, AvgPrice: 50_000 * fixed.One, Fee: -fixed.MustParse("0.01")},
		{ClientOrderID: orders[2].ClientOrderID, Status: OrderFilled, FilledQty: orders[2].Qty, AvgPrice: 50_000 * fixed.One, Fee: fixed.One},
	}})
	if res.Refusal != nil || res.ResultsApplied != 1 || len(res.Quarantined) != 2 {
		t.Fatalf("refusal %v, applied %d, quarantined %+v: want 1 applied and 2 quarantined", res.Refusal, res.ResultsApplied, res.Quarantined)
	}
	if !strings.Contains(res.Quarantined[0].Reason, "OVERFLOW") || !strings.Contains(res.Quarantined[1].Reason, "fee -0.01") {
		t.Fatalf("reasons %+v", res.Quarantined)
	}
	if f0.Share != share0 || f0.Positions[0].Qty != fixed.One || f0.Pending != 1 {
		t.Fatalf("the overflowing result changed its follow: %+v", f0)
	}
	if q := h.m.QuarantinedOrders(); len(q) != 2 || len(h.m.PendingOrders()) != 0 {
		t.Fatalf("quarantined %d, pending %d", len(q), len(h.m.PendingOrders()))
	}
	// Exporting the slot waits for the admin: the orders still hold their follows.
	if f0.Pending != 1 {
		t.Fatal("a quarantined order must keep its follow's pending count")
	}
	r := h.apply(&OrderResolve{Result: OrderResult{ClientOrderID: orders[0].ClientOrderID, Status: OrderFilled,
		FilledQty: orders[0].Qty, AvgPrice: 50_000 * fixed.One, Fee: fixed.One}})
	if r.Refusal != nil || r.ResultsApplied != 1 || h.m.IsQuarantined(orders[0].ClientOrderID) {
		t.Fatalf("resolve: %v applied %d", r.Refusal, r.ResultsApplied)
	}
	if f0.Positions[0].Qty != 2*fixed.One || f0.Pending != 0 {
		t.Fatalf("after resolve: %+v", f0)
	}
	// A resolve that overflows again is refused and keeps the order quarantined with its reason.
	r = h.apply(&OrderResolve{Result: OrderResult{ClientOrderID: orders[1].ClientOrderID, Status: OrderFilled,
		FilledQty: orders[1].Qty, AvgPrice: 50_000 * fixed.One, Fee: fixed.MaxDec}})
	if r.Refusal == nil || !h.m.IsQuarantined(orders[1].ClientOrderID) || h.m.QuarantinedOrders()[0].Reason != res.Quarantined[1].Reason {
		t.Fatalf("overflowing resolve: %v, quarantined %+v", r.Refusal, h.m.QuarantinedOrders())
	}
}
