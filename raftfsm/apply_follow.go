package raftfsm

import (
	"cmp"
	"slices"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Follows: follow, update, pause/resume, unfollow.

// checkSettings validates every field of a follow's settings against the
// trader's config.
func (m *Machine) checkSettings(t *TraderState, s *FollowSettings) *Refusal {
	switch s.Mode {
	case FixedAmount:
		if s.FixedMargin <= 0 || s.FixedMargin > s.Allocation {
			return invalid("Settings.FixedMargin", "want 0 < FixedMargin <= Allocation")
		}
	case Multiplier:
		if s.Multiplier <= 0 || s.Multiplier > maxMultiplier {
			return invalid("Settings.Multiplier", "want 0 < Multiplier <= 1000")
		}
	case Proportional:
	default:
		return invalid("Settings.Mode", "want FixedAmount, Multiplier or Proportional")
	}
	switch {
	case s.Mode != FixedAmount && s.FixedMargin != 0:
		return invalid("Settings.FixedMargin", "only for FixedAmount")
	case s.Mode != Multiplier && s.Multiplier != 0:
		return invalid("Settings.Multiplier", "only for Multiplier")
	case s.Allocation <= 0 || s.Allocation > maxAllocation:
		return invalid("Settings.Allocation", "want 0 < Allocation <= 100000000")
	case s.LeveragePolicy != LeverageFollowTrader && s.LeveragePolicy != LeverageFixed:
		return invalid("Settings.LeveragePolicy", "want FollowTrader or Fixed")
	case s.LeveragePolicy == LeverageFixed && (s.Leverage < 1 || s.Leverage > MaxLeverage):
		return invalid("Settings.Leverage", "want 1..200 with a fixed leverage")
	case s.LeveragePolicy == LeverageFollowTrader && s.Leverage != 0:
		return invalid("Settings.Leverage", "must be 0 when following the trader's leverage")
	case s.MarginPolicy < MarginFollowTrader || s.MarginPolicy > MarginForceIsolated:
		return invalid("Settings.MarginPolicy", "unknown policy")
	case s.PositionMode != Hedge && s.PositionMode != OneWay:
		return invalid("Settings.PositionMode", "want Hedge or OneWay")
	case s.AccountMode > AccountModePortfolio:
		return invalid("Settings.AccountMode", "unknown mode")
	case s.MaxOrderNotional < 0:
		return invalid("Settings.MaxOrderNotional", "must be >= 0")
	case s.MaxFollowNotional < 0:
		return invalid("Settings.MaxFollowNotional", "must be >= 0")
	case s.SlippageBps < 0 || s.SlippageBps > maxSlippageBps:
		return invalid("Settings.SlippageBps", "want 0..5000")
	case s.StopLossBps < 0 || s.StopLossBps > fixed.BpsDenominator:
		return invalid("Settings.StopLossBps", "want 0..10000")
	case s.TakeProfitBps < 0 || s.TakeProfitBps > maxTakeProfitBps:
		return invalid("Settings.TakeProfitBps", "want 0..100000")
	case s.LiquidationPolicy > LiqDetach:
		return invalid("Settings.LiquidationPolicy", "unknown policy")
	}
	if r := m.checkSymbols("Settings.Instruments", s.Instruments); r != nil {
		return r
	}
	for _, sym := range s.Instruments {
		if !t.leads(sym) {
			return invalid("Settings.Instruments", sym+" is not led by the trader")
		}
	}
	c := &t.Config
	if (c.MinCopyAmount > 0 && s.Allocation < c.MinCopyAmount) ||
		(c.MaxCopyAmount > 0 && s.Allocation > c.MaxCopyAmount) {
		return newRefusal(CodeAllocationRange, "allocation outside the trader's copy amount range")
	}
	return nil
}

// cloneSettings deep-copies settings so state never aliases a command.
func cloneSettings(s FollowSettings) FollowSettings {
	s.Instruments = slices.Clone(s.Instruments)
	return s
}

// liveFollows counts the trader's follows that have not ended.
func (t *TraderState) liveFollows() int {
	n := 0
	for _, f := range t.Follows {
		if f.Status != FollowEnded {
			n++
		}
	}
	return n
}

// applyFollow starts a follow. The copier may be any account but the
// trader itself (a main account may follow its own sub account and vice
// versa: they are separate accounts). A copier whose previous follow of
// this trader ended with detached positions gets a fresh follow that keeps
// the detached record.
func (m *Machine) applyFollow(c *Follow) *Refusal { return m.followWithInvite(c, "") }

// followWithInvite is applyFollow with an invite code for an invite-only
// trader (follow_options.go).
func (m *Machine) followWithInvite(c *Follow, invite string) *Refusal {
	if !validAccount(c.Copier) {
		return invalid("Copier", "must be > 0")
	}
	if c.CopierParent < 0 || c.CopierParent == c.Copier {
		return invalid("CopierParent", "must be 0 or another account")
	}
	if !validAccount(c.Trader) {
		return invalid("Trader", "must be > 0")
	}
	if r := m.checkOwned(c.Trader); r != nil {
		return r
	}
	if c.Copier == c.Trader {
		return newRefusal(CodeSelfFollow, "an account never follows itself")
	}
	t := m.traders[c.Trader]
	switch {
	case t == nil:
		return newRefusal(CodeUnknownTrader, "no such trader")
	case t.Status == TraderPaused:
		return newRefusal(CodeTraderPaused, "trader accepts no new followers")
	case t.Status != TraderActive:
		return newRefusal(CodeNotLeadTrader, "trader does not lead")
	}
	if r := m.checkInvite(t, invite); r != nil {
		return r
	}
	if r := m.checkSettings(t, &c.Settings); r != nil {
		return r
	}
	old := t.findFollow(c.Copier)
	if old != nil && (old.Status != FollowEnded || old.Pending != 0 || len(old.Positions) != 0) {
		return newRefusal(CodeFollowExists, "copier already follows this trader")
	}
	if len(t.Follows) >= t.maxCopiers() && t.liveFollows() >= t.maxCopiers() {
		return newRefusal(CodeCopierCapReached, "trader has its maximum number of copiers")
	}
	f := &FollowState{
		Copier:       c.Copier,
		CopierParent: c.CopierParent,
		Trader:       c.Trader,
		Status:       FollowActive,
		Settings:     cloneSettings(c.Settings),
	}
	if old != nil {
		f.Detached = old.Detached
		f.Share = old.Share // the profit-share account (and its high-water mark) carries on
		i, _ := t.followIndex(c.Copier)
		t.Follows[i] = f
		return nil
	}
	i, _ := t.followIndex(c.Copier)
	t.Follows = slices.Insert(t.Follows, i, f)
	return nil
}

// followIndex is the position of copier in the trader's sorted list.
func (t *TraderState) followIndex(copier AccountID) (int, bool) {
	return slices.BinarySearchFunc(t.Follows, copier, func(f *FollowState, c AccountID) int {
		return cmp.Compare(f.Copier, c)
	})
}

// liveFollow returns the copier's follow of trader if it has not ended.
// Follow-scoped commands are checked against the trader's slot.
func (m *Machine) liveFollow(copier, trader AccountID) (*TraderState, *FollowState, *Refusal) {
	if !validAccount(copier) {
		return nil, nil, invalid("Copier", "must be > 0")
	}
	if !validAccount(trader) {
		return nil, nil, invalid("Trader", "must be > 0")
	}
	if r := m.checkOwned(trader); r != nil {
		return nil, nil, r
	}
	t := m.traders[trader]
	if t == nil {
		return nil, nil, newRefusal(CodeUnknownTrader, "no such trader")
	}
	f := t.findFollow(copier)
	if f == nil || f.Status == FollowEnded {
		return nil, nil, newRefusal(CodeUnknownFollow, "no such follow")
	}
	return t, f, nil
}

// applyFollowUpdate replaces a follow's settings; attributed positions and
// pending orders stay as they are. A lower allocation only stops new opens.
func (m *Machine) applyFollowUpdate(c *FollowUpdate) *Refusal {
	t, f, r := m.liveFollow(c.Copier, c.Trader)
	if r != nil {
		return r
	}
	if r := m.checkSettings(t, &c.Settings); r != nil {
		return r
	}
	// Closes carry the position side and reduce-only flag of the copier's
	// mode: it may change only while the follow holds nothing.
	if c.Settings.PositionMode != f.Settings.PositionMode && (len(f.Positions) > 0 || f.Pending > 0) {
		return invalid("Settings.PositionMode", "cannot change while the follow holds positions or pending orders")
	}
	f.Settings = cloneSettings(c.Settings)
	return nil
}

// applyFollowPause pauses (closes only) or resumes a follow. Resume also
// restarts a stopped follow. Both are idempotent.
func (m *Machine) applyFollowPause(copier, trader AccountID, pause bool) *Refusal {
	_, f, r := m.liveFollow(copier, trader)
	if r != nil {
		return r
	}
	switch {
	case pause && f.Status == FollowActive:
		f.Status = FollowPaused
	case !pause:
		f.Status = FollowActive
		f.StopReason = ""
		f.Failures = 0
	}
	return nil
}

// applyUnfollow ends a follow, closing its attributed positions at market
// or detaching them.
func (m *Machine) applyUnfollow(c *Unfollow, res *Result) *Refusal {
	t, f, r := m.liveFollow(c.Copier, c.Trader)
	if r != nil {
		return r
	}
	pol := LiqDetach
	if c.ClosePositions {
		pol = LiqClose
	}
	m.endFollow(t, f, pol, reasonUnfollow, res)
	return nil
}
