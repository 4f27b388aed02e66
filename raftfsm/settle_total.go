package raftfsm

import (
	"slices"
	"strings"
)

// A trader's total (the settlement record with Copier 0) is what the trader is
// owed for a period. With a settlement account the copiers pay into it and the
// total is paid out of it (design §4 item 8): it is payable only once every
// copier entry of its (trader, period) is paid, so a trader is never paid money
// a rejected copier transfer did not bring in, and it is retried like any entry
// until paid. SettlementPaid marks a total paid only then (an earlier outcome is
// ignored). Without a settlement account the leader records it paid with no
// transfer.

// totalPayable reports whether every copier entry of the total's group is paid.
func (m *Machine) totalPayable(total *SettlementRecord) bool {
	for _, r := range m.settlements {
		if r.Copier != 0 && r.Trader == total.Trader && r.Period == total.Period && !r.Paid {
			return false
		}
	}
	return true
}

// PayableSettlements returns what the leader should transfer now, sorted by ID:
// every unpaid copier entry, and every unpaid trader total whose copier entries
// are all paid. Totals of frozen slots wait for the move, like their entries.
func (m *Machine) PayableSettlements() []SettlementEntry {
	out := m.UnpaidSettlements()
	open := map[[2]uint64]bool{}
	for _, r := range m.settlements {
		if r.Copier != 0 && !r.Paid {
			open[[2]uint64{uint64(r.Trader), r.Period}] = true
		}
	}
	n := len(out)
	for _, r := range m.settlements {
		if r.Copier == 0 && !r.Paid && !open[[2]uint64{uint64(r.Trader), r.Period}] {
			if t := m.traders[r.Trader]; t != nil && m.slots[t.Slot].State == SlotFrozen {
				continue
			}
			out = append(out, r.SettlementEntry)
		}
	}
	if len(out) > n {
		slices.SortFunc(out, func(a, b SettlementEntry) int { return strings.Compare(a.SettlementID, b.SettlementID) })
	}
	return out
}
