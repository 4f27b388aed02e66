package raftfsm

import (
	"slices"
	"testing"
)

// TestLeadTraders: exactly the traders CheckFill would not drop as non-leading (ACTIVE
// or PAUSED) in owned or frozen slots, ascending, paged by after/limit.
func TestLeadTraders(t *testing.T) {
	m := New()
	add := func(id AccountID, st TraderStatus, slot SlotState) {
		s := SlotOf(id)
		m.traders[id] = &TraderState{ID: id, Slot: s, Status: st}
		m.slots[s].State = slot
	}
	add(5, TraderActive, SlotOwned)
	add(3, TraderPaused, SlotOwned)
	add(9, TraderActive, SlotFrozen)
	add(7, TraderExited, SlotOwned)
	add(11, TraderRejected, SlotOwned)
	add(13, TraderActive, SlotReleased)
	add(1, TraderActive, SlotOwned)
	if got := m.LeadTraders(0, 100); !slices.Equal(got, []AccountID{1, 3, 5, 9}) {
		t.Fatalf("LeadTraders = %v, want [1 3 5 9]", got)
	}
	if got := m.LeadTraders(0, 2); !slices.Equal(got, []AccountID{1, 3}) {
		t.Fatalf("first page = %v, want [1 3]", got)
	}
	if got := m.LeadTraders(3, 2); !slices.Equal(got, []AccountID{5, 9}) {
		t.Fatalf("second page = %v, want [5 9]", got)
	}
	if got := m.LeadTraders(9, 2); len(got) != 0 {
		t.Fatalf("after the last = %v, want none", got)
	}
	if got := m.LeadTraders(0, 0); got != nil {
		t.Fatalf("limit 0 = %v, want nil", got)
	}
}
