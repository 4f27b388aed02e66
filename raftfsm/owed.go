package raftfsm

import "github.com/copytrade/copytrade/raftfsm/fixed"

// The copy's target and owed closes (design §3: "A close is never lost to
// timing"; the property TestTraderFlatMeansCopiersFlat).
//
// Each follow position keeps Target: the exact quantity (to 8 decimals) the
// copy should hold — every open's fill, scaled by every shrink of the trader
// since it was planned. A shrink of q out of the venue's before multiplies
// Target by after/before (to 0 when the trader is flat); a close is then
// whatever the position holds beyond Target rounded to the nearest lot step:
//
//	close = Qty − PendingClose − round(Target)
//
// Because the close is computed from the exact target and not from the last
// rounded quantity, rounding never accumulates: once every result is in, the
// copy is within half a lot step of its target, and flat when the trader is.
// Two kinds of close that would otherwise be lost follow from the same rule:
//
//   - A shrink while the copier's open is still pending. The position's
//     OpenKeep records which fraction of what the pending opens will fill the
//     copy still wants (each shrink multiplies it by after/before; a shrink to
//     flat starts a new OpenGen instead, so every older open counts for
//     nothing). Each open remembers OpenKeep and OpenGen when it was planned;
//     its fill adds filled × OpenKeep/Keep to Target (0 from an older
//     generation), and the excess is closed at once.
//   - A close the venue rejects or fills in part while the follow is active
//     or paused: Target already excludes it, so the rest is closed again, up
//     to maxCloseRetries times per original close (the venue's answers bound
//     it). Stopped and ended follows re-close whatever turns up
//     (settleResult).
//
// Dust. A close the venue refuses because the quantity is below the
// instrument's minimums (a remainder partial fills and netting left, say 0.001
// ETH under a 5 USDT minimum notional) fails the same way every time: it is not
// repeated. If the trader is still open on that side, the remainder stays above
// the target and the trader's next shrink closes it with its share; if the
// trader is flat, nothing ever will, so it is detached to the copier (Detached:
// the copier's own, shown by queries, closable by hand) instead of staying
// attributed to a trader that holds nothing — the venue would never let the
// machine close it, and retrying it forever is what design §3 forbids.

// maxCloseRetries bounds how often one close is repeated after the venue
// rejects it. What is still attributed after that stays in the ledger above
// the target: the trader's next shrink closes it with its share, or, when the
// trader is already flat on that side, it is detached to the copier (as dust is).
const maxCloseRetries = 16

// owePendingOpens records a shrink of q out of the trader's before while p
// has pending opens.
func (p *Position) owePendingOpens(q, before fixed.Dec) {
	if q >= before {
		p.OpenGen++ // the trader is flat on this side: every pending open is owed in full
		p.OpenKeep = fixed.One
		return
	}
	// OpenKeep × (before − q) / before < OpenKeep: cannot overflow.
	k := prorata(p.OpenKeep, before-q, before, fixed.Down)
	if k <= 0 { // below the fixed-point scale: as good as flat
		p.OpenGen++
		k = fixed.One
	}
	p.OpenKeep = k
}

// shrinkTarget scales p's target by the trader's shrink of q out of before.
func (p *Position) shrinkTarget(q, before fixed.Dec) {
	if q >= before {
		p.Target = 0
		return
	}
	p.Target = prorata(p.Target, before-q, before, fixed.HalfEven)
}

// keptOfFill is how much of filled, the fill of open o on p, the copy still
// wants: filled × OpenKeep / o.Keep, or 0 if the trader went flat since o was
// planned.
func keptOfFill(p *Position, o *OrderState, filled fixed.Dec) fixed.Dec {
	if o.Gen != p.OpenGen || o.Keep <= 0 {
		return 0
	}
	return prorata(filled, min(p.OpenKeep, o.Keep), o.Keep, fixed.HalfEven)
}

// excess is what p holds beyond its target rounded to the nearest lot step,
// counting pending closes as gone: the close that brings it to its target.
func excess(p *Position, in *Instrument) fixed.Dec {
	want := p.Target.RoundTo(in.LotStep, fixed.HalfEven)
	return p.Qty - p.PendingClose - want
}

// dustReasons are the venue's reject reasons for a quantity below the
// instrument's minimums: repeating the order cannot change them.
var dustReasons = map[string]bool{"BELOW_MIN_NOTIONAL": true, "BELOW_MIN_QTY": true}

// settleOwed is phase 2's owed-close step for one result of a live follow
// (active or paused) that did not leave the position orphaned: whatever the
// position holds beyond its target is closed — what shrinks owed a filled
// open, or the rest of a close the venue did not fill.
func (m *Machine) settleOwed(t *TraderState, f *FollowState, p *Position, o *OrderState, refusedForGood bool, res *Result) {
	in := m.instruments[o.Instrument]
	if o.Effect == EffectClose && (refusedForGood || o.Retry >= maxCloseRetries) {
		if t.traderQty(o.Instrument, o.AttrSide) == 0 {
			f.detach(p, min(max(excess(p, in), 0), p.Qty-p.PendingClose))
		}
		return
	}
	q := excess(p, in)
	closable := p.Qty - p.PendingClose
	if q <= 0 || (q < in.MinQty && q < closable) {
		return
	}
	c := m.planClose(t, f, p, q, o.Signal, res)
	if o.Effect == EffectClose {
		c.Retry = o.Retry + 1
	}
}
