package raftfsm

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// The signal: one fill of a lead trader.

// maxEventAheadNanos is how far a fill's venue time may be ahead of the
// leader's stamp (clock skew between venue and leader) before it is
// implausible: a time far in the future would lift the dedup floor.
const maxEventAheadNanos = 60 * 1_000_000_000

// checkFill validates every field of a fill that needs no state.
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
	case c.PosSide != Both && c.PositionAfter < 0:
		return invalid("PositionAfter", "must be >= 0 for a Long or Short position")
	case c.Fee < 0:
		return invalid("Fee", "must be >= 0")
	case len(c.VenueOrderID) > MaxVenueOrderIDLen:
		return invalid("VenueOrderID", "too long")
	case len(c.ClientOrderID) > MaxClientOrderIDLen:
		return invalid("ClientOrderID", "too long")
	case c.EventTimeUnixNano <= 0:
		return invalid("EventTimeUnixNano", "must be > 0 (the venue's event time)")
	}
	return nil
}

// implausible is a CodeImplausibleFill refusal naming the field.
func implausible(field, problem string) *Refusal {
	return &Refusal{Code: CodeImplausibleFill, Msg: field + ": " + problem}
}

// checkPlausible refuses a fill no venue would have produced for in: a
// price outside the instrument's band around the mark (the fill's stamped
// mark, else the latest known one; no check without either), a quantity
// above the instrument's maximum, a venue time far ahead of now, or a
// notional or position figure that overflows the ledger.
func (m *Machine) checkPlausible(c *TradeFill, in *Instrument, now int64) *Refusal {
	if in.MaxOrderQty > 0 && c.Qty > in.MaxOrderQty {
		return implausible("Qty", c.Qty.String()+" is above "+in.Symbol+"'s maximum order quantity "+in.MaxOrderQty.String())
	}
	if in.PriceBandBps > 0 {
		mark := c.MarkPrice
		if mark == 0 {
			mark = m.marks[c.Instrument]
		}
		if mark > 0 {
			// |price − mark| × 10000 > band × mark, without overflow: compare
			// the distance with mark × band / 10000 (rounded down).
			band, err := fixed.MulBps(mark, in.PriceBandBps, fixed.Down)
			if err != nil {
				return implausible("Price", "band overflows")
			}
			if d := c.Price - mark; d > band || -d > band { // both > 0: fits
				return implausible("Price", c.Price.String()+" is outside "+in.Symbol+"'s band of "+
					strconv.FormatInt(in.PriceBandBps, 10)+" bps around the mark "+mark.String())
			}
		}
	}
	if c.EventTimeUnixNano > now && c.EventTimeUnixNano-now > maxEventAheadNanos {
		return implausible("EventTimeUnixNano", "more than 60 s ahead of the leader's clock")
	}
	if _, err := fixed.Mul(c.Qty, c.Price, fixed.Up); err != nil {
		return implausible("Qty", "qty × price overflows")
	}
	abs, err := c.PositionAfter.Abs()
	if err == nil {
		_, err = fixed.Add(abs, c.Qty)
	}
	if err != nil {
		return implausible("PositionAfter", "|position after| + qty overflows")
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

// venueBefore is the trader's position on (inst, side) before the fill, by
// the venue's figures: for Long/Short PositionAfter ∓ Qty (a growing fill
// adds, a shrinking one removes), for Both the signed net PositionAfter −
// (+Qty for a buy, −Qty for a sell). checkPlausible bounds both terms, so
// it cannot overflow.
func venueBefore(c *TradeFill) fixed.Dec {
	switch {
	case c.PosSide == Both && c.Side == Buy:
		return c.PositionAfter - c.Qty
	case c.PosSide == Both:
		return c.PositionAfter + c.Qty
	case openSideOf(c.PosSide) == c.Side:
		return c.PositionAfter - c.Qty
	}
	return c.PositionAfter + c.Qty
}

// legs decomposes the fill into a shrink and a growth leg from the venue's
// figures (design §3: the close fraction is q / (position after + q)) and
// computes the trader's positions after it, changing nothing. Hedge fills
// (PosSide Long/Short) grow or shrink that side; one-way fills (Both) net: a
// buy first shrinks a short, then grows long by the remainder (a flip is a
// close of everything then an open). A liquidation never opens. The
// machine's tracked position is only a cross-check: when it differs from the
// venue's position before the fill, mismatch is set and the venue's figure
// is used (the entry cost is rebased to it at the tracked average entry, or
// at the fill's price when nothing was tracked). s.gain is the trader's
// realised PnL of the shrink leg, gross.
func (t *TraderState) legs(c *TradeFill, s *signal) (after [2]TraderPosition, n int, mismatch bool, ref *Refusal) {
	vb := venueBefore(c)
	// The venue's position per side before the fill.
	var longB, shortB fixed.Dec
	switch c.PosSide {
	case Long:
		longB = vb
	case Short:
		shortB = vb
	case Both:
		if vb > 0 {
			longB = vb
		} else {
			shortB = -vb
		}
	}
	if longB < 0 || shortB < 0 {
		return after, 0, false, implausible("PositionAfter", c.PositionAfter.String()+" is below the opening fill's quantity "+c.Qty.String())
	}
	var shrinkSide, growSide PosSide
	rest := c.Qty
	switch {
	case c.PosSide != Both && openSideOf(c.PosSide) == c.Side:
		growSide = c.PosSide
	case c.PosSide != Both:
		shrinkSide = c.PosSide
		rest = 0 // hedge: a shrink never opens the other side
	case c.Side == Buy:
		growSide = Long
		if shortB > 0 {
			shrinkSide = Short
		}
	default:
		growSide = Short
		if longB > 0 {
			shrinkSide = Long
		}
	}
	before := func(side PosSide) fixed.Dec {
		if side == Long {
			return longB
		}
		return shortB
	}
	// cur is the trader's position on side, rebased to the venue's figure.
	cur := func(side PosSide) TraderPosition {
		p := TraderPosition{Instrument: c.Instrument, Side: side}
		if i := t.traderPos(c.Instrument, side); i >= 0 {
			p = t.Positions[i]
		}
		if vq := before(side); p.Qty != vq {
			mismatch = true
			avg := p.AvgEntry
			if avg == 0 {
				avg = c.Price
			}
			p.Qty, p.AvgEntry = vq, avg
			var err error
			if p.Cost, err = entryValue(side, vq, avg); err != nil {
				p.Cost = 0 // checkPlausible bounds vq; an overflow here leaves no cost basis
			}
			if vq == 0 {
				p.AvgEntry, p.Cost, p.Realized = 0, 0, 0
			}
		}
		return p
	}
	if c.PosSide == Both && shrinkSide == 0 {
		// The one-way side this fill does not touch is flat at the venue
		// (its net was on the growing side): a tracked remainder goes.
		other := Short
		if growSide == Short {
			other = Long
		}
		if tq := t.traderQty(c.Instrument, other); tq != 0 {
			after[n] = cur(other) // flat: a mismatch
			n++
			// The trader is flat on that side, so are the copies: a full
			// close of it (no trade of this fill: no PnL, no win or loss).
			s.shrinkSide, s.shrinkQ, s.shrinkBefore, s.flatOnly = other, tq, tq, true
		}
	}
	if shrinkSide != 0 {
		p := cur(shrinkSide)
		q := c.Qty // hedge: the venue's before is after + Qty, so q <= p.Qty
		if c.PosSide == Both {
			q = min(rest, p.Qty)
			rest -= q
		}
		s.shrinkSide, s.shrinkQ, s.shrinkBefore = shrinkSide, q, p.Qty
		var err error
		p.Cost, s.gain, err = shrinkCost(shrinkSide, p.Qty, p.Cost, q, c.Price)
		if err != nil {
			return after, 0, false, overflow("trader position")
		}
		p.Qty -= q
		p.AvgEntry = avgOf(p.Qty, p.Cost)
		after[n] = p
		n++
	}
	if growSide != 0 {
		p := cur(growSide)
		if rest > 0 && !c.Liquidation {
			var err error
			if p.Qty, p.Cost, p.AvgEntry, err = growCost(growSide, p.Qty, p.Cost, rest, c.Price); err != nil {
				return after, 0, false, overflow("trader position")
			}
			s.growSide, s.growQ = growSide, rest
		}
		after[n] = p
		n++
	}
	return after, n, mismatch, nil
}

// CheckFill reports, changing nothing, whether applying c at the machine's
// current clock would refuse it. See CheckFillAt.
func (m *Machine) CheckFill(c *TradeFill) *Refusal { return m.CheckFillAt(c, m.now) }

// CheckFillAt reports, changing nothing, whether applying c with the leader's
// stamp now would refuse it and why: every check TradeFill's apply makes before
// it commits. The leader calls it before proposing, so a fill that would be
// refused (a copied order, an implausible or stale fill, a duplicate) never
// becomes a log entry; Apply runs it again, since the state may change in
// between. Quantity and price must lie on the instrument's lot step and tick:
// a fill the venue could not have produced is refused, naming the field,
// rather than tracked at a finer scale.
func (m *Machine) CheckFillAt(c *TradeFill, now int64) *Refusal {
	if !validAccount(c.Trader) {
		return invalid("Trader", "must be > 0")
	}
	if r := m.checkOwned(c.Trader); r != nil {
		return r
	}
	if r := checkFill(c); r != nil {
		return r
	}
	if IsCopiedOrderID(c.ClientOrderID) {
		return newRefusal(CodeCopiedOrder, "ClientOrderID "+c.ClientOrderID+" is a copied order: never a signal")
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
	if r := m.checkPlausible(c, in, now); r != nil {
		return r
	}
	if t.Dedup.stale(c.EventTimeUnixNano) {
		return newRefusal(CodeFillTooOld, "STALE: venue time older than the dedup window")
	}
	if t.Dedup.seen(c.Instrument, c.TradeID) {
		return newRefusal(CodeDuplicateFill, "trade already applied")
	}
	if len(t.Dedup.Syms) >= maxDedupSyms && t.Dedup.symIndex(c.Instrument) < 0 {
		return invalid("Instrument", "the trader has traded 65536 instruments: no more can be remembered")
	}
	return nil
}

// signalMaxAgeNanos is the trader's signal age limit.
func (t *TraderState) signalMaxAgeNanos() int64 {
	ms := t.Config.SignalMaxAgeMs
	if ms == 0 {
		ms = DefaultSignalMaxAgeMs
	}
	return ms * 1_000_000
}

// applyTradeFill applies a signal: dedup, the trader's own position (the
// venue's figure), then the fan-out to every follow.
func (m *Machine) applyTradeFill(c *TradeFill, res *Result) *Refusal {
	if r := m.CheckFill(c); r != nil {
		return r
	}
	t, in := m.traders[c.Trader], m.instruments[c.Instrument]
	s := signal{fill: c, inst: in}
	after, n, mismatch, ref := t.legs(c, &s)
	if ref != nil {
		return ref
	}
	// Committed from here on: nothing below refuses.
	t.Dedup.add(in.Symbol, c.TradeID, c.EventTimeUnixNano)
	t.SignalSeq++
	if mismatch {
		t.Mismatches++
		res.PositionMismatch = true
	}
	if c.Equity > 0 { // 0 = unknown: keep the last known equity
		t.Equity = c.Equity
	}
	// The leader's stamp is the time: a signal older than the trader's limit
	// opens nothing; its closes are copied.
	s.stale = m.now-c.EventTimeUnixNano > t.signalMaxAgeNanos()
	m.onTraderFill(t, c, &s, after[:n]) // stats.go
	for _, p := range after[:n] {
		t.setTraderPos(p)
	}
	m.fanOut(t, &s, res)
	return nil
}
