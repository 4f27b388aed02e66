package raftfsm

import (
	"fmt"
	"slices"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Copy sizing for the growth of a trader's position (design §3), in this
// order: instrument filter; leverage policy (capped by the instrument);
// margin-mode policy; raw size by copy mode; slippage band (the IOC limit,
// which is also the worst price used for caps and margin); per-order and
// per-follow notional caps; the follow's allocation budget; round down to
// the lot step; minimum qty and notional. Each cap only ever lowers the
// quantity; the one that bound last names the skip when the result falls
// below the venue's minimum.

// openPlan is a sized open order and the follow's values after it.
type openPlan struct {
	qty         fixed.Dec
	limit       fixed.Dec // 0 = market
	lev         int32
	mode        MarginMode
	reserve     fixed.Dec // margin reserved until the result
	pendingOpen fixed.Dec // the position's PendingOpen after the order
	marginInUse fixed.Dec // the follow's MarginInUse after the order
}

// levDec is leverage as a Dec (1..MaxLeverage: cannot overflow).
func levDec(l int32) fixed.Dec { return fixed.Dec(l) * fixed.One }

// sizeOpen sizes the follow's copy of s's growth leg. It changes nothing:
// the caller commits the plan. Any overflow is SkipOverflow for this copier.
func (m *Machine) sizeOpen(t *TraderState, f *FollowState, s *signal) (openPlan, SkipReason, Cap) {
	op, why, c := m.sizeOpenCap(t, f, s)
	if why != SkipNotionalCap && why != SkipAllocationExhausted {
		c = CapNone
	}
	return op, why, c
}

// sizeOpenCap is sizeOpen; the Cap names the cap that bound last (meaningful
// only with a skip).
func (m *Machine) sizeOpenCap(t *TraderState, f *FollowState, s *signal) (openPlan, SkipReason, Cap) {
	var op openPlan
	var capv Cap
	in, fl, st := s.inst, s.fill, &f.Settings
	if !t.leads(in.Symbol) {
		return op, SkipInstrumentNotFollowed, capv
	}
	if len(st.Instruments) > 0 {
		if _, ok := slices.BinarySearch(st.Instruments, in.Symbol); !ok {
			return op, SkipInstrumentNotFollowed, capv
		}
	}

	op.lev = fl.Leverage
	if st.LeveragePolicy == LeverageFixed {
		op.lev = st.Leverage
	}
	op.lev = min(max(op.lev, 1), in.MaxLeverage)
	lev := levDec(op.lev)
	op.mode = marginModeFor(st.MarginPolicy, fl.MarginMode)

	// Raw size by mode.
	p := fl.Price
	var qty fixed.Dec
	var err error
	switch st.Mode {
	case FixedAmount:
		qty, err = fixed.MulDiv(st.FixedMargin, lev, p, fixed.Down)
	case Multiplier:
		qty, err = fixed.Mul(s.growQ, st.Multiplier, fixed.Down)
	case Proportional:
		if t.Equity <= 0 {
			return op, SkipInvalidPrice, capv
		}
		qty, err = fixed.MulDiv(s.growQ, st.Allocation, t.Equity, fixed.Down)
	}
	if err != nil {
		return op, SkipOverflow, capv
	}

	// Slippage band: buy limit = p×(1+bps) down to the tick, sell limit =
	// p×(1−bps) up to the tick: both inside the band. wp is the worst price
	// the order can fill at, used for caps and margin (p for market orders,
	// the usual reference).
	wp := p
	if st.SlippageBps > 0 {
		if openSideOf(s.growSide) == Buy {
			op.limit, err = fixed.MulBps(p, fixed.BpsDenominator+st.SlippageBps, fixed.Down)
			op.limit = op.limit.RoundDownTo(in.TickSize)
			wp = max(p, op.limit)
		} else {
			op.limit, err = fixed.MulBps(p, fixed.BpsDenominator-st.SlippageBps, fixed.Up)
			op.limit = op.limit.RoundTo(in.TickSize, fixed.Up)
		}
		if err != nil {
			return op, SkipOverflow, capv
		}
		if op.limit <= 0 {
			return op, SkipInvalidPrice, capv
		}
	}

	bound := SkipNone // the cap that bound last (capv: which one)
	if st.MaxOrderNotional > 0 {
		c, err := fixed.Div(st.MaxOrderNotional, wp, fixed.Down)
		if err != nil {
			return op, SkipOverflow, capv
		}
		if c < qty {
			qty, bound, capv = c, SkipNotionalCap, CapOrderNotional
		}
	}
	if st.MaxFollowNotional > 0 {
		open, err := m.followNotional(f, in.Symbol, p)
		if err != nil {
			return op, SkipOverflow, capv
		}
		room := st.MaxFollowNotional - open // both >= 0: cannot overflow
		if room <= 0 {
			return op, SkipNotionalCap, CapFollowNotional
		}
		c, err := fixed.Div(room, wp, fixed.Down)
		if err != nil {
			return op, SkipOverflow, capv
		}
		if c < qty {
			qty, bound, capv = c, SkipNotionalCap, CapFollowNotional
		}
	}

	// Allocation budget: margin of filled positions plus reservations of
	// pending opens must stay within the allocation.
	avail := st.Allocation - f.MarginInUse // both in [0, maxAllocation]
	if avail <= 0 {
		return op, SkipAllocationExhausted, CapAllocation
	}
	need, err := fixed.MulDiv(qty, wp, lev, fixed.Up)
	if err != nil || need > avail {
		c, err := fixed.MulDiv(avail, lev, wp, fixed.Down)
		if err != nil {
			return op, SkipOverflow, capv
		}
		if c < qty {
			qty, bound, capv = c, SkipAllocationExhausted, CapAllocation
		}
	}

	qty = qty.RoundDownTo(in.LotStep)
	if qty < in.MinQty {
		return op, orBound(bound, SkipBelowMinQty), capv
	}
	notional, err := fixed.Mul(qty, p, fixed.Down)
	if err != nil {
		return op, SkipOverflow, capv
	}
	if notional < in.MinNotional {
		return op, orBound(bound, SkipBelowMinNotional), capv
	}

	op.qty = qty
	if op.reserve, err = fixed.MulDiv(qty, wp, lev, fixed.Up); err != nil {
		return op, SkipOverflow, capv
	}
	if op.marginInUse, err = fixed.Add(f.MarginInUse, op.reserve); err != nil {
		return op, SkipOverflow, capv
	}
	// Invariant: a follow's margin in use never exceeds its allocation at
	// the moment an order is planned. qty <= avail×lev/wp (rounded down) so
	// the reservation rounded up to a unit is still <= avail: a violation
	// is a bug in the lines above.
	if op.marginInUse > st.Allocation {
		panic(fmt.Errorf("%w: follow %d→%d: margin in use %s > allocation %s after planning %s",
			ErrInvariant, f.Copier, f.Trader, op.marginInUse, st.Allocation, qty))
	}
	op.pendingOpen = qty
	if i := posIndex(f.Positions, in.Symbol, s.growSide); i >= 0 {
		if op.pendingOpen, err = fixed.Add(f.Positions[i].PendingOpen, qty); err != nil {
			return op, SkipOverflow, capv
		}
	}
	return op, SkipNone, capv
}

// orBound names a below-minimum skip after the cap that caused it, if any.
func orBound(bound, otherwise SkipReason) SkipReason {
	if bound != SkipNone {
		return bound
	}
	return otherwise
}

// followNotional is the follow's open notional for the per-follow cap:
// Σ (Qty + PendingOpen) × price over its positions, priced at the signal's
// price on the signal's instrument, else at the latest mark, else at the
// average entry.
func (m *Machine) followNotional(f *FollowState, sym string, p fixed.Dec) (fixed.Dec, error) {
	var sum fixed.Sum
	for i := range f.Positions {
		pos := &f.Positions[i]
		q, err := fixed.Add(pos.Qty, pos.PendingOpen)
		if err != nil {
			return 0, err
		}
		price := pos.AvgEntry
		if pos.Instrument == sym {
			price = p
		} else if mk, ok := m.marks[pos.Instrument]; ok {
			price = mk
		}
		n, err := fixed.Mul(q, price, fixed.Up)
		if err != nil {
			return 0, err
		}
		sum.Add(n)
	}
	return sum.Result()
}
