package router

import (
	"sync"

	"github.com/copytrade/copytrade/raftfsm"
)

// route is where a slot lives as far as the router knows: the owning group and the epoch
// at which it owns it. group 0: unknown.
type route struct {
	group uint32
	epoch uint64
}

// slotMap caches the owner of every slot. Updates only move forward in epoch: a stale
// answer (a lagging replica, an old MOVED) never overrides what a newer one said.
type slotMap struct {
	mu    sync.RWMutex
	slots [raftfsm.NumSlots]route
}

func (m *slotMap) get(slot uint16) route {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.slots[slot]
}

// offer records that group owns slot at epoch; it is kept only when epoch is higher
// than the cached one (or nothing is cached). It reports whether the entry changed.
func (m *slotMap) offer(slot uint16, group uint32, epoch uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := &m.slots[slot]
	if cur.group != 0 && epoch <= cur.epoch {
		return false
	}
	*cur = route{group: group, epoch: epoch}
	return true
}

// offerRange is offer for slots from..to inclusive.
func (m *slotMap) offerRange(from, to uint16, group uint32, epoch uint64) (changed int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := int(from); s <= int(to); s++ {
		cur := &m.slots[s]
		if cur.group != 0 && epoch <= cur.epoch {
			continue
		}
		*cur = route{group: group, epoch: epoch}
		changed++
	}
	return changed
}

// reset forgets every entry (topology reload).
func (m *slotMap) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.slots = [raftfsm.NumSlots]route{}
}

// groups returns, per group, how many slots it owns in the cache.
func (m *slotMap) groups() map[uint32]int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[uint32]int{}
	for _, r := range m.slots {
		if r.group != 0 {
			out[r.group]++
		}
	}
	return out
}
