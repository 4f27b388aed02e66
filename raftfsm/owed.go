package raftfsm

import "github.com/copytrade/copytrade/raftfsm/fixed"

// Owed closes (design §3: "A close is never lost to timing"). Closes are
// computed from filled quantities, so two kinds of close would otherwise be
// lost:
//
//   - A shrink of the trader while the copier's open is still pending: the
//     open will fill, but the shrink has passed. The position's OpenKeep
//     records which fraction of what pending opens fill the copy still
//     wants (each shrink multiplies it by after/before; a shrink to flat
//     starts a new OpenGen instead, so every older open is owed in full).
//     Each open remembers OpenKeep and OpenGen when it was planned; when its
//     result arrives, filled × (1 − OpenKeep/Keep), rounded down to the lot
//     step, is closed at once. Several pending opens and several shrinks
//     compose exactly: an open only owes for the shrinks after it.
//   - A close the venue rejects (or fills in part) while the follow is
//     active or paused: the unfilled quantity is closed again, up to
//     maxCloseRetries times per original close (the venue's answers bound
//     it). Stopped and ended follows already re-close whatever turns up
//     (settleResult).

// maxCloseRetries bounds how often one close is repeated after the venue
// rejects it. What is still attributed after that stays in the ledger: the
// trader's next shrink closes its share of it.
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

// owedOnOpen is how much of filled, the fill of open o on position p, the
// copy no longer wants: everything if the trader went flat since o was
// planned, else filled × (1 − OpenKeep/o.Keep) rounded down to the lot.
func owedOnOpen(p *Position, o *OrderState, filled fixed.Dec, in *Instrument) fixed.Dec {
	if o.Gen != p.OpenGen {
		return filled
	}
	if o.Keep <= 0 || p.OpenKeep >= o.Keep {
		return 0
	}
	// keep = OpenKeep / o.Keep in (0, 1); owed = filled × (1 − keep).
	owed := prorata(filled, o.Keep-p.OpenKeep, o.Keep, fixed.Down)
	return owed.RoundDownTo(in.LotStep)
}

// settleOwed is phase 2's owed-close step for one result of a live follow
// (active or paused) that did not leave the position orphaned: a filled open
// closes what shrinks owed it; a close the venue did not fill in full is
// placed again for the rest.
func (m *Machine) settleOwed(t *TraderState, f *FollowState, p *Position, o *OrderState, filled fixed.Dec, res *Result) {
	closable := p.Qty - p.PendingClose
	if closable <= 0 {
		return
	}
	switch o.Effect {
	case EffectOpen:
		if filled <= 0 {
			return
		}
		in := m.instruments[o.Instrument]
		q := min(owedOnOpen(p, o, filled, in), closable)
		if q <= 0 || (q < in.MinQty && q < closable) {
			return
		}
		m.planClose(t, f, p, q, o.Signal, res)
	case EffectClose:
		if o.Retry >= maxCloseRetries {
			return
		}
		q := min(o.Qty-filled, closable)
		if q <= 0 {
			return
		}
		m.planClose(t, f, p, q, o.Signal, res).Retry = o.Retry + 1
	}
}
