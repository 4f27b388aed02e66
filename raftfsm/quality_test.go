package raftfsm

import (
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

func init() { separateGolden[OpOrderResultsTimed] = "TestOrderResultsTimedGolden" }

const orderResultsTimedGolden = "021f8cc88980e6adb4a62f020463312d320280be920180e8bdfdfdf502b0cad603000463312d330400000013494e53554646494349454e545f4d415247494e8c87e086e6adb4a62f8c99d488e6adb4a62f"

func TestOrderResultsTimedGolden(t *testing.T) {
	cmd := &OrderResultsTimed{Results: []OrderResult{
		{ClientOrderID: "c1-2", Status: OrderFilled, FilledQty: gdec(1200000), AvgPrice: gdec(64_250_00000000), Fee: gdec(3855000), VenueTimeUnixNano: goldenTime + 7_000_000},
		{ClientOrderID: "c1-3", Status: OrderRejected, Reason: "INSUFFICIENT_MARGIN", VenueTimeUnixNano: goldenTime + 9_000_000},
	}}
	got := hex.EncodeToString(Encode(Envelope{TimeUnixNano: goldenTime, Cmd: cmd}))
	if got != orderResultsTimedGolden {
		t.Fatalf("OrderResultsTimed encoding changed (old logs would not replay)\n got: %s\nwant: %s", got, orderResultsTimedGolden)
	}
	b, _ := hex.DecodeString(orderResultsTimedGolden)
	env, err := Decode(b)
	if err != nil || !reflect.DeepEqual(env.Cmd, cmd) {
		t.Fatalf("decoded %+v, %v", env.Cmd, err)
	}
}

// TestCopyQualityFromHistory: latency and slippage of copies from the venue's
// times and prices, per follow and per trader, the fill ratio, and the window.
func TestCopyQualityFromHistory(t *testing.T) {
	h := activityHarness(t) // copier 10 copies; 11 has no allocation; 12 is paused
	h.apply(&FollowResume{Copier: 12, Trader: 1})
	h.apply(&FollowUpdate{Copier: 11, Trader: 1, Settings: optionsFollow(11).Settings})
	sig := h.now + 1e9 // the next entry's stamp
	h.apply(&TradeFill{Trader: 1, TradeID: 1, Instrument: "BTC", Side: Buy, PosSide: Long, Qty: fixed.One,
		Price: 50_000 * fixed.One, Leverage: 10, MarginMode: Cross, Equity: 10_000 * fixed.One, EventTimeUnixNano: sig - 5e6, PositionAfter: fixed.One})
	var rs []OrderResult
	for _, o := range h.m.PendingOrders() {
		r := OrderResult{ClientOrderID: o.ClientOrderID, Status: OrderFilled, FilledQty: o.Qty}
		switch o.Copier {
		case 10: // 10 bps worse, 20 ms after the trader
			r.AvgPrice, r.VenueTimeUnixNano = 50_050*fixed.One, sig+15e6
		case 11: // 2 bps better, 40 ms; half filled
			r.Status, r.FilledQty = OrderPartiallyFilled, o.Qty/2
			r.AvgPrice, r.VenueTimeUnixNano = 49_990*fixed.One, sig+35e6
		case 12: // rejected
			r = OrderResult{ClientOrderID: o.ClientOrderID, Status: OrderRejected, Reason: "INSUFFICIENT_MARGIN", VenueTimeUnixNano: sig + 1e6}
		}
		rs = append(rs, r)
	}
	h.apply(&OrderResultsTimed{Results: rs})
	all, per := h.m.CopyQuality(1, 0, 7*24*3600e9)
	if all.Orders != 3 || all.Filled != 2 || all.Timed != 2 || len(per) != 3 {
		t.Fatalf("trader: %+v, %d follows", all, len(per))
	}
	if all.LatencyP50 != 20e6 || all.LatencyP99 != 40e6 {
		t.Fatalf("latency P50 %d, P99 %d", all.LatencyP50, all.LatencyP99)
	}
	if all.SlippageMean != (1000-200)/2 || all.SlippageP90 != 1000 { // hundredths of a bp
		t.Fatalf("slippage mean %d, P90 %d", all.SlippageMean, all.SlippageP90)
	}
	if all.FillRatioBps != 5000 { // 1 + 0.5 + 0 of 3
		t.Fatalf("fill ratio %d bps", all.FillRatioBps)
	}
	if per[0].Copier != 10 || per[0].SlippageMean != 1000 || per[0].LatencyP50 != 20e6 || per[0].FillRatioBps != 10_000 {
		t.Fatalf("copier 10: %+v", per[0])
	}
	one, only := h.m.CopyQuality(1, 11, 7*24*3600e9)
	if len(only) != 1 || one.SlippageMean != -200 || one.FillRatioBps != 5000 {
		t.Fatalf("copier 11: %+v", one)
	}
	// A sell: worse for the copier is below the trader's price.
	h.apply(&TradeFill{Trader: 1, TradeID: 2, Instrument: "BTC", Side: Sell, PosSide: Long, Qty: fixed.One,
		Price: 50_000 * fixed.One, Leverage: 10, MarginMode: Cross, Equity: 10_000 * fixed.One})
	rs = rs[:0]
	for _, o := range h.m.PendingOrders() {
		if o.Copier == 10 {
			rs = append(rs, OrderResult{ClientOrderID: o.ClientOrderID, Status: OrderFilled, FilledQty: o.Qty, AvgPrice: 49_975 * fixed.One})
		}
	}
	h.apply(&OrderResults{Results: rs})
	_, per = h.m.CopyQuality(1, 10, 7*24*3600e9)
	if per[0].SlippageMean != (1000+500)/2 || per[0].Timed != 1 {
		t.Fatalf("copier 10 after a sell: %+v", per[0])
	}
	// The window: nothing in the last second.
	if q, _ := h.m.CopyQuality(1, 0, 1); q.Orders != 0 {
		t.Fatalf("a 1 ns window counted %d orders", q.Orders)
	}
}
