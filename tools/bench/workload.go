package bench

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// traderGen produces one lead trader's fills as the trading system streams them: opens,
// increases, partial closes and closes of a long position on one instrument, with
// trade IDs increasing by one and the position never below zero. Each fill is priced
// at the instrument's latest mark, so copier orders land inside any slippage band.
// Not safe for concurrent use: a trader has at most one fill in flight.
type traderGen struct {
	spec      TraderSpec
	inst      exchsim.InstrumentSpec
	base      fixed.Dec // mean order qty
	pos       fixed.Dec // the trader's long position
	increases int
	nextTrade int64
	rng       *rand.Rand

	// planned is the orders the cluster planned for this trader's fills so far, as the
	// answers reported them: the trader's client order IDs run c<trader>-1 … -planned.
	// uncertain counts fills whose planned count is unknown (ambiguous or failed).
	planned   int64
	uncertain int
}

// account adds a fill's answer to planned / uncertain.
func (g *traderGen) account(r *fillResult) {
	switch {
	case r.outcome != nil && r.code == ct.ErrorCode_OK:
		g.planned += int64(r.outcome.OrdersPlanned)
	case r.code >= 1000 && r.code < 2000 && r.code != ct.ErrorCode_DUPLICATE_FILL && r.attempts == 1:
		// a deterministic refusal of the machine: no orders
	default:
		g.uncertain++
	}
}

// orderNotional is the mean quote notional of a lead order.
var orderNotional = fixed.MustParse("5000")

func newTraderGen(spec TraderSpec, inst exchsim.InstrumentSpec, seed uint64, firstTrade int64) *traderGen {
	base, err := fixed.Div(orderNotional, inst.MarkPrice, fixed.Down)
	if err != nil || base < inst.LotStep {
		base = inst.LotStep
	}
	return &traderGen{spec: spec, inst: inst, base: base.RoundDownTo(inst.LotStep), nextTrade: max(firstTrade, 1),
		rng: rand.New(rand.NewPCG(seed, uint64(spec.ID)))}
}

// scaled is d × pct/100 rounded down to the lot step, at least one lot.
func (g *traderGen) scaled(d fixed.Dec, pct int64) fixed.Dec {
	q := fixed.FromUnits(d.Units() / 100 * pct).RoundDownTo(g.inst.LotStep)
	return fixed.Max(q, g.inst.LotStep)
}

// next returns the trader's next fill at price mark (> 0, on the tick grid).
func (g *traderGen) next(mark fixed.Dec) *ct.Fill {
	f := &ct.Fill{
		Trader: g.spec.ID, TradeId: g.nextTrade, Instrument: g.inst.Symbol,
		PositionSide: ct.PositionSide_LONG, Price: mark.String(), Leverage: 10,
		MarginMode: ct.MarginMode_CROSS, Equity: traderBalance.String(),
	}
	g.nextTrade++
	r := g.rng.IntN(100)
	var qty fixed.Dec
	switch {
	case g.pos == 0 || (g.increases < 3 && r < 40):
		qty = g.scaled(g.base, 50+g.rng.Int64N(101))
		f.Side = ct.Side_BUY
		g.pos += qty
		g.increases++
	case r < 70:
		qty = g.scaled(g.pos, 25+g.rng.Int64N(51))
		if qty >= g.pos {
			qty = g.pos
		}
		f.Side = ct.Side_SELL
		g.pos -= qty
	default:
		qty = g.pos
		f.Side = ct.Side_SELL
		g.pos = 0
	}
	if g.pos == 0 {
		g.increases = 0
	}
	f.Qty = qty.String()
	// Fill contract v2: the venue's position after the fill, and its time.
	f.PositionAfter = g.pos.String()
	f.EventTimeNs = time.Now().UnixNano()
	return f
}

// undo forgets the last fill: it was refused before it reached the machine (so its
// trade ID may be reused and the position stays). Only for refusals that prove nothing
// was applied.
func (g *traderGen) undo(f *ct.Fill) {
	q, err := fixed.Parse(f.Qty)
	if err != nil {
		return
	}
	if f.Side == ct.Side_BUY {
		g.pos -= q
	} else {
		g.pos += q
	}
	g.nextTrade = f.TradeId
}

// marks holds the latest mark price per instrument, refreshed from the gateway.
type marks struct {
	mu sync.RWMutex
	m  map[string]fixed.Dec
}

func newMarks(specs []exchsim.InstrumentSpec) *marks {
	m := &marks{m: map[string]fixed.Dec{}}
	for _, s := range specs {
		m.m[s.Symbol] = s.MarkPrice
	}
	return m
}

func (m *marks) get(sym string) fixed.Dec {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.m[sym]
}

func (m *marks) set(sym string, p fixed.Dec) {
	m.mu.Lock()
	m.m[sym] = p
	m.mu.Unlock()
}
