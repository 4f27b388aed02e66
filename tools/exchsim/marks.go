package exchsim

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// instrumentTable is an immutable index of the listed instruments; SetInstrument
// replaces it whole (copy-on-write), so order paths read it without a lock.
type instrumentTable struct {
	bySymbol map[string]*instrument
	sorted   []*instrument // by symbol: the walk's stepping order and MarkPrices' order
	byIndex  []*instrument // in listing order; instrument.index is the position here
}

type instrument struct {
	index int                            // position in instrumentTable.byIndex; instruments are never removed
	spec  atomic.Pointer[InstrumentSpec] // replaced whole by SetInstrument
	mark  atomic.Pointer[markState]
	// rng drives this instrument's random walk; guarded by Sim.walkMu. Seeded from
	// (Config.Seed, symbol), so each walk depends only on the seed and its own steps.
	rng *rand.Rand
	// tradeSeq numbers lead fills on this instrument (Faults.TradeIDs per-instrument).
	tradeSeq atomic.Int64
}

type markState struct {
	price fixed.Dec // on the tick grid, > 0
	time  int64     // unix nanos of the last change
}

func newInstrument(spec InstrumentSpec, seed uint64, now int64) *instrument {
	h := fnv.New64a()
	h.Write([]byte(spec.Symbol))
	in := &instrument{rng: rand.New(rand.NewPCG(seed, h.Sum64()))}
	sp := spec
	in.spec.Store(&sp)
	in.setMark(spec.MarkPrice, now)
	return in
}

func (in *instrument) markPrice() fixed.Dec { return in.mark.Load().price }

// setMark rounds p to the tick grid (half-even, at least one tick) and stores it.
// A p <= 0 keeps the current mark but re-snaps it to the (possibly new) tick.
func (in *instrument) setMark(p fixed.Dec, now int64) {
	tick := in.spec.Load().TickSize
	if p <= 0 {
		cur := in.mark.Load()
		if cur == nil {
			return
		}
		p = cur.price
	}
	p = p.RoundTo(tick, fixed.HalfEven)
	if p < tick {
		p = tick
	}
	in.mark.Store(&markState{price: p, time: now})
}

// step advances the random walk one step: the mark moves by a normal draw of
// MarkVolatilityBps of itself, in whole ticks, and stays >= one tick. The draw is the
// only float: it is rounded to 1e-4 standard deviations and clamped to ±8, and all
// price arithmetic after that is integer, so the walk is reproducible.
func (in *instrument) step(volBps int64, now int64) {
	tick := in.spec.Load().TickSize
	ticks := int64(in.markPrice() / tick)
	z := in.rng.NormFloat64()
	zE4 := int64(math.Round(max(-8, min(8, z)) * 1e4))
	// delta = zE4/1e4 × ticks × volBps/1e4, with a 128-bit intermediate.
	delta, err := fixed.MulDiv(fixed.FromUnits(zE4*volBps), fixed.FromUnits(ticks), fixed.FromUnits(100_000_000), fixed.HalfEven)
	if err != nil { // cannot happen with ticks < 2^63 / 8e7; keep the mark
		return
	}
	ticks = max(1, ticks+delta.Units())
	in.mark.Store(&markState{price: fixed.FromUnits(ticks) * tick, time: now})
}

// StepMarks advances every instrument's random walk n steps, in symbol order.
// Given Config.Seed, the marks after k steps are the same on every run.
func (s *Sim) StepMarks(n int) {
	if n <= 0 {
		return
	}
	s.walkMu.Lock()
	defer s.walkMu.Unlock()
	now := time.Now().UnixNano()
	for _, in := range s.instruments.Load().sorted {
		for range n {
			in.step(s.cfg.MarkVolatilityBps, now)
		}
	}
	s.nMarkSteps.Add(int64(n))
}

// SetMark sets an instrument's mark price (rounded half-even to its tick).
func (s *Sim) SetMark(symbol string, price fixed.Dec) error {
	in := s.instrument(symbol)
	if in == nil {
		return fmt.Errorf("%w: %q", ErrUnknownInstrument, symbol)
	}
	if price <= 0 {
		return fmt.Errorf("%w: mark price must be positive, got %s", ErrInvalidArgument, price)
	}
	s.walkMu.Lock()
	defer s.walkMu.Unlock()
	in.setMark(price, time.Now().UnixNano())
	return nil
}

// MarkPrices returns the marks of the named instruments in request order, or of all
// instruments sorted by symbol when none is named.
func (s *Sim) MarkPrices(symbols []string) ([]Mark, error) {
	t := s.instruments.Load()
	if len(symbols) == 0 {
		out := make([]Mark, 0, len(t.sorted))
		for _, in := range t.sorted {
			m := in.mark.Load()
			out = append(out, Mark{Instrument: in.spec.Load().Symbol, Price: m.price, TimeUnixNano: m.time})
		}
		return out, nil
	}
	if len(symbols) > s.cfg.MaxBatch {
		return nil, fmt.Errorf("%w: %d instruments, at most %d", ErrBatchTooLarge, len(symbols), s.cfg.MaxBatch)
	}
	out := make([]Mark, 0, len(symbols))
	for _, sym := range symbols {
		in := t.bySymbol[sym]
		if in == nil {
			return nil, fmt.Errorf("%w: %q", ErrUnknownInstrument, sym)
		}
		m := in.mark.Load()
		out = append(out, Mark{Instrument: sym, Price: m.price, TimeUnixNano: m.time})
	}
	return out, nil
}
