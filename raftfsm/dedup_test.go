package raftfsm

import "testing"

// TestDedupWindow: duplicates inside the window are seen, IDs that fell out
// raise the floor (too old), and out-of-order IDs above the floor are new.
func TestDedupWindow(t *testing.T) {
	var w DedupWindow
	for id := int64(1); id <= DedupWindowSize; id++ {
		w.add(id * 2) // even IDs 2..8192
	}
	if !w.seen(2) || w.seen(3) || w.Floor != 0 {
		t.Fatalf("full window: seen(2)=%v seen(3)=%v floor=%d", w.seen(2), w.seen(3), w.Floor)
	}
	w.add(3) // out of order, evicts 2
	if w.Floor != 3 || w.seen(2) || !w.seen(3) {
		t.Fatalf("after evicting 2: floor=%d seen(2)=%v seen(3)=%v", w.Floor, w.seen(2), w.seen(3))
	}
	w.add(9000) // evicts 4
	if w.Floor != 5 || len(w.IDs) != DedupWindowSize {
		t.Fatalf("after evicting 4: floor=%d len=%d", w.Floor, len(w.IDs))
	}
	// Through the machine: below the floor is refused as too old.
	h := newHarness(t)
	h.apply(&InstrumentUpsert{Instrument: Instrument{Symbol: "BTC", LotStep: 100_000, TickSize: 1, MinQty: 100_000, MaxLeverage: 10}})
	h.apply(&TraderApply{Trader: 1})
	fill := func(id int64) *Result {
		return h.apply(&TradeFill{Trader: 1, TradeID: id, Instrument: "BTC", Side: Buy, PosSide: Long,
			Qty: 100_000, Price: 100_000_000, Leverage: 1, MarginMode: Cross})
	}
	for id := int64(1); id <= DedupWindowSize+1; id++ {
		if r := fill(id); r.Refusal != nil {
			t.Fatalf("fill %d: %v", id, r.Refusal)
		}
	}
	if r := fill(1); r.Refusal == nil || r.Refusal.Code != CodeFillTooOld {
		t.Fatalf("evicted ID: got %v, want FILL_TOO_OLD", r.Refusal)
	}
	if r := fill(2); r.Refusal == nil || r.Refusal.Code != CodeDuplicateFill {
		t.Fatalf("ID in window: got %v, want DUPLICATE_FILL", r.Refusal)
	}
}
