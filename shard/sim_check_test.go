package shard

import (
	"fmt"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// checkEnd runs the quiescence checks; each failure counts a divergence (or a
// duplicate execution) and leaves a note.
func (w *simWorld) checkEnd() {
	bad := func(format string, args ...any) {
		w.stats.divergences++
		if len(w.stats.notes) < 12 {
			w.stats.notes = append(w.stats.notes, fmt.Sprintf("seed %d: ", w.seed)+fmt.Sprintf(format, args...))
		}
	}
	// Replicas agree.
	for _, g := range w.groups {
		h0 := g.nodes[0].fsm.m.Hash()
		for i, n := range g.nodes[1:] {
			if n.fsm.m.Hash() != h0 {
				bad("group %d: replica %d's state differs from replica 0's", g.id, i+1)
			}
		}
	}
	// Every copier's attributed positions equal its venue positions (hedge: per side;
	// one-way: the net).
	for _, c := range w.copiers {
		attr := map[string]*[3]fixed.Dec{}
		for _, g := range w.groups { // a copier's follows live in their traders' groups
			for _, f := range g.machine().FollowsOfCopier(c.id) {
				for _, ps := range [][]raftfsm.Position{f.Positions, f.Detached} {
					for _, p := range ps {
						if attr[p.Instrument] == nil {
							attr[p.Instrument] = &[3]fixed.Dec{}
						}
						attr[p.Instrument][p.Side] += p.Qty
					}
				}
			}
		}
		for _, sym := range w.syms {
			a := attr[sym]
			if a == nil {
				a = &[3]fixed.Dec{}
			}
			if c.mode == raftfsm.OneWay {
				p, _ := w.venue.PositionOf(int64(c.id), sym, exchsim.Both)
				if want := a[raftfsm.Long] - a[raftfsm.Short]; p.Qty != want {
					bad("copier %d %s: attributed net %s, venue %s", c.id, sym, want, p.Qty)
				}
				continue
			}
			for _, side := range []raftfsm.PosSide{raftfsm.Long, raftfsm.Short} {
				p, _ := w.venue.PositionOf(int64(c.id), sym, exchsim.PositionSide(side))
				if p.Qty != a[side] {
					bad("copier %d %s side %d: attributed %s, venue %s", c.id, sym, side, a[side], p.Qty)
				}
			}
		}
	}
	// A trader flat at the venue means every copier flat on what it copied from it.
	for _, t := range w.traders {
		for _, sym := range w.syms {
			for _, side := range []raftfsm.PosSide{raftfsm.Long, raftfsm.Short} {
				if p, _ := w.venue.PositionOf(int64(t), sym, exchsim.PositionSide(side)); p.Qty != 0 {
					continue
				}
				for _, c := range w.copiers {
					f, ok := w.groupOf(t).machine().Follow(c.id, t)
					if !ok {
						continue
					}
					for _, p := range f.Positions {
						if p.Instrument == sym && p.Side == side && p.Qty != 0 {
							bad("trader %d flat on %s/%d but copier %d holds %s of it", t, sym, side, c.id, p.Qty)
						}
					}
				}
			}
		}
	}
	// Each client order ID executed at most once at the no-dedup venue.
	for id := range w.planned {
		if n := w.venue.OrderCount(id); n > 1 {
			w.stats.dupExecutions++
			if len(w.stats.notes) < 12 {
				w.stats.notes = append(w.stats.notes, fmt.Sprintf("seed %d: order %s executed %d times", w.seed, id, n))
			}
		}
	}
	// Money: the venue's books add up (deposits + realised PnL − fees = balances, the
	// transfers moving money only between accounts), and each settlement transfer
	// executed at most once, exactly when the machine holds it paid.
	var sum, pnl, fees fixed.Dec
	for _, a := range w.accounts {
		s, err := w.venue.AccountSnapshot(a)
		if err != nil {
			bad("account %d: %v", a, err)
			continue
		}
		sum += s.Balance
		pnl += s.RealizedPnL
		fees += s.FeesPaid
	}
	if want := w.initial + pnl - fees; sum != want {
		bad("venue balances %s, want deposits + PnL − fees = %s", sum, want)
	}
	recs := map[string]raftfsm.SettlementRecord{}
	for _, g := range w.groups {
		for _, r := range g.machine().Settlements(0, 0, 0) {
			recs[r.SettlementID] = r
		}
	}
	for id, e := range w.settled {
		n := w.venue.TransferCount(id)
		if n > 1 {
			bad("settlement %s transferred %d times", id, n)
		}
		r, kept := recs[id]
		if !kept {
			continue // pruned: paid, a retained period ago
		}
		wantTransfer := r.Paid && (e.Copier != 0 || w.sa != 0)
		if (n == 1) != wantTransfer {
			bad("settlement %s (copier %d): %d transfers, machine paid=%v", id, e.Copier, n, r.Paid)
		}
	}
}
