package raftfsm

import (
	"flag"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// The property that sums up fill contract v2 (design §3):
//
//	once every result is in, a trader flat on an instrument and side means
//	every copier flat on what was opened for that trader, and every copier's
//	position is within one lot step of its sizing rule.
//
// Random fill sequences over two instruments with per-instrument trade IDs, a
// hedge-mode and a one-way trader, partial closes, flips, liquidations,
// replays, and exits with re-applications (the trader keeps trading at the
// venue while it does not lead); copier results are delayed, rejected or
// partially filled at random. The sizing rule is checked against an exact
// model (big.Rat): every open's fill, scaled by every shrink of the trader
// after the open was planned.
//
// `make test` runs flatSeeds seeds; `make fuzz` runs FuzzTraderFlatMeansCopiersFlat.

var flatSeeds = flag.Int("flat.seeds", 16, "seeds of TestTraderFlatMeansCopiersFlat")

func TestTraderFlatMeansCopiersFlat(t *testing.T) {
	for seed := 1; seed <= *flatSeeds; seed++ {
		flatRun(t, uint64(seed), 250)
	}
}

func FuzzTraderFlatMeansCopiersFlat(f *testing.F) {
	f.Add(uint64(1), uint16(200))
	f.Fuzz(func(t *testing.T, seed uint64, steps uint16) {
		flatRun(t, seed, int(steps%600))
	})
}

type flatKey struct {
	copier, trader AccountID
	inst           string
	side           PosSide
}

type flatSide struct {
	trader AccountID
	inst   string
	side   PosSide
}

type flatOpen struct {
	key  flatKey
	keep *big.Rat
}

type flatFill struct {
	trader AccountID
	inst   string
	id     int64
	ts     int64
}

// flatWorld is the test venue: the traders' venue positions, the exact model
// of what each copy should hold, and the pending opens it tracks.
type flatWorld struct {
	t       *testing.T
	rng     *rand.Rand
	h       *harness
	venue   map[flatSide]fixed.Dec // trader positions at the venue, per side (>= 0)
	ideal   map[flatKey]*big.Rat
	opens   map[string]*flatOpen // pending opens by client order ID
	ids     map[flatSide]int64   // next trade ID per trader and instrument (side ignored)
	applied []flatFill
	leading map[AccountID]bool
	lots    map[string]fixed.Dec
	copiers map[AccountID]FollowSettings
}

func rat(x fixed.Dec) *big.Rat { return new(big.Rat).SetFrac64(x.Units(), fixed.One.Units()) }

func flatRun(t *testing.T, seed uint64, steps int) {
	w := &flatWorld{t: t, rng: rand.New(rand.NewPCG(seed, 0xf1a7)), h: newHarness(t),
		venue: map[flatSide]fixed.Dec{}, ideal: map[flatKey]*big.Rat{}, opens: map[string]*flatOpen{},
		ids: map[flatSide]int64{}, leading: map[AccountID]bool{}, lots: map[string]fixed.Dec{"BTC": mp("0.001"), "ETH": mp("0.01")}}
	h := w.h
	h.apply(&InstrumentUpsert{Instrument: Instrument{Symbol: "BTC", LotStep: mp("0.001"), TickSize: mp("0.5"), MinQty: mp("0.001"), MaxLeverage: 100}})
	h.apply(&InstrumentUpsert{Instrument: Instrument{Symbol: "ETH", LotStep: mp("0.01"), TickSize: mp("0.01"), MinQty: mp("0.01"), MaxLeverage: 50}})
	w.copiers = map[AccountID]FollowSettings{}
	for i, k := range []string{"0.5", "1", "2.5", "0.3"} {
		s := mult(k)
		if i%2 == 1 {
			s.PositionMode = OneWay
		}
		s.MarginPolicy = MarginPolicy(1 + i%3)
		w.copiers[AccountID(101+i)] = s
	}
	fa := mult("1")
	fa.Mode, fa.Multiplier, fa.FixedMargin, fa.LeveragePolicy, fa.Leverage = FixedAmount, 0, 500*fixed.One, LeverageFixed, 10
	w.copiers[105] = fa
	for _, tr := range []AccountID{1, 2} {
		w.apply(tr)
	}
	for range steps {
		switch r := w.rng.IntN(100); {
		case r < 45:
			w.fill(AccountID(1 + w.rng.IntN(2)))
		case r < 50:
			w.replay()
		case r < 52:
			w.exit(AccountID(1 + w.rng.IntN(2)))
		default:
			w.results(false)
		}
	}
	for tr := range AccountID(3) {
		if tr > 0 && !w.leading[tr] {
			w.apply(tr)
		}
	}
	w.drain()
	w.check(seed)
}

// apply makes tr lead (again) and every copier follow it.
func (w *flatWorld) apply(tr AccountID) {
	if r := w.h.apply(&TraderApply{Trader: tr, Stats: ApplicantStats{Equity: 100_000 * fixed.One}}); r.Refusal != nil {
		w.t.Fatalf("apply %d: %v", tr, r.Refusal)
	}
	w.leading[tr] = true
	for _, c := range sortedKeys(w.copiers) {
		if r := w.h.apply(&Follow{Copier: c, Trader: tr, Settings: w.copiers[c]}); r.Refusal != nil {
			w.t.Fatalf("follow %d→%d: %v", c, tr, r.Refusal)
		}
	}
}

// exit ends tr's leading (copies closed), drains every result, and applies again
// later (run's end, or a fill that finds it not leading).
func (w *flatWorld) exit(tr AccountID) {
	if !w.leading[tr] {
		w.apply(tr) // re-apply: the venue position may have moved meanwhile
		return
	}
	r := w.h.apply(&TraderExit{Trader: tr, Policy: LiqClose})
	if r.Refusal != nil {
		w.t.Fatalf("exit %d: %v", tr, r.Refusal)
	}
	w.leading[tr] = false
	for k := range w.ideal {
		if k.trader == tr {
			w.ideal[k] = new(big.Rat)
		}
	}
	for _, o := range w.opens {
		if o.key.trader == tr {
			o.keep = new(big.Rat)
		}
	}
	w.drain() // ended follows go once their orders are final; then they may follow again
}

// fill makes trader tr trade at the venue and sends the fill (refused while it
// does not lead: the venue moved anyway).
func (w *flatWorld) fill(tr AccountID) {
	inst := []string{"BTC", "ETH"}[w.rng.IntN(2)]
	lot := w.lots[inst]
	price := map[string]fixed.Dec{"BTC": 60_000 * fixed.One, "ETH": 3_000 * fixed.One}[inst]
	f := &TradeFill{Trader: tr, Instrument: inst, Price: price, Leverage: 10, MarginMode: MarginMode(1 + w.rng.IntN(2)),
		Equity: 100_000 * fixed.One, EventTimeUnixNano: w.h.now + 1_000_000_000}
	long, short := w.venue[flatSide{tr, inst, Long}], w.venue[flatSide{tr, inst, Short}]
	lots := func(max fixed.Dec) fixed.Dec { // 1..max/lot lots, or max itself
		n := max / lot
		if n <= 0 || w.rng.IntN(4) == 0 {
			return max
		}
		return fixed.Dec(1+w.rng.Int64N(int64(n))) * lot
	}
	grow := fixed.Dec(1+w.rng.IntN(300)) * lot
	// Shrinks of the venue's side positions: (side, before, q).
	type leg struct {
		side      PosSide
		before, q fixed.Dec
	}
	var shrinks []leg
	if tr == 1 { // hedge
		f.PosSide = PosSide(1 + w.rng.IntN(2))
		pos := w.venue[flatSide{tr, inst, f.PosSide}]
		if pos > 0 && w.rng.IntN(2) == 0 {
			f.Side = closeSideOf(f.PosSide)
			f.Qty = lots(pos)
			f.Liquidation = f.Qty == pos && w.rng.IntN(5) == 0
			shrinks = append(shrinks, leg{f.PosSide, pos, f.Qty})
			w.venue[flatSide{tr, inst, f.PosSide}] = pos - f.Qty
		} else {
			f.Side, f.Qty = openSideOf(f.PosSide), grow
			w.venue[flatSide{tr, inst, f.PosSide}] = pos + f.Qty
		}
		f.PositionAfter = w.venue[flatSide{tr, inst, f.PosSide}]
	} else { // one-way: a buy shrinks a short, then grows long (a flip)
		f.PosSide = Both
		f.Side = Side(1 + w.rng.IntN(2))
		shrinkSide, growSide, held := Short, Long, short
		if f.Side == Sell {
			shrinkSide, growSide, held = Long, Short, long
		}
		switch {
		case held > 0 && w.rng.IntN(5) == 0: // liquidation: the whole position
			f.Qty, f.Liquidation = held, true
		case held > 0 && w.rng.IntN(3) == 0: // flip
			f.Qty = held + grow
		case held > 0:
			f.Qty = lots(held)
		default:
			f.Qty = grow
		}
		if held > 0 {
			q := min(held, f.Qty)
			shrinks = append(shrinks, leg{shrinkSide, held, q})
			w.venue[flatSide{tr, inst, shrinkSide}] = held - q
		}
		if rest := f.Qty - min(held, f.Qty); rest > 0 {
			w.venue[flatSide{tr, inst, growSide}] += rest
		}
		f.PositionAfter = w.venue[flatSide{tr, inst, Long}] - w.venue[flatSide{tr, inst, Short}]
	}
	k := flatSide{tr, inst, 0}
	w.ids[k]++
	f.TradeID = w.ids[k]
	res := w.h.apply(f)
	if !w.leading[tr] {
		if res.Refusal == nil || res.Refusal.Code != CodeNotLeadTrader {
			w.t.Fatalf("fill of a trader that does not lead: %v", res.Refusal)
		}
		return
	}
	if res.Refusal != nil {
		w.t.Fatalf("fill %+v: %v", f, res.Refusal)
	}
	w.applied = append(w.applied, flatFill{tr, inst, f.TradeID, f.EventTimeUnixNano})
	for _, s := range shrinks {
		r := new(big.Rat).SetFrac64((s.before - s.q).Units(), s.before.Units())
		for key, v := range w.ideal {
			if key.trader == tr && key.inst == inst && key.side == s.side {
				v.Mul(v, r)
			}
		}
		for _, o := range w.opens {
			if o.key.trader == tr && o.key.inst == inst && o.key.side == s.side {
				o.keep.Mul(o.keep, r)
			}
		}
	}
	w.track(res)
}

// track records the opens a result planned.
func (w *flatWorld) track(res *Result) {
	for _, o := range res.Orders {
		if o.Effect == EffectOpen {
			w.opens[o.ClientOrderID] = &flatOpen{flatKey{o.Copier, o.Trader, o.Instrument, o.AttrSide}, big.NewRat(1, 1)}
		}
	}
}

// replay resends an applied fill: never applied twice.
func (w *flatWorld) replay() {
	if len(w.applied) == 0 {
		return
	}
	a := w.applied[w.rng.IntN(len(w.applied))]
	tr := a.trader
	res := w.h.apply(&TradeFill{Trader: tr, TradeID: a.id, Instrument: a.inst, Side: Buy, PosSide: Long, Qty: w.lots[a.inst],
		Price: 100 * fixed.One, Leverage: 1, MarginMode: Cross, PositionAfter: 1000 * fixed.One, EventTimeUnixNano: a.ts})
	if res.Refusal == nil {
		w.t.Fatalf("replay of %s #%d (trader %d) applied", a.inst, a.id, tr)
	}
}

// results answers pending orders: a random subset (all with full fills when
// drain).
func (w *flatWorld) results(drain bool) {
	var rs OrderResults
	for _, o := range w.h.m.PendingOrders() {
		if !drain && w.rng.IntN(3) != 0 {
			continue // delayed
		}
		lot := w.lots[o.Instrument]
		r := OrderResult{ClientOrderID: o.ClientOrderID, Status: OrderFilled, FilledQty: o.Qty, AvgPrice: 50 * fixed.One}
		if !drain {
			switch x := w.rng.IntN(10); {
			case x < 2:
				r.Status, r.FilledQty, r.AvgPrice = OrderRejected, 0, 0
			case x < 4 && o.Qty > lot:
				r.Status, r.FilledQty = OrderPartiallyFilled, fixed.Dec(1+w.rng.Int64N(int64(o.Qty/lot)-1))*lot
			}
		}
		rs.Results = append(rs.Results, r)
	}
	if len(rs.Results) == 0 {
		return
	}
	res := w.h.apply(&rs)
	if res.Refusal != nil {
		w.t.Fatalf("results: %v", res.Refusal)
	}
	for _, r := range rs.Results {
		if o := w.opens[r.ClientOrderID]; o != nil {
			if r.FilledQty > 0 {
				v := w.ideal[o.key]
				if v == nil {
					v = new(big.Rat)
					w.ideal[o.key] = v
				}
				v.Add(v, new(big.Rat).Mul(rat(r.FilledQty), o.keep))
			}
			delete(w.opens, r.ClientOrderID)
		}
	}
	w.track(res)
}

// drain answers everything, in full, until nothing is pending.
func (w *flatWorld) drain() {
	for i := 0; len(w.h.m.PendingOrders()) > 0; i++ {
		if i == 100 {
			w.t.Fatalf("still %d orders pending after 100 rounds", len(w.h.m.PendingOrders()))
		}
		w.results(true)
	}
}

// check asserts the property once every result is in.
func (w *flatWorld) check(seed uint64) {
	for _, tr := range []AccountID{1, 2} {
		for _, f := range w.h.m.Followers(tr, 0, 1000) {
			for _, inst := range []string{"BTC", "ETH"} {
				for _, side := range []PosSide{Long, Short} {
					var got fixed.Dec
					if i := posIndex(f.Positions, inst, side); i >= 0 {
						got = f.Positions[i].Qty
					}
					venue := w.venue[flatSide{tr, inst, side}]
					if venue == 0 && got != 0 {
						w.t.Fatalf("seed %d: trader %d flat on %s/%d at the venue, copier %d holds %s", seed, tr, inst, side, f.Copier, got)
					}
					ideal := w.ideal[flatKey{f.Copier, tr, inst, side}]
					if ideal == nil {
						ideal = new(big.Rat)
					}
					diff := new(big.Rat).Sub(rat(got), ideal)
					if diff.Abs(diff).Cmp(rat(w.lots[inst])) > 0 {
						w.t.Fatalf("seed %d: copier %d of trader %d on %s/%d holds %s, its sizing rule says %s (more than a lot step off)",
							seed, f.Copier, tr, inst, side, got, ideal.FloatString(8))
					}
				}
			}
		}
	}
}
