package shard

import (
	"errors"

	"github.com/copytrade/copytrade/raftfsm"
)

// The machine's queries this package uses, in one place.

var errShortAnswer = errors.New("gateway answered a different number of entries")

// pendingOrders is every order the machine holds as pending.
func pendingOrders(m *raftfsm.Machine) []raftfsm.OrderIntent {
	ps := m.PendingOrders()
	out := make([]raftfsm.OrderIntent, len(ps))
	for i := range ps {
		out[i] = ps[i].OrderIntent
	}
	return out
}

// stillPending reports, per result, whether its order is still pending in the machine.
func (n *Node) stillPending(rs []raftfsm.OrderResult) []bool {
	out := make([]bool, len(rs))
	n.fsm.read(func(m *raftfsm.Machine) {
		for i := range rs {
			_, out[i] = m.Order(rs[i].ClientOrderID)
			out[i] = out[i] && !m.IsQuarantined(rs[i].ClientOrderID) // waits for an admin, not for a refeed
		}
	})
	return out
}

var opNames = [...]string{
	"Invalid", "Noop", "Bootstrap", "InstrumentUpsert", "RulesSet", "TraderApply",
	"TraderUpdate", "TraderPause", "TraderResume", "TraderExit", "Follow", "FollowUpdate",
	"FollowPause", "FollowResume", "Unfollow", "TradeFill", "OrderResults", "MarkPrices",
	"Settle", "SettlementPaid", "SlotFreeze", "SlotExport", "SlotImport", "SlotRelease",
	"SlotAbort", "SlotUnfreeze", "OrderResolve",
}

func opName(op raftfsm.Op) string {
	if int(op) < len(opNames) {
		return opNames[op]
	}
	return op.String() // ops appended since (raftfsm's names)
}

// slotRefusal is the machine's answer for a trader whose slot is not served here.
func slotRefusal(m *raftfsm.Machine, trader raftfsm.AccountID) *raftfsm.Refusal {
	s := m.SlotInfo(raftfsm.SlotOf(trader))
	switch s.State {
	case raftfsm.SlotOwned:
		return nil
	case raftfsm.SlotFrozen:
		return &raftfsm.Refusal{Code: raftfsm.CodeMoving, Msg: "slot is moving"}
	case raftfsm.SlotReleased:
		return &raftfsm.Refusal{Code: raftfsm.CodeMoved, Msg: "slot moved", Group: s.MovedTo, Epoch: s.Epoch}
	}
	return &raftfsm.Refusal{Code: raftfsm.CodeNotOwned, Msg: "slot not owned by this group"}
}

// slotTable copies the machine's slot table.
func slotTable(m *raftfsm.Machine) *[raftfsm.NumSlots]raftfsm.Slot {
	var t [raftfsm.NumSlots]raftfsm.Slot
	for i := range t {
		t[i] = m.SlotInfo(uint16(i))
	}
	return &t
}
