package raftfsm

import (
	"strconv"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Admin commands: bootstrap, instruments, eligibility rules (mark prices: marks.go).

// applyBootstrap makes this machine group c.Group owning c.Slots at c.Epoch.
// Only the first bootstrap is accepted.
func (m *Machine) applyBootstrap(c *Bootstrap) *Refusal {
	if m.group != 0 {
		return newRefusal(CodeBootstrapped, "group already bootstrapped")
	}
	if c.Group == 0 {
		return invalid("Group", "must be > 0")
	}
	if c.Epoch == 0 {
		return invalid("Epoch", "must be >= 1")
	}
	if len(c.Slots) > NumSlots {
		return invalid("Slots", "too many ranges")
	}
	for i, r := range c.Slots {
		if r.From > r.To || int(r.To) >= NumSlots {
			return invalid("Slots["+strconv.Itoa(i)+"]", "want From <= To < NumSlots")
		}
	}
	m.group = c.Group
	for _, r := range c.Slots {
		for s := int(r.From); s <= int(r.To); s++ {
			m.slots[s] = Slot{State: SlotOwned, Epoch: c.Epoch}
		}
	}
	return nil
}

// validSymbol reports whether s is a usable instrument symbol: 1..MaxSymbolLen
// printable ASCII bytes without spaces.
func validSymbol(s string) bool {
	if len(s) == 0 || len(s) > MaxSymbolLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// applyInstrument creates or replaces an instrument's trading rules.
func (m *Machine) applyInstrument(c *InstrumentUpsert) *Refusal {
	in := c.Instrument
	switch {
	case !validSymbol(in.Symbol):
		return invalid("Instrument.Symbol", "want 1..32 printable bytes")
	case in.LotStep <= 0:
		return invalid("Instrument.LotStep", "must be > 0")
	case in.TickSize <= 0:
		return invalid("Instrument.TickSize", "must be > 0")
	case in.MinQty < in.LotStep:
		return invalid("Instrument.MinQty", "must be >= LotStep")
	case in.MinNotional < 0:
		return invalid("Instrument.MinNotional", "must be >= 0")
	case in.MaxLeverage < 1 || in.MaxLeverage > MaxLeverage:
		return invalid("Instrument.MaxLeverage", "want 1..200")
	case in.PriceBandBps < 0 || in.PriceBandBps > MaxPriceBandBps:
		return invalid("Instrument.PriceBandBps", "want 0..10000 (0 = no band)")
	case in.MaxOrderQty < 0 || (in.MaxOrderQty > 0 && in.MaxOrderQty < in.MinQty):
		return invalid("Instrument.MaxOrderQty", "want 0 (none) or >= MinQty")
	}
	m.instruments[in.Symbol] = &in
	return nil
}

// applyRules replaces the eligibility rules.
func (m *Machine) applyRules(c *RulesSet) *Refusal {
	r := c.Rules
	switch {
	case r.MinWinRateBps < 0 || r.MinWinRateBps > fixed.BpsDenominator:
		return invalid("Rules.MinWinRateBps", "want 0..10000")
	case r.MinROIBps < -fixed.BpsDenominator:
		return invalid("Rules.MinROIBps", "must be >= -10000")
	case r.MinClosedTrades < 0:
		return invalid("Rules.MinClosedTrades", "must be >= 0")
	case r.MinEquity < 0:
		return invalid("Rules.MinEquity", "must be >= 0")
	}
	m.rules = r
	return nil
}
