package raftfsm

import (
	"cmp"
	"slices"
	"strings"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// The signal: one fill of a lead trader.

// seen reports whether the window already holds id (a linear scan of at most
// DedupWindowSize IDs: a few µs, no index to keep in the snapshot).
func (w *DedupWindow) seen(id int64) bool {
	return slices.Contains(w.IDs, id)
}

// add remembers id; when the ring is full the oldest ID falls out and the
// floor rises above it. IDs below the floor cannot be judged and are
// refused as too old, so a duplicate is never applied twice.
func (w *DedupWindow) add(id int64) {
	if len(w.IDs) < DedupWindowSize {
		w.IDs = append(w.IDs, id)
		return
	}
	out := w.IDs[w.Next]
	w.IDs[w.Next] = id
	w.Next++
	if w.Next == DedupWindowSize {
		w.Next = 0
	}
	if out >= w.Floor {
		w.Floor = out + 1
	}
}

// checkFill validates every field of a fill.
func checkFill(c *TradeFill) *Refusal {
	switch {
	case c.TradeID <= 0:
		return invalid("TradeID", "must be > 0")
	case !validSymbol(c.Instrument):
		return invalid("Instrument", "invalid symbol")
	case c.Side != Buy && c.Side != Sell:
		return invalid("Side", "want Buy or Sell")
	case c.PosSide != Long && c.PosSide != Short && c.PosSide != Both:
		return invalid("PosSide", "want Long, Short or Both")
	case c.Qty <= 0:
		return invalid("Qty", "must be > 0")
	case c.Price <= 0:
		return invalid("Price", "must be > 0")
	case c.Leverage < 1 || c.Leverage > MaxLeverage:
		return invalid("Leverage", "want 1..200")
	case c.MarginMode != Cross && c.MarginMode != Isolated:
		return invalid("MarginMode", "want Cross or Isolated")
	case c.Equity < 0:
		return invalid("Equity", "must be >= 0")
	case c.MarkPrice < 0:
		return invalid("MarkPrice", "must be >= 0")
	}
	return nil
}

// traderPos returns the index of the trader's position (inst, side), or -1.
func (t *TraderState) traderPos(inst string, side PosSide) int {
	for i := range t.Positions {
		if t.Positions[i].Instrument == inst && t.Positions[i].Side == side {
			return i
		}
	}
	return -1
}

// traderQty is the trader's position quantity on (inst, side).
func (t *TraderState) traderQty(inst string, side PosSide) fixed.Dec {
	if i := t.traderPos(inst, side); i >= 0 {
		return t.Positions[i].Qty
	}
	return 0
}

// setTraderPos stores the trader's position (inst, side): inserted in
// (Instrument, Side) order, removed when flat.
func (t *TraderState) setTraderPos(p TraderPosition) {
	i := t.traderPos(p.Instrument, p.Side)
	switch {
	case i >= 0 && p.Qty == 0:
		t.Positions = slices.Delete(t.Positions, i, i+1)
	case i >= 0:
		t.Positions[i] = p
	case p.Qty != 0:
		j, _ := slices.BinarySearchFunc(t.Positions, p, func(a, b TraderPosition) int {
			if c := strings.Compare(a.Instrument, b.Instrument); c != 0 {
				return c
			}
			return cmp.Compare(a.Side, b.Side)
		})
		t.Positions = slices.Insert(t.Positions, j, p)
	}
}

// avgAfter is the average entry after adding q at price p to qty at avg:
// avg + (p − avg) × q / (qty + q), rounded half-even. The increment's
// magnitude is at most |p − avg|, so only qty + q can overflow.
func avgAfter(qty, avg, q, p fixed.Dec) (fixed.Dec, fixed.Dec, error) {
	total, err := fixed.Add(qty, q)
	if err != nil {
		return 0, 0, err
	}
	if qty == 0 {
		return total, p, nil
	}
	inc, err := fixed.MulDiv(p-avg, q, total, fixed.HalfEven) // p, avg > 0: p−avg fits
	if err != nil {
		return 0, 0, err
	}
	return total, avg + inc, nil
}

// legs decomposes the fill against the trader's positions into a shrink and
// a growth leg and computes the trader's positions after it, changing
// nothing. Hedge fills (PosSide Long/Short) grow or shrink that side; a
// shrink beyond the position is clamped. One-way fills (Both) net: a buy
// first shrinks a Short, then grows Long by the remainder (a flip is a
// close of everything then an open). A liquidation never opens.
func (t *TraderState) legs(c *TradeFill, s *signal) (after [2]TraderPosition, n int, err error) {
	var shrinkSide, growSide PosSide
	switch c.PosSide {
	case Long, Short:
		if openSideOf(c.PosSide) == c.Side {
			growSide = c.PosSide
		} else {
			shrinkSide = c.PosSide
		}
	case Both:
		shrinkSide, growSide = Short, Long
		if c.Side == Sell {
			shrinkSide, growSide = Long, Short
		}
		if t.traderQty(c.Instrument, shrinkSide) == 0 {
			shrinkSide = 0
		}
	}
	rest := c.Qty
	if shrinkSide != 0 {
		before := t.traderQty(c.Instrument, shrinkSide)
		q := min(rest, before)
		rest -= q
		if before > 0 {
			s.shrinkSide, s.shrinkQ, s.shrinkBefore = shrinkSide, q, before
			old := t.Positions[t.traderPos(c.Instrument, shrinkSide)]
			old.Qty -= q
			after[n] = old
			n++
		}
		if c.PosSide != Both {
			rest = 0 // hedge: a shrink never opens the other side
		}
	}
	if growSide != 0 && rest > 0 && !c.Liquidation {
		cur := TraderPosition{Instrument: c.Instrument, Side: growSide}
		if i := t.traderPos(c.Instrument, growSide); i >= 0 {
			cur = t.Positions[i]
		}
		if cur.Qty, cur.AvgEntry, err = avgAfter(cur.Qty, cur.AvgEntry, rest, c.Price); err != nil {
			return after, 0, err
		}
		s.growSide, s.growQ = growSide, rest
		after[n] = cur
		n++
	}
	return after, n, nil
}

// CheckFill reports, changing nothing, whether applying c now would refuse it and
// why: every check TradeFill's apply makes before it commits. The leader calls it
// before proposing, so a fill that would be refused never becomes a log entry; Apply
// runs it again, since the state may change in between. Quantity and price must lie
// on the instrument's lot step and tick: a fill the venue could not have produced is
// refused, naming the field, rather than tracked at a finer scale.
func (m *Machine) CheckFill(c *TradeFill) *Refusal {
	if !validAccount(c.Trader) {
		return invalid("Trader", "must be > 0")
	}
	if r := m.checkOwned(c.Trader); r != nil {
		return r
	}
	if r := checkFill(c); r != nil {
		return r
	}
	t := m.traders[c.Trader]
	if t == nil {
		return newRefusal(CodeUnknownTrader, "no such trader")
	}
	if !t.leading() {
		return newRefusal(CodeNotLeadTrader, "trader does not lead")
	}
	in := m.instruments[c.Instrument]
	if in == nil {
		return newRefusal(CodeUnknownInstrument, c.Instrument)
	}
	if c.Qty.RoundDownTo(in.LotStep) != c.Qty {
		return invalid("Qty", c.Qty.String()+" is not a multiple of "+in.Symbol+"'s lot step "+in.LotStep.String())
	}
	if c.Price.RoundDownTo(in.TickSize) != c.Price {
		return invalid("Price", c.Price.String()+" is not a multiple of "+in.Symbol+"'s tick size "+in.TickSize.String())
	}
	if c.TradeID < t.Dedup.Floor {
		return newRefusal(CodeFillTooOld, "trade ID below the dedup window")
	}
	if t.Dedup.seen(c.TradeID) {
		return newRefusal(CodeDuplicateFill, "trade already applied")
	}
	return nil
}

// applyTradeFill applies a signal: dedup, the trader's own position, then
// the fan-out to every follow.
func (m *Machine) applyTradeFill(c *TradeFill, res *Result) *Refusal {
	if r := m.CheckFill(c); r != nil {
		return r
	}
	t, in := m.traders[c.Trader], m.instruments[c.Instrument]
	s := signal{fill: c, inst: in}
	after, n, err := t.legs(c, &s)
	if err != nil {
		return overflow("trader position")
	}
	// Committed from here on: nothing below refuses.
	t.Dedup.add(c.TradeID)
	t.SignalSeq++
	if c.Equity > 0 { // 0 = unknown: keep the last known equity
		t.Equity = c.Equity
	}
	m.onTraderFill(t, c, &s, after[:n]) // stats.go
	for _, p := range after[:n] {
		t.setTraderPos(p)
	}
	m.fanOut(t, &s, res)
	return nil
}
