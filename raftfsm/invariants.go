package raftfsm

import (
	"fmt"
	"strings"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// CheckInvariants verifies the machine's structural invariants and returns
// the first violation as an error wrapping ErrInvariant, or nil. It reads
// the whole state (O(state)): tests call it after every apply; production
// may call it after Restore. Slot ownership and migration records are
// checked too (checkSlotInvariants). The invariant that cannot be checked from the
// state alone — per copier, instrument and side, the sum of attributions
// equals the venue's net filled quantity — is checked by the test harness,
// which keeps its own venue ledger. The planning-time invariant (margin in
// use within the allocation) is asserted where orders are planned
// (sizeOpen).
func (m *Machine) CheckInvariants() error {
	if err := m.checkSlotInvariants(); err != nil { // slot ownership and migrations: migrate.go
		return err
	}
	if err := m.checkQuarantine(); err != nil { // quarantine.go
		return err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvariant, fmt.Sprintf(format, args...))
	}
	type key struct {
		f    *FollowState
		inst string
		side PosSide
	}
	pendOpen := make(map[key]fixed.Dec)
	pendClose := make(map[key]fixed.Dec)
	reserved := make(map[*FollowState]fixed.Dec)
	count := make(map[*FollowState]int32)

	for id, o := range m.orders {
		if id != o.ClientOrderID || len(id) == 0 || len(id) > MaxClientOrderIDLen {
			return bad("order key %q / ID %q", id, o.ClientOrderID)
		}
		t := m.traders[o.Trader]
		if t == nil {
			return bad("order %s: no trader %d", id, o.Trader)
		}
		f := t.findFollow(o.Copier)
		if f == nil {
			return bad("order %s: no follow %d→%d", id, o.Copier, o.Trader)
		}
		if o.Qty <= 0 || o.ReservedMargin < 0 || (o.Effect == EffectClose && o.ReservedMargin != 0) {
			return bad("order %s: qty %s reserved %s", id, o.Qty, o.ReservedMargin)
		}
		if o.AttrSide != Long && o.AttrSide != Short {
			return bad("order %s: attribution side %d", id, o.AttrSide)
		}
		k := key{f, o.Instrument, o.AttrSide}
		switch o.Effect {
		case EffectOpen:
			pendOpen[k] += o.Qty
			reserved[f] += o.ReservedMargin
		case EffectClose:
			pendClose[k] += o.Qty
		default:
			return bad("order %s: effect %d", id, o.Effect)
		}
		count[f]++
	}

	for id, t := range m.traders {
		if t.ID != id || t.Slot != SlotOf(id) {
			return bad("trader %d: ID %d slot %d", id, t.ID, t.Slot)
		}
		for i := range t.Positions {
			p := &t.Positions[i]
			if p.Qty <= 0 || (p.Side != Long && p.Side != Short) {
				return bad("trader %d: position %s/%d qty %s", id, p.Instrument, p.Side, p.Qty)
			}
			if i > 0 && cmpTraderPos(&t.Positions[i-1], p) >= 0 {
				return bad("trader %d: positions not sorted and unique", id)
			}
		}
		if err := t.Dedup.check(); err != nil {
			return bad("trader %d: %v", id, err)
		}
		for i, f := range t.Follows {
			if i > 0 && t.Follows[i-1].Copier >= f.Copier {
				return bad("trader %d: follows not sorted and unique at %d", id, i)
			}
			if f.Trader != id || f.Copier == id || f.Copier <= 0 {
				return bad("trader %d: follow %d→%d", id, f.Copier, f.Trader)
			}
			if err := checkFollow(f, t.ShareBps); err != nil {
				return bad("follow %d→%d: %v", f.Copier, id, err)
			}
			if count[f] != f.Pending {
				return bad("follow %d→%d: Pending %d, orders %d", f.Copier, id, f.Pending, count[f])
			}
			var sum fixed.Sum
			sum.Add(reserved[f])
			for j := range f.Positions {
				p := &f.Positions[j]
				k := key{f, p.Instrument, p.Side}
				if pendOpen[k] != p.PendingOpen || pendClose[k] != p.PendingClose {
					return bad("follow %d→%d %s/%d: pending open %s close %s, orders %s %s",
						f.Copier, id, p.Instrument, p.Side, p.PendingOpen, p.PendingClose, pendOpen[k], pendClose[k])
				}
				delete(pendOpen, k)
				delete(pendClose, k)
				sum.Add(p.Margin)
			}
			if use, err := sum.Result(); err != nil || use != f.MarginInUse {
				return bad("follow %d→%d: MarginInUse %s != position margin + reserved %s", f.Copier, id, f.MarginInUse, use)
			}
		}
	}
	for k := range pendOpen {
		return bad("follow %d→%d: pending open order on %s/%d has no position", k.f.Copier, k.f.Trader, k.inst, k.side)
	}
	for k := range pendClose {
		return bad("follow %d→%d: pending close order on %s/%d has no position", k.f.Copier, k.f.Trader, k.inst, k.side)
	}
	if err := m.checkShare(); err != nil { // settle.go
		return bad("%v", err)
	}
	if err := m.checkStats(); err != nil { // stats.go
		return bad("%v", err)
	}
	return nil
}

// checkFollow checks one follow's own ledger.
// shareBps is the trader's ratio in force (an ended follow is kept while it
// owes profit share).
func checkFollow(f *FollowState, shareBps int64) error {
	if f.Status < FollowActive || f.Status > FollowEnded {
		return fmt.Errorf("status %d", f.Status)
	}
	if f.MarginInUse < 0 || f.Pending < 0 {
		return fmt.Errorf("MarginInUse %s Pending %d", f.MarginInUse, f.Pending)
	}
	for i := range f.Positions {
		p := &f.Positions[i]
		switch {
		case p.Side != Long && p.Side != Short:
			return fmt.Errorf("position %s side %d", p.Instrument, p.Side)
		case p.Qty < 0 || p.PendingOpen < 0 || p.PendingClose < 0 || p.Margin < 0:
			return fmt.Errorf("position %s/%d negative: %+v", p.Instrument, p.Side, *p)
		case p.PendingClose > p.Qty:
			return fmt.Errorf("position %s/%d: PendingClose %s > Qty %s", p.Instrument, p.Side, p.PendingClose, p.Qty)
		case emptyPos(p):
			return fmt.Errorf("position %s/%d empty but kept", p.Instrument, p.Side)
		case p.Qty == 0 && (p.Margin != 0 || p.AvgEntry != 0 || p.Cost != 0):
			return fmt.Errorf("position %s/%d flat with margin %s avg %s cost %s", p.Instrument, p.Side, p.Margin, p.AvgEntry, p.Cost)
		case p.Cost < 0 || p.Target < 0:
			return fmt.Errorf("position %s/%d: negative cost %s", p.Instrument, p.Side, p.Cost)
		case p.PendingOpen > 0 && (p.OpenKeep <= 0 || p.OpenKeep > fixed.One):
			return fmt.Errorf("position %s/%d: pending open with OpenKeep %s outside (0, 1]", p.Instrument, p.Side, p.OpenKeep)
		case i > 0 && cmpPos(f.Positions[i-1], *p) >= 0:
			return fmt.Errorf("positions not sorted and unique")
		}
	}
	for i := range f.Detached {
		if p := &f.Detached[i]; p.Qty <= 0 || p.Margin < 0 {
			return fmt.Errorf("detached %s/%d qty %s", p.Instrument, p.Side, p.Qty)
		}
	}
	if f.Status == FollowEnded && f.Pending == 0 && len(f.Positions) == 0 && len(f.Detached) == 0 && !f.owesShare(shareBps) {
		return fmt.Errorf("ended and empty but kept")
	}
	return nil
}

func cmpTraderPos(a, b *TraderPosition) int {
	if c := strings.Compare(a.Instrument, b.Instrument); c != 0 {
		return c
	}
	return int(a.Side) - int(b.Side)
}
