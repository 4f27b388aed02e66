package convert

import (
	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

func migration(v int64) (raftfsm.MigrationID, error) {
	if v <= 0 {
		return 0, fieldErr("migration", "must be > 0, got %d", v)
	}
	return raftfsm.MigrationID(v), nil
}

func group(field string, v int32) (raftfsm.GroupID, error) {
	if v <= 0 {
		return 0, fieldErr(field, "must be a group ID > 0, got %d", v)
	}
	return raftfsm.GroupID(v), nil
}

// slotList validates a sorted, unique, non-empty list of slots.
func slotList(field string, in []int32) ([]uint16, error) {
	if len(in) == 0 || len(in) > raftfsm.NumSlots {
		return nil, fieldErr(field, "must hold 1..%d slots, got %d", raftfsm.NumSlots, len(in))
	}
	out := make([]uint16, len(in))
	for i, s := range in {
		if s < 0 || s >= raftfsm.NumSlots {
			return nil, fieldErr(field+"["+itoa(i)+"]", "must be in 0..%d, got %d", raftfsm.NumSlots-1, s)
		}
		if i > 0 && s <= in[i-1] {
			return nil, fieldErr(field, "must be sorted and unique; %d follows %d", s, in[i-1])
		}
		out[i] = uint16(s)
	}
	return out, nil
}

func epoch(v int64) (uint64, error) {
	if v <= 0 {
		return 0, fieldErr("epoch", "must be > 0, got %d", v)
	}
	return uint64(v), nil
}

// SlotFreeze validates the start of a migration on the source.
func SlotFreeze(req *ct.SlotFreezeRequest) (raftfsm.SlotFreeze, error) {
	var out raftfsm.SlotFreeze
	if req == nil {
		return out, fieldErr("req", "is required")
	}
	var err error
	if out.Migration, err = migration(req.Migration); err != nil {
		return out, err
	}
	if out.Slots, err = slotList("slots", req.Slots); err != nil {
		return out, err
	}
	if out.Target, err = group("target_group", req.TargetGroup); err != nil {
		return out, err
	}
	out.Epoch, err = epoch(req.Epoch)
	return out, err
}

// SlotImport validates the commit point of a migration on the target.
func SlotImport(req *ct.SlotImportRequest) (raftfsm.SlotImport, error) {
	var out raftfsm.SlotImport
	if req == nil {
		return out, fieldErr("req", "is required")
	}
	var err error
	if out.Migration, err = migration(req.Migration); err != nil {
		return out, err
	}
	if out.Source, err = group("source_group", req.SourceGroup); err != nil {
		return out, err
	}
	if out.Slots, err = slotList("slots", req.Slots); err != nil {
		return out, err
	}
	if out.Epoch, err = epoch(req.Epoch); err != nil {
		return out, err
	}
	if len(req.Data) > MaxSlotImportBytes {
		return out, fieldErr("data", "must be at most %d bytes, got %d", MaxSlotImportBytes, len(req.Data))
	}
	out.Data = req.Data
	out.Checksum = uint64(req.Checksum)
	return out, nil
}

// Migration validates the migration ID of export, release, abort and unfreeze.
func Migration(v int64) (raftfsm.MigrationID, error) { return migration(v) }

// SlotExport is the Thrift answer of a SlotExport command.
func SlotExport(index uint64, e *raftfsm.SlotExportData) *ct.SlotExportResponse {
	out := &ct.SlotExportResponse{Index: int64(index)}
	if e == nil {
		return out
	}
	out.Migration = int64(e.Migration)
	out.Slots = make([]int32, len(e.Slots))
	for i, s := range e.Slots {
		out.Slots[i] = int32(s)
	}
	out.Epoch = int64(e.Epoch)
	out.Data = e.Data
	out.Checksum = int64(e.Checksum)
	return out
}

// SlotRanges compresses a group's slot table into ranges of equal state, epoch, migration
// and destination; never-owned slots with no history are left out.
func SlotRanges(slots *[raftfsm.NumSlots]raftfsm.Slot) []*ct.SlotRange {
	var out []*ct.SlotRange
	var cur *ct.SlotRange
	var curSlot raftfsm.Slot
	for i := range slots {
		s := slots[i]
		if s == (raftfsm.Slot{}) {
			cur = nil
			continue
		}
		if cur != nil && s == curSlot && cur.To == int32(i-1) {
			cur.To = int32(i)
			continue
		}
		cur = &ct.SlotRange{
			First: int32(i), To: int32(i), State: ct.SlotState(s.State), Epoch: int64(s.Epoch),
			Migration: int64(s.Migration), MovedTo: int32(s.MovedTo),
		}
		curSlot = s
		out = append(out, cur)
	}
	return out
}
