package raftfsm

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// The attribution ledger: positions per follow × instrument × side, moved
// only by fills (apply_results.go), and the ways a follow lets go of them
// (close at market, detach, end).

// Stop reasons (FollowState.StopReason). The suffix records what happens to
// exposure that turns up after the follow stopped or ended (an open that
// fills late, a close the venue rejected): "-detach" detaches it, anything
// else closes it at market. Issue 3 adds "stop-loss" and "take-profit".
const (
	reasonUnfollow    = "unfollow"
	reasonExit        = "exit"
	reasonLiquidation = "liquidation"
	detachSuffix      = "-detach"
	closeSuffix       = "-close"
)

// stopReason is base plus the policy suffix.
func stopReason(base string, pol LiqPolicy) string {
	if pol == LiqDetach {
		return base + detachSuffix
	}
	return base + closeSuffix
}

// leftoverPolicy says what to do with exposure of a stopped or ended follow.
func (f *FollowState) leftoverPolicy() LiqPolicy {
	if strings.HasSuffix(f.StopReason, detachSuffix) {
		return LiqDetach
	}
	return LiqClose
}

// followLiqPolicy resolves a follow's liquidation policy: the follow's own,
// else the trader's, else close.
func (m *Machine) followLiqPolicy(t *TraderState, f *FollowState) LiqPolicy {
	if p := f.Settings.LiquidationPolicy; p != LiqInherit {
		return p
	}
	if p := t.Config.LiquidationPolicy; p != LiqInherit {
		return p
	}
	return LiqClose
}

// findFollow returns the trader's follow by copier, or nil.
func (t *TraderState) findFollow(copier AccountID) *FollowState {
	i, ok := slices.BinarySearchFunc(t.Follows, copier, func(f *FollowState, c AccountID) int {
		return cmp.Compare(f.Copier, c)
	})
	if !ok {
		return nil
	}
	return t.Follows[i]
}

// posIndex returns the index of the follow's position (inst, side), or -1.
func posIndex(ps []Position, inst string, side PosSide) int {
	for i := range ps {
		if ps[i].Instrument == inst && ps[i].Side == side {
			return i
		}
	}
	return -1
}

// ensurePos returns the follow's position (inst, side), inserting an empty
// one in (Instrument, Side) order if there is none. The pointer is valid
// until the next insert or prune.
func (f *FollowState) ensurePos(inst string, side PosSide) *Position {
	if i := posIndex(f.Positions, inst, side); i >= 0 {
		return &f.Positions[i]
	}
	i, _ := slices.BinarySearchFunc(f.Positions, Position{Instrument: inst, Side: side}, cmpPos)
	f.Positions = slices.Insert(f.Positions, i, Position{Instrument: inst, Side: side})
	return &f.Positions[i]
}

func cmpPos(a, b Position) int {
	if c := strings.Compare(a.Instrument, b.Instrument); c != 0 {
		return c
	}
	return cmp.Compare(a.Side, b.Side)
}

// emptyPos: nothing filled and nothing pending (Margin is then 0 too).
func emptyPos(p *Position) bool {
	return p.Qty == 0 && p.PendingOpen == 0 && p.PendingClose == 0
}

// prune removes empty positions.
func (f *FollowState) prune() {
	// The backing array is kept: a follow that closes usually opens again.
	f.Positions = slices.DeleteFunc(f.Positions, func(p Position) bool { return emptyPos(&p) })
}

// prorata returns a × num / den for 0 <= num <= den, a >= 0: never more than
// a, so it cannot overflow; den == 0 returns a.
func prorata(a, num, den fixed.Dec, r fixed.Rounding) fixed.Dec {
	if num >= den || den == 0 {
		return a
	}
	v, err := fixed.MulDiv(a, num, den, r)
	if err != nil {
		panic(fmt.Errorf("%w: prorata %s×%s/%s: %w", ErrInvariant, a, num, den, err))
	}
	return v
}

// detach moves q (<= Qty − PendingClose) of position p out of the follow's
// management into Detached, with its share of the margin. Detached entries
// are appended, never merged, so detaching needs no arithmetic that could
// overflow.
func (f *FollowState) detach(p *Position, q fixed.Dec) {
	if q <= 0 {
		return
	}
	mv := prorata(p.Margin, q, p.Qty, fixed.Down)
	cv := prorata(p.Cost, q, p.Qty, fixed.Down)
	f.Detached = append(f.Detached, Position{
		Instrument: p.Instrument, Side: p.Side, Qty: q, AvgEntry: avgOf(q, cv),
		Margin: mv, Leverage: p.Leverage, MarginMode: p.MarginMode, Cost: cv,
	})
	p.Qty -= q
	p.Margin -= mv
	p.Cost -= cv
	f.MarginInUse -= mv
	p.AvgEntry = avgOf(p.Qty, p.Cost)
}

// dispose gets rid of the follow's closable exposure (Qty − PendingClose of
// every position) by pol: close orders at market, or detach.
func (m *Machine) dispose(t *TraderState, f *FollowState, pol LiqPolicy, signal int64, res *Result) {
	for i := 0; i < len(f.Positions); i++ {
		p := &f.Positions[i]
		p.Target = 0 // the copy wants none of it
		q := p.Qty - p.PendingClose
		if q <= 0 {
			continue
		}
		if pol == LiqDetach {
			f.detach(p, q)
		} else {
			m.planClose(t, f, p, q, signal, res)
		}
	}
	f.prune()
}

// endFollow ends f (unfollow, trader exit): its exposure goes by pol and the
// follow stays only while orders are pending or positions remain.
func (m *Machine) endFollow(t *TraderState, f *FollowState, pol LiqPolicy, base string, res *Result) {
	f.Status = FollowEnded
	f.StopReason = stopReason(base, pol)
	m.dispose(t, f, pol, 0, res)
	t.dropIfDone(f)
}

// dropIfDone removes an ended follow from the trader's list once it has no
// pending orders, no positions and no detached entries. An ended follow with
// detached entries stays as the copier's record of them until the copier
// follows this trader again; the new follow inherits them (applyFollow).
// So does one whose profit-share account is open (owesShare, settle.go):
// until it is settled and paid.
func (t *TraderState) dropIfDone(f *FollowState) {
	if f.Status != FollowEnded || f.Pending != 0 || len(f.Positions) != 0 || len(f.Detached) != 0 || f.owesShare(t.ShareBps) {
		return
	}
	i, ok := slices.BinarySearchFunc(t.Follows, f.Copier, func(g *FollowState, c AccountID) int {
		return cmp.Compare(g.Copier, c)
	})
	if ok && t.Follows[i] == f {
		t.Follows = slices.Delete(t.Follows, i, i+1)
	}
}
