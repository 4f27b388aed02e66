package raftfsm

import "slices"

// LeadTraders pages through the traders whose fills this group would not drop before
// Raft (CheckFill's "trader does not lead" test): status ACTIVE or PAUSED, in a slot
// the group owns or holds frozen. At most limit IDs greater than after, ascending.
// A Kafka ingest builds its filter from the union of every group's answer; a superset
// is harmless (the leader still refuses), a missing trader would drop its fills.
//
// Cost: one pass over the group's traders and a sort of the leading ones per page.
func (m *Machine) LeadTraders(after AccountID, limit int) []AccountID {
	if limit <= 0 {
		return nil
	}
	var ids []AccountID
	for id, t := range m.traders {
		if id <= after || !t.leading() {
			continue
		}
		if st := m.slots[t.Slot].State; st != SlotOwned && st != SlotFrozen {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if len(ids) > limit {
		ids = ids[:limit]
	}
	return ids
}
