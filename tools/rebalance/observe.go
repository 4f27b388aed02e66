package rebalance

import (
	"fmt"
	"sort"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// slotView is one slot as one group reports it (GetSlotOwnership).
type slotView struct {
	State     ct.SlotState
	Epoch     int64
	Migration int64
	MovedTo   int32
}

// ownership is a group's view of the plan's slots, in the plan's order.
type ownership []slotView

// viewOf looks the plan's slots up in a group's ranges (ascending, disjoint); a slot
// in no range is NOT_OWNED without history.
func viewOf(ranges []*ct.SlotRange, slots []int32) ownership {
	out := make(ownership, len(slots))
	for i, s := range slots {
		j := sort.Search(len(ranges), func(k int) bool { return ranges[k].GetTo() >= s })
		if j < len(ranges) && ranges[j].GetFirst() <= s {
			r := ranges[j]
			out[i] = slotView{State: r.GetState(), Epoch: r.GetEpoch(), Migration: r.GetMigration(), MovedTo: r.GetMovedTo()}
		}
	}
	return out
}

// all reports whether every slot satisfies f.
func (o ownership) all(f func(v slotView) bool) bool {
	for _, v := range o {
		if !f(v) {
			return false
		}
	}
	return len(o) > 0
}

func (o ownership) maxEpoch() int64 {
	var m int64
	for _, v := range o {
		m = max(m, v.Epoch)
	}
	return m
}

// frozenBy is the migration freezing every slot, or 0.
func (o ownership) frozenBy() int64 {
	if len(o) == 0 || o[0].State != ct.SlotState_FROZEN {
		return 0
	}
	m := o[0].Migration
	if !o.all(func(v slotView) bool { return v.State == ct.SlotState_FROZEN && v.Migration == m }) {
		return 0
	}
	return m
}

// releasedBy is the migration that released every slot to target (and its epoch), or 0.
func (o ownership) releasedBy(target uint32) (int64, int64) {
	if len(o) == 0 || o[0].State != ct.SlotState_RELEASED {
		return 0, 0
	}
	m, e := o[0].Migration, o[0].Epoch
	if !o.all(func(v slotView) bool {
		return v.State == ct.SlotState_RELEASED && v.Migration == m && v.Epoch == e && uint32(v.MovedTo) == target
	}) {
		return 0, 0
	}
	return m, e
}

// ownedAt is the epoch at which every slot is OWNED here, or 0.
func (o ownership) ownedAt() int64 {
	if len(o) == 0 || o[0].State != ct.SlotState_OWNED {
		return 0
	}
	e := o[0].Epoch
	if !o.all(func(v slotView) bool { return v.State == ct.SlotState_OWNED && v.Epoch == e }) {
		return 0
	}
	return e
}

// owned reports whether every slot is OWNED here (at any epoch).
func (o ownership) owned() bool {
	return o.all(func(v slotView) bool { return v.State == ct.SlotState_OWNED })
}

// summary says briefly how the slots stand, for errors and logs.
func (o ownership) summary(slots []int32) string {
	counts := map[string]int{}
	first := map[string]int32{}
	var keys []string
	for i, v := range o {
		k := v.State.String()
		switch v.State {
		case ct.SlotState_FROZEN:
			k = fmt.Sprintf("FROZEN by migration %d", v.Migration)
		case ct.SlotState_RELEASED:
			k = fmt.Sprintf("RELEASED to group %d at epoch %d", v.MovedTo, v.Epoch)
		case ct.SlotState_OWNED:
			k = fmt.Sprintf("OWNED at epoch %d", v.Epoch)
		}
		if counts[k] == 0 {
			keys = append(keys, k)
			first[k] = slots[i]
		}
		counts[k]++
	}
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += "; "
		}
		s += fmt.Sprintf("%d %s (first slot %d)", counts[k], k, first[k])
	}
	return s
}
