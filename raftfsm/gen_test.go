package raftfsm

import (
	"math/rand/v2"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// A generator of random, mostly valid command sequences, shared by
// TestSnapshotRestoreEquivalence and FuzzApply. It draws from a source of
// choices (a seeded PRNG, or fuzz bytes) and looks at the machine (pending
// orders) so that results refer to real orders.

// chooser yields choices in [0, n).
type chooser interface{ intn(n int) int }

type prng struct{ r *rand.Rand }

func (p prng) intn(n int) int { return p.r.IntN(n) }

// fuzzBytes reads choices from fuzz input; when it runs out, every choice is 0.
type fuzzBytes struct {
	b []byte
	i int
}

func (f *fuzzBytes) intn(n int) int {
	if f.i+1 >= len(f.b) {
		return 0
	}
	v := int(f.b[f.i])<<8 | int(f.b[f.i+1])
	f.i += 2
	return v % n
}

func (f *fuzzBytes) done() bool { return f.i+1 >= len(f.b) }

type gen struct {
	c     chooser
	m     *Machine
	trade [4]int64 // last trade ID per trader 1..3
	slot  slotGen  // slot-move commands (migrate_test.go)
	share shareGen // marks, settlements, outcomes, ratio changes (settle_test.go)
}

var genInsts = []string{"BTC", "ETH"}
var genPrices = []fixed.Dec{50_000 * fixed.One, 3_000 * fixed.One}

// setup returns the fixed opening commands: instruments, rules, traders.
func (g *gen) setup() []Command {
	return []Command{
		&InstrumentUpsert{Instrument: Instrument{Symbol: "BTC", LotStep: fixed.MustParse("0.001"), TickSize: fixed.MustParse("0.5"),
			MinQty: fixed.MustParse("0.001"), MinNotional: 5 * fixed.One, MaxLeverage: 100}},
		&InstrumentUpsert{Instrument: Instrument{Symbol: "ETH", LotStep: fixed.MustParse("0.01"), TickSize: fixed.MustParse("0.01"),
			MinQty: fixed.MustParse("0.01"), MinNotional: 5 * fixed.One, MaxLeverage: 50}},
		&TraderApply{Trader: 1, Stats: ApplicantStats{Equity: 10_000 * fixed.One}, Config: TraderConfig{LiquidationPolicy: LiqDetach}},
		&TraderApply{Trader: 2, Stats: ApplicantStats{Equity: 10_000 * fixed.One}, Config: TraderConfig{Instruments: []string{"BTC"}}},
		&TraderApply{Trader: 3, Parent: 1, Stats: ApplicantStats{Equity: 10_000 * fixed.One}, Config: TraderConfig{MaxCopiers: 4}},
	}
}

func (g *gen) pick(n int) int { return g.c.intn(n) }

func (g *gen) settings() FollowSettings {
	s := FollowSettings{
		Mode:           CopyMode(1 + g.pick(3)),
		Allocation:     fixed.Dec(100+g.pick(20_000)) * fixed.One,
		LeveragePolicy: LeverageFollowTrader,
		MarginPolicy:   MarginPolicy(1 + g.pick(3)),
		PositionMode:   PositionMode(1 + g.pick(2)),
		SlippageBps:    int64(g.pick(3) * 50),
	}
	switch s.Mode {
	case FixedAmount:
		s.FixedMargin = min(s.Allocation, fixed.Dec(10+g.pick(500))*fixed.One)
	case Multiplier:
		s.Multiplier = fixed.Dec(1+g.pick(300)) * fixed.One / 100
	}
	if g.pick(3) == 0 {
		s.LeveragePolicy, s.Leverage = LeverageFixed, int32(1+g.pick(120))
	}
	if g.pick(4) == 0 {
		s.MaxOrderNotional = fixed.Dec(g.pick(50_000)) * fixed.One
	}
	if g.pick(4) == 0 {
		s.MaxFollowNotional = fixed.Dec(g.pick(200_000)) * fixed.One
	}
	if g.pick(5) == 0 {
		s.Instruments = []string{genInsts[g.pick(2)]}
	}
	s.LiquidationPolicy = LiqPolicy(g.pick(3))
	g.share.settings(g, &s) // stop-loss / take-profit
	return s
}

// next returns one random command.
func (g *gen) next() Command {
	trader := AccountID(1 + g.pick(3))
	copier := AccountID(10 + g.pick(8))
	if g.pick(20) == 0 {
		copier = trader // refused: self-follow
	}
	switch k := g.pick(100); {
	case k < 40:
		return g.fill(trader)
	case k < 66:
		return g.results()
	case k < 70:
		return g.share.next(g) // marks, settle, outcomes, ratio changes: settle_test.go
	case k < 78:
		return &Follow{Copier: copier, Trader: trader, Settings: g.settings()}
	case k < 80:
		return &FollowUpdate{Copier: copier, Trader: trader, Settings: g.settings()}
	case k < 83:
		return &FollowPause{Copier: copier, Trader: trader}
	case k < 86:
		return &FollowResume{Copier: copier, Trader: trader}
	case k < 89:
		return &Unfollow{Copier: copier, Trader: trader, ClosePositions: g.pick(2) == 0}
	case k < 90:
		return &TraderPause{Trader: trader}
	case k < 92:
		return &TraderResume{Trader: trader}
	case k < 93:
		return &TraderExit{Trader: trader, Policy: LiqPolicy(g.pick(3))}
	case k < 95:
		return &TraderApply{Trader: trader, Stats: ApplicantStats{Equity: fixed.Dec(1+g.pick(50_000)) * fixed.One},
			Config: TraderConfig{LiquidationPolicy: LiqPolicy(g.pick(3)), ProfitShareBps: int64(g.pick(3001))}}
	case k < 97:
		i := g.pick(2)
		return &MarkPrices{Prices: []MarkPrice{{Instrument: genInsts[i], Price: g.price(i)}}}
	case k < 98:
		return &Noop{}
	case k < 100 && g.pick(3) != 0:
		return g.slot.next(g) // slot moves: migrate_test.go
	default:
		return g.results() // a repeat of final results is ignored
	}
}

func (g *gen) price(i int) fixed.Dec {
	return genPrices[i] * fixed.Dec(90+g.pick(21)) / 100
}

func (g *gen) fill(trader AccountID) *TradeFill {
	i := g.pick(2)
	id := g.trade[trader] + 1
	switch g.pick(10) {
	case 0:
		id = max(1, g.trade[trader]-int64(g.pick(3))) // duplicate or out of order
	default:
		g.trade[trader] = id
	}
	f := &TradeFill{
		Trader: trader, TradeID: id, Instrument: genInsts[i],
		Side: Side(1 + g.pick(2)), PosSide: PosSide(1 + g.pick(2)),
		Qty:      fixed.Dec(1+g.pick(300)) * fixed.One / 100,
		Price:    g.price(i),
		Leverage: int32(1 + g.pick(50)), MarginMode: MarginMode(1 + g.pick(2)),
		Equity:      fixed.Dec(g.pick(30_000)) * fixed.One,
		Liquidation: g.pick(15) == 0,
	}
	if trader == 2 {
		f.PosSide = Both // trader 2 trades one-way
	}
	// Fill contract v2: the venue's time (0..3 s before the next stamp, so
	// some signals are stale) and position after the fill, which now and then
	// disagrees with the machine's tracking (a fill it never saw).
	f.EventTimeUnixNano = g.m.now + 1_000_000_000 - int64(g.pick(4))*1_000_000_000
	f.PositionAfter = trackedAfter(g.m, f)
	if g.pick(8) == 0 {
		extra := fixed.Dec(g.pick(200)) * fixed.One / 100
		if f.PosSide == Both && g.pick(2) == 0 {
			extra = -extra
		}
		f.PositionAfter += extra
	}
	return f
}

// results answers a random subset of the pending orders.
func (g *gen) results() *OrderResults {
	var rs OrderResults
	for _, o := range g.m.PendingOrders() {
		if g.pick(3) == 0 {
			continue
		}
		i := 0
		if o.Instrument == "ETH" {
			i = 1
		}
		r := OrderResult{ClientOrderID: o.ClientOrderID, Fee: fixed.Dec(g.pick(100)) * fixed.One / 100}
		switch g.pick(4) {
		case 0:
			r.Status, r.Reason = OrderRejected, "REJECTED"
			r.Fee = 0
		case 1:
			r.Status, r.FilledQty, r.AvgPrice = OrderPartiallyFilled, o.Qty*fixed.Dec(g.pick(100))/100, g.price(i)
		default:
			r.Status, r.FilledQty, r.AvgPrice = OrderFilled, o.Qty, g.price(i)
		}
		rs.Results = append(rs.Results, r)
	}
	if g.pick(10) == 0 {
		rs.Results = append(rs.Results, OrderResult{ClientOrderID: "c1-zz", Status: OrderRejected})
	}
	return &rs
}

// genSequence applies the setup and n random commands through h.
func genSequence(h *harness, c chooser, n int) {
	g := &gen{c: c, m: h.m}
	for _, cmd := range g.setup() {
		h.apply(cmd)
	}
	for range n {
		h.apply(g.next())
	}
}

// TestGenCoversFanOut guards the generator: a random run must plan and fill
// orders, or the property tests built on it test nothing.
func TestGenCoversFanOut(t *testing.T) {
	h := newHarness(t)
	g := &gen{c: prng{rand.New(rand.NewPCG(1, 2))}, m: h.m}
	for _, cmd := range g.setup() {
		h.apply(cmd)
	}
	var orders, applied int
	for range 2000 {
		r := h.apply(g.next())
		orders += len(r.Orders)
		applied += r.ResultsApplied
	}
	if orders < 200 || applied < 200 {
		t.Fatalf("generator too weak: %d orders, %d results applied", orders, applied)
	}
}
