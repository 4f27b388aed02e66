package raftfsm

import (
	"cmp"
	"slices"
	"strings"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Read-only queries for the shard's read RPCs. Each returns copies: nothing
// returned aliases the machine's state, so a caller may keep or change it.
// Like Apply they must be serialized with it by the caller. Results are in a
// defined order, never map order.

// TraderView is a lead trader as the read API shows it.
type TraderView struct {
	ID        AccountID
	Parent    AccountID
	Slot      uint16
	Status    TraderStatus
	Reason    string // why Rejected
	Config    TraderConfig
	ShareBps  int64 // profit-share ratio in force (Config's applies from the next period)
	Positions []TraderPosition
	Equity    fixed.Dec
	Followers int    // live follows (not ended)
	OrderSeq  uint64 // last client order sequence used
	SignalSeq uint64 // fills applied
	Stats     TraderStats
	// InviteOnly: new follows need one of Invites (follow_options.go).
	InviteOnly bool
	Invites    []Invite
	// Mismatches: fills whose venue position before differed from the
	// tracked one (the venue's figure was used).
	Mismatches uint64
}

// Trader returns trader id, if this group holds it.
func (m *Machine) Trader(id AccountID) (TraderView, bool) {
	t := m.traders[id]
	if t == nil {
		return TraderView{}, false
	}
	return TraderView{
		ID: t.ID, Parent: t.Parent, Slot: t.Slot, Status: t.Status, Reason: t.Reason,
		Config: cloneConfig(t.Config), ShareBps: t.ShareBps,
		Positions: slices.Clone(t.Positions), Equity: t.Equity,
		Followers: t.liveFollows(), OrderSeq: t.OrderSeq, SignalSeq: t.SignalSeq, Mismatches: t.Mismatches,
		InviteOnly: t.InviteOnly, Invites: slices.Clone(t.Invites),
		Stats: TraderStats{
			Days: slices.Clone(t.Stats.Days), Wins: t.Stats.Wins, Losses: t.Stats.Losses,
			PeakEquity: t.Stats.PeakEquity, MaxDrawdownBps: t.Stats.MaxDrawdownBps,
			CopierPnL: t.Stats.CopierPnL,
		},
	}, true
}

// cloneFollow deep-copies a follow.
func cloneFollow(f *FollowState) FollowState {
	c := *f
	c.Settings = cloneSettings(f.Settings)
	c.Positions = slices.Clone(f.Positions)
	c.Detached = slices.Clone(f.Detached)
	return c
}

// Followers pages through a trader's follows (ended ones included, until
// they are dropped) in copier order: at most limit follows with Copier >
// afterCopier. Pass 0 to start.
func (m *Machine) Followers(trader, afterCopier AccountID, limit int) []FollowState {
	t := m.traders[trader]
	if t == nil || limit <= 0 {
		return nil
	}
	i, ok := t.followIndex(afterCopier)
	if ok {
		i++
	}
	end := min(len(t.Follows), i+limit)
	out := make([]FollowState, 0, end-i)
	for _, f := range t.Follows[i:end] {
		out = append(out, cloneFollow(f))
	}
	return out
}

// Follow returns the copier's follow of trader.
func (m *Machine) Follow(copier, trader AccountID) (FollowState, bool) {
	t := m.traders[trader]
	if t == nil {
		return FollowState{}, false
	}
	f := t.findFollow(copier)
	if f == nil {
		return FollowState{}, false
	}
	return cloneFollow(f), true
}

// FollowsOfCopier returns every follow of copier in this group, by trader.
// It scans all traders: a read-path query, not for the apply path.
func (m *Machine) FollowsOfCopier(copier AccountID) []FollowState {
	var out []FollowState
	for _, id := range m.traderIDs() {
		if f := m.traders[id].findFollow(copier); f != nil {
			out = append(out, cloneFollow(f))
		}
	}
	return out
}

// traderIDs returns the traders' IDs in ascending order.
func (m *Machine) traderIDs() []AccountID {
	ids := make([]AccountID, 0, len(m.traders))
	for id := range m.traders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// PendingOrders returns every pending order, sorted by client order ID. A
// new leader asks the venue about each and places those it does not know.
func (m *Machine) PendingOrders() []OrderState {
	out := make([]OrderState, 0, len(m.orders))
	for _, o := range m.orders {
		if m.quarantine[o.ClientOrderID] == "" { // quarantined orders wait for an admin (QuarantinedOrders)
			out = append(out, *o)
		}
	}
	sortOrders(out)
	return out
}

func sortOrders(os []OrderState) {
	slices.SortFunc(os, func(a, b OrderState) int { return strings.Compare(a.ClientOrderID, b.ClientOrderID) })
}

// Order returns the pending order clientID. Final orders are not kept: their
// effect is in the follow's positions.
func (m *Machine) Order(clientID string) (OrderState, bool) {
	o := m.orders[clientID]
	if o == nil {
		return OrderState{}, false
	}
	return *o, true
}

// OrdersBySignal returns the pending orders the fill (trader, tradeID)
// caused, sorted by client order ID.
func (m *Machine) OrdersBySignal(trader AccountID, tradeID int64) []OrderState {
	var out []OrderState
	for _, o := range m.orders {
		if o.Trader == trader && o.Signal == tradeID {
			out = append(out, *o)
		}
	}
	sortOrders(out)
	return out
}

// OrdersOfCopier returns the copier's pending orders, sorted by client
// order ID.
func (m *Machine) OrdersOfCopier(copier AccountID) []OrderState {
	var out []OrderState
	for _, o := range m.orders {
		if o.Copier == copier {
			out = append(out, *o)
		}
	}
	sortOrders(out)
	return out
}

// Instruments returns every instrument, by symbol.
func (m *Machine) Instruments() []Instrument {
	out := make([]Instrument, 0, len(m.instruments))
	for _, in := range m.instruments {
		out = append(out, *in)
	}
	slices.SortFunc(out, func(a, b Instrument) int { return strings.Compare(a.Symbol, b.Symbol) })
	return out
}

// Rules returns the eligibility rules.
func (m *Machine) Rules() EligibilityRules { return m.rules }

// Marks returns the latest mark price per instrument, by symbol.
func (m *Machine) Marks() []MarkPrice {
	out := make([]MarkPrice, 0, len(m.marks))
	for sym, p := range m.marks {
		out = append(out, MarkPrice{Instrument: sym, Price: p})
	}
	slices.SortFunc(out, func(a, b MarkPrice) int { return cmp.Compare(a.Instrument, b.Instrument) })
	return out
}
