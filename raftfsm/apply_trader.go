package raftfsm

import (
	"slices"
	"strconv"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Lead traders: apply, update, pause/resume, exit.

// validAccount reports whether a is a usable account ID.
func validAccount(a AccountID) bool { return a > 0 }

// checkSymbols validates a sorted, unique instrument list of known
// instruments; field names it in the refusal.
func (m *Machine) checkSymbols(field string, syms []string) *Refusal {
	if len(syms) > MaxInstrumentsLed {
		return invalid(field, "too many instruments")
	}
	for i, s := range syms {
		if !validSymbol(s) {
			return invalid(field+"["+strconv.Itoa(i)+"]", "invalid symbol")
		}
		if i > 0 && s <= syms[i-1] {
			return invalid(field, "not sorted and unique")
		}
		if m.instruments[s] == nil {
			return newRefusal(CodeUnknownInstrument, field+": "+s)
		}
	}
	return nil
}

// checkTraderConfig validates every field of a trader's config.
func (m *Machine) checkTraderConfig(c *TraderConfig) *Refusal {
	if r := m.checkSymbols("Config.Instruments", c.Instruments); r != nil {
		return r
	}
	switch {
	case c.ProfitShareBps < 0 || c.ProfitShareBps > MaxProfitShareBps:
		return invalid("Config.ProfitShareBps", "want 0..3000 (30 %)")
	case c.MaxCopiers < 0 || c.MaxCopiers > MaxCopiersLimit:
		return invalid("Config.MaxCopiers", "want 0..20000 (0 = 500)")
	case c.MinCopyAmount < 0 || c.MinCopyAmount > maxAllocation:
		return invalid("Config.MinCopyAmount", "want 0..100000000")
	case c.MaxCopyAmount < 0 || c.MaxCopyAmount > maxAllocation:
		return invalid("Config.MaxCopyAmount", "want 0..100000000")
	case c.MaxCopyAmount > 0 && c.MinCopyAmount > c.MaxCopyAmount:
		return invalid("Config.MinCopyAmount", "above MaxCopyAmount")
	case c.LiquidationPolicy > LiqDetach:
		return invalid("Config.LiquidationPolicy", "unknown policy")
	case c.SignalMaxAgeMs < 0 || c.SignalMaxAgeMs > MaxSignalMaxAgeMs:
		return invalid("Config.SignalMaxAgeMs", "want 0..3600000 (0 = 2000)")
	}
	return nil
}

// cloneConfig deep-copies a trader config so state never aliases a command.
func cloneConfig(c TraderConfig) TraderConfig {
	c.Instruments = slices.Clone(c.Instruments)
	return c
}

// maxCopiers is the trader's effective copier cap.
func (t *TraderState) maxCopiers() int {
	if t.Config.MaxCopiers == 0 {
		return DefaultMaxCopiers
	}
	return int(t.Config.MaxCopiers)
}

// leading reports whether the trader currently leads (fills are copied).
func (t *TraderState) leading() bool {
	return t.Status == TraderActive || t.Status == TraderPaused
}

// leads reports whether the trader leads instrument sym (an empty led set
// means every instrument).
func (t *TraderState) leads(sym string) bool {
	if len(t.Config.Instruments) == 0 {
		return true
	}
	_, ok := slices.BinarySearch(t.Config.Instruments, sym)
	return ok
}

// ineligible returns why stats fail the rules, or "".
func ineligible(r *EligibilityRules, s *ApplicantStats) string {
	switch {
	case s.WinRateBps < r.MinWinRateBps:
		return "win rate below minimum"
	case s.ROIBps < r.MinROIBps:
		return "ROI below minimum"
	case s.ClosedTrades < r.MinClosedTrades:
		return "too few closed trades"
	case s.Equity < r.MinEquity:
		return "equity below minimum"
	}
	return ""
}

// applyTraderApply makes an account a lead trader, or records why it may
// not lead: an ineligible applicant is stored as TraderRejected (so the
// exchange can show the reason) and the command returns CodeIneligible.
// An exited or rejected account may apply again: its state (order
// sequence, dedup window, own positions) is kept so client order IDs stay
// unique forever.
func (m *Machine) applyTraderApply(c *TraderApply) *Refusal {
	if !validAccount(c.Trader) {
		return invalid("Trader", "must be > 0")
	}
	if r := m.checkOwned(c.Trader); r != nil {
		return r
	}
	switch {
	case c.Parent < 0 || c.Parent == c.Trader:
		return invalid("Parent", "must be 0 or another account")
	case c.Stats.WinRateBps < 0 || c.Stats.WinRateBps > fixed.BpsDenominator:
		return invalid("Stats.WinRateBps", "want 0..10000")
	case c.Stats.ClosedTrades < 0:
		return invalid("Stats.ClosedTrades", "must be >= 0")
	case c.Stats.Equity < 0:
		return invalid("Stats.Equity", "must be >= 0")
	}
	if r := m.checkTraderConfig(&c.Config); r != nil {
		return r
	}
	t := m.traders[c.Trader]
	if t != nil && t.leading() {
		return newRefusal(CodeTraderExists, "account already leads")
	}
	if t == nil {
		t = &TraderState{ID: c.Trader, Slot: SlotOf(c.Trader)}
		m.traders[c.Trader] = t
	}
	t.Parent = c.Parent
	t.Config = cloneConfig(c.Config)
	// A re-application's ratio, like an update's, applies from the next
	// settlement period while any profit-share account of the trader is
	// open: profit earned under the old ratio is charged at it.
	if !t.shareOpen() {
		t.ShareBps = c.Config.ProfitShareBps
	}
	t.Equity = c.Stats.Equity
	if why := ineligible(&m.rules, &c.Stats); why != "" {
		t.Status = TraderRejected
		t.Reason = why
		return newRefusal(CodeIneligible, why)
	}
	t.Status = TraderActive
	t.Reason = ""
	return nil
}

// shareOpen reports whether any follow of t (ended ones are kept while they
// owe) has profit not yet settled or share not yet paid, whatever the ratio.
func (t *TraderState) shareOpen() bool {
	for _, f := range t.Follows {
		if f.Share.Accrued > f.Share.Settled || f.Share.CumNetPnL > f.Share.HWM {
			return true
		}
	}
	return false
}

// leadingTrader returns the trader if its slot is served here and it leads.
func (m *Machine) leadingTrader(id AccountID) (*TraderState, *Refusal) {
	if !validAccount(id) {
		return nil, invalid("Trader", "must be > 0")
	}
	if r := m.checkOwned(id); r != nil {
		return nil, r
	}
	t := m.traders[id]
	if t == nil {
		return nil, newRefusal(CodeUnknownTrader, "no such trader")
	}
	if !t.leading() {
		return nil, newRefusal(CodeNotLeadTrader, "trader does not lead")
	}
	return t, nil
}

// applyTraderUpdate replaces a trader's config. The profit-share ratio in
// force (ShareBps) is not touched: Config.ProfitShareBps takes effect at the
// next settlement period (issue 3). A lower MaxCopiers or a narrower led set
// keeps existing follows; they only gate new follows and new opens.
func (m *Machine) applyTraderUpdate(c *TraderUpdate) *Refusal {
	t, r := m.leadingTrader(c.Trader)
	if r != nil {
		return r
	}
	if r := m.checkTraderConfig(&c.Config); r != nil {
		return r
	}
	t.Config = cloneConfig(c.Config)
	return nil
}

// applyTraderPause pauses (no new follows) or resumes a trader. Both are
// idempotent.
func (m *Machine) applyTraderPause(id AccountID, pause bool) *Refusal {
	t, r := m.leadingTrader(id)
	if r != nil {
		return r
	}
	if pause {
		t.Status = TraderPaused
	} else {
		t.Status = TraderActive
	}
	return nil
}

// applyTraderExit ends leading: every live follow ends, its attributed
// positions closed at market or detached. The policy is c.Policy; when that
// is LiqInherit each follow's own LiquidationPolicy decides, then the
// trader's, then close.
func (m *Machine) applyTraderExit(c *TraderExit, res *Result) *Refusal {
	t, r := m.leadingTrader(c.Trader)
	if r != nil {
		return r
	}
	if c.Policy > LiqDetach {
		return invalid("Policy", "unknown policy")
	}
	t.Status = TraderExited
	for _, f := range slices.Clone(t.Follows) {
		if f.Status == FollowEnded {
			continue
		}
		pol := c.Policy
		if pol == LiqInherit {
			pol = m.followLiqPolicy(t, f)
		}
		m.endFollow(t, f, pol, reasonExit, res)
	}
	return nil
}
