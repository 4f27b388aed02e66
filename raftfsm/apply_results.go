package raftfsm

import (
	"fmt"
	"strconv"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Order results: the only place positions, average entry, margin, fees and
// realised PnL move.
//
// Phase 1 applies the money and quantities of every result in order, in
// place. A result that breaks the gateway's contract (negative fee, fill
// above the order, ...) or overflows changes nothing and puts its order in
// quarantine (quarantine.go); the rest of the batch is applied. Only a
// batch that is malformed as a command (too long, bad status, reason too
// long) is refused whole. Phase 1 never changes the shape of the state (no
// insert, no removal), so the records stay valid. Phase 2, which cannot
// fail, does the structural work: pending counts, orphan and leftover
// closes, pruning empty positions and finished follows.

// applied is one result of the batch that matched a pending order, and
// what phase 1 overwrote.
type applied struct {
	o      *OrderState
	t      *TraderState
	f      *FollowState
	pos    int      // index in f.Positions during phase 1
	oldPos Position // undo
	oldUse fixed.Dec
	oldPnL fixed.Dec
	oldFee fixed.Dec
	filled fixed.Dec
	// refusedForGood: the venue rejected this order for a reason repeating it cannot
	// change (owed.go, dustReasons).
	refusedForGood bool
	share          shareUndo // profit-share account and copier-PnL stat (settle.go)
}

// checkResult validates what the leader encodes (the venue's figures are
// checked per order by breach, which quarantines instead of refusing).
func checkResult(i int, r *OrderResult) *Refusal {
	field := func(name string) string { return "Results[" + strconv.Itoa(i) + "]." + name }
	switch {
	case r.Status != OrderFilled && r.Status != OrderPartiallyFilled && r.Status != OrderRejected:
		return invalid(field("Status"), "want Filled, PartiallyFilled or Rejected")
	case len(r.Reason) > MaxReasonLen:
		return invalid(field("Reason"), "too long")
	}
	return nil
}

// applyOrderResults applies a batch of venue results. Results for client
// order IDs that are not pending (unknown, or already final: a repeat after
// a leader change) or quarantined are counted in ResultsIgnored and change
// nothing.
func (m *Machine) applyOrderResults(c *OrderResults, res *Result) *Refusal {
	if len(c.Results) > MaxBatch {
		return invalid("Results", "batch too long")
	}
	for i := range c.Results {
		if r := checkResult(i, &c.Results[i]); r != nil {
			return r
		}
	}
	done := make([]applied, 0, len(c.Results))
	for i := range c.Results {
		r := &c.Results[i]
		o := m.orders[r.ClientOrderID]
		if o == nil || m.IsQuarantined(r.ClientOrderID) {
			res.ResultsIgnored++
			continue
		}
		if why := breach(r, o); why != "" {
			m.quarantineOrder(o, why, res)
			m.noteQuarantine(o, why) // activity.go
			continue
		}
		a, ref := m.applyResult(i, r, o)
		if ref != nil { // applyResult changed nothing
			m.quarantineOrder(o, ref.Error(), res)
			m.noteQuarantine(o, ref.Error())
			continue
		}
		m.noteResult(o, r)
		delete(m.orders, o.ClientOrderID) // final: a repeat in this batch is ignored
		done = append(done, a)
	}
	res.ResultsApplied = len(done)
	for i := range done {
		m.settleResult(&done[i], res)
	}
	return nil
}

// applyResult is phase 1 for one result: quantities and money, in place,
// all or nothing.
func (m *Machine) applyResult(i int, r *OrderResult, o *OrderState) (applied, *Refusal) {
	a := applied{o: o, filled: r.FilledQty, refusedForGood: r.Status == OrderRejected && dustReasons[r.Reason]}
	where := func(field string) string { return "Results[" + strconv.Itoa(i) + "]" + field } // only on a refusal
	a.t = m.traders[o.Trader]
	if a.t != nil {
		a.f = a.t.findFollow(o.Copier)
	}
	if a.f != nil {
		a.pos = posIndex(a.f.Positions, o.Instrument, o.AttrSide)
	}
	if a.f == nil || a.pos < 0 {
		panic(fmt.Errorf("%w: pending order %s has no follow position", ErrInvariant, o.ClientOrderID))
	}
	f := a.f
	p := f.Positions[a.pos]
	a.oldPos, a.oldUse, a.oldPnL, a.oldFee = p, f.MarginInUse, f.RealizedPnL, f.Fees
	use, pnl := f.MarginInUse, f.RealizedPnL
	fees, err := fixed.Add(f.Fees, r.Fee)
	if err != nil {
		return a, overflow(where(".Fee"))
	}
	q, price := r.FilledQty, r.AvgPrice
	if o.Effect == EffectOpen {
		p.PendingOpen -= o.Qty
		use -= o.ReservedMargin
		if q > 0 {
			margin, err := fixed.MulDiv(q, price, levDec(max(o.Leverage, 1)), fixed.Up)
			if err == nil {
				p.Qty, p.Cost, p.AvgEntry, err = growCost(p.Side, p.Qty, p.Cost, q, price)
			}
			if err == nil {
				p.Margin, err = fixed.Add(p.Margin, margin)
			}
			if err == nil {
				use, err = fixed.Add(use, margin)
			}
			if err != nil {
				return a, overflow(where(""))
			}
			p.Leverage = o.Leverage
			p.MarginMode = o.MarginMode
			// The copy wants the fill less what shrinks since it was
			// planned owe (owed.go).
			if p.Target, err = fixed.Add(p.Target, keptOfFill(&p, o, q)); err != nil {
				return a, overflow(where(".FilledQty"))
			}
		}
	} else {
		p.PendingClose -= o.Qty
		if q > 0 {
			released := prorata(p.Margin, q, p.Qty, fixed.Down)
			// Exit value − released entry cost (costbasis.go): rounding
			// is against the copier, and a full close releases all the
			// cost, so a round trip realises exactly.
			cost, gain, err := shrinkCost(p.Side, p.Qty, p.Cost, q, price)
			if err == nil {
				pnl, err = fixed.Add(pnl, gain)
			}
			if err != nil {
				return a, overflow(where(""))
			}
			p.Qty -= q
			p.Cost = cost
			p.AvgEntry = avgOf(p.Qty, cost)
			p.Margin -= released
			use -= released
		}
	}
	// pnl − oldPnL is this result's gain, which fitted a Dec.
	if ref := m.onFollowRealized(a.t, f, pnl-a.oldPnL, r.Fee, &a.share); ref != nil {
		return a, ref
	}
	f.Positions[a.pos] = p
	f.MarginInUse, f.RealizedPnL, f.Fees = use, pnl, fees
	return a, nil
}

// settleResult is phase 2 for one result: the order is gone; exposure that
// the copy no longer wants is closed or detached; empty positions and
// finished follows are removed.
//
// Exposure no longer wanted: an open that filled after the trader went flat
// on that side (an orphan: the close that would have matched it was
// computed before it filled), and anything closable on a follow that ended
// or was stopped (a late open fill, or a close
// the venue rejected). Orphans of a live follow are closed at market;
// leftovers of a stopped or ended follow go by its stop reason.
func (m *Machine) settleResult(a *applied, res *Result) {
	o, t, f := a.o, a.t, a.f
	f.Pending--
	if o.Effect == EffectOpen {
		m.countFailure(f, a.filled > 0)
	}
	i := posIndex(f.Positions, o.Instrument, o.AttrSide)
	if i >= 0 {
		p := &f.Positions[i]
		pol, act := LiqClose, false
		switch {
		case f.Status == FollowEnded || f.Status == FollowStopped:
			pol, act = f.leftoverPolicy(), true
		case o.Effect == EffectOpen && a.filled > 0 && t.traderQty(o.Instrument, o.AttrSide) == 0 && f.ClosePolicy == CloseCopy:
			act = true
		}
		if act {
			p.Target = 0 // the copy wants none of it
		}
		if q := p.Qty - p.PendingClose; act && q > 0 {
			giveUp := o.Effect == EffectClose && (a.refusedForGood || o.Retry >= maxCloseRetries)
			if pol == LiqDetach || giveUp { // giveUp: dust, or the venue keeps refusing (owed.go)
				f.detach(p, q)
			} else if c := m.planClose(t, f, p, q, 0, res); o.Effect == EffectClose {
				c.Retry = o.Retry + 1
			}
		} else if !act {
			m.settleOwed(t, f, p, o, a.refusedForGood, res) // owed.go
		}
	}
	f.prune()
	t.dropIfDone(f)
}
