package raftfsm

import (
	"math/rand/v2"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// TestDedupNeverRefusesUnseenFill: whatever the venue's trade ID scheme —
// per instrument (BTC from 9,000,000 interleaved with ETH from 1), global, or
// not monotonic at all (random IDs, venue times permuted within seconds) —
// every fill not seen before applies, every replay is DUPLICATE_FILL, a fill
// older than the horizon is FILL_TOO_OLD (STALE), and the window never holds
// more than DedupWindowSize entries.
func TestDedupNeverRefusesUnseenFill(t *testing.T) {
	type stream struct {
		name string
		next func(i int, rng *rand.Rand) (inst string, id int64)
	}
	streams := []stream{
		{"per-instrument", func(i int, _ *rand.Rand) (string, int64) {
			if i%2 == 0 {
				return "BTC", 9_000_000 + int64(i/2)
			}
			return "ETH", 1 + int64(i/2)
		}},
		{"global", func(i int, _ *rand.Rand) (string, int64) {
			return []string{"BTC", "ETH"}[i%3%2], 1 + int64(i)
		}},
		{"non-monotonic", nil}, // random distinct IDs, set below
	}
	const n = 3 * DedupWindowSize / 2 // beyond the window: evictions happen
	for _, st := range streams {
		t.Run(st.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(st.name))))
			next := st.next
			if next == nil {
				ids := rng.Perm(4 * n) // a permutation: distinct, in no order
				next = func(i int, rng *rand.Rand) (string, int64) {
					return []string{"BTC", "ETH"}[rng.IntN(2)], 1 + int64(ids[i])
				}
			}
			h := newHarness(t)
			h.check = false // CheckInvariants is exercised elsewhere; keep 6k fills fast
			for _, sym := range []string{"BTC", "ETH"} {
				h.apply(&InstrumentUpsert{Instrument: Instrument{Symbol: sym, LotStep: fixed.MustParse("0.001"), TickSize: fixed.One,
					MinQty: fixed.MustParse("0.001"), MaxLeverage: 10}})
			}
			h.apply(&TraderApply{Trader: 1})
			type sent struct {
				inst string
				id   int64
				ts   int64
			}
			var applied []sent
			fill := func(inst string, id, ts int64, side Side) *Result {
				f := &TradeFill{Trader: 1, TradeID: id, Instrument: inst, Side: side, PosSide: Long,
					Qty: fixed.MustParse("0.001"), Price: 100 * fixed.One, Leverage: 1, MarginMode: Cross, EventTimeUnixNano: ts}
				f.PositionAfter = trackedAfter(h.m, f)
				return h.apply(f)
			}
			for i := 0; i < n; i++ {
				inst, id := next(i, rng)
				// Venue time: the stamp, less up to 10 s (out of order).
				ts := h.now + 1_000_000_000 - int64(rng.IntN(10_000))*1_000_000
				if r := fill(inst, id, ts, Buy); r.Refusal != nil {
					t.Fatalf("fill %d (%s #%d), never seen: refused %v", i, inst, id, r.Refusal)
				}
				applied = append(applied, sent{inst, id, ts})
				if l := len(h.m.traders[1].Dedup.IDs); l > DedupWindowSize {
					t.Fatalf("window holds %d entries, bound %d", l, DedupWindowSize)
				}
			}
			// Replays of recent fills are duplicates; the same ID on the
			// other instrument is a different fill.
			for _, s := range applied[len(applied)-200:] {
				if r := fill(s.inst, s.id, s.ts, Buy); r.Refusal == nil || r.Refusal.Code != CodeDuplicateFill {
					t.Fatalf("replay of %s #%d: got %v, want DUPLICATE_FILL", s.inst, s.id, r.Refusal)
				}
			}
			// Fills older than what the window can judge are STALE, whether
			// or not they were seen: never applied twice, never "duplicate".
			w := &h.m.traders[1].Dedup
			if r := fill("BTC", applied[0].id, applied[0].ts, Buy); applied[0].ts < w.Floor &&
				(r.Refusal == nil || r.Refusal.Code != CodeFillTooOld) {
				t.Fatalf("evicted fill replayed: got %v, want FILL_TOO_OLD", r.Refusal)
			}
			old := h.now - DedupHorizonNanos - 1
			if r := fill("ETH", 1<<40, old, Buy); r.Refusal == nil || r.Refusal.Code != CodeFillTooOld {
				t.Fatalf("fill older than the horizon: got %v, want FILL_TOO_OLD", r.Refusal)
			}
		})
	}
}

// TestDedupHorizon: the floor follows the newest venue time less the
// horizon, and what falls below it goes.
func TestDedupHorizon(t *testing.T) {
	var w DedupWindow
	w.add("BTC", 1, 1_000)
	w.add("BTC", 2, 2_000)
	if !w.seen("BTC", 1) || w.seen("ETH", 1) || w.stale(1_000) {
		t.Fatalf("seen/stale wrong: %+v", w)
	}
	w.add("ETH", 1, 1_000+DedupHorizonNanos+1)
	if w.seen("BTC", 1) || !w.stale(1_000) || !w.seen("BTC", 2) || w.stale(2_000) {
		t.Fatalf("after the horizon moved: %+v", w)
	}
	if err := w.check(); err != nil {
		t.Fatal(err)
	}
}
