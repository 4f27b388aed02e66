package exchsim

// idIndex maps a client order ID's 64-bit hash to a record number + 1 (0: absent). It
// replaces a map[uint64]uint32 whose lookups were 22–27% of exchsim's CPU under load:
// with millions of orders every lookup of a new ID missed the cache twice (the swiss
// map's control word, then its slot). Here a key and its value share one 16-byte slot
// in a flat array probed linearly, and the lookup that misses also finds the slot the
// insert then fills: one probe sequence for find + insert.
type idIndex struct {
	slots []idSlot
	n     int // slots in use
}

type idSlot struct {
	hash uint64
	val  uint32 // 0: empty
}

// get returns the value stored for h, or 0.
func (x *idIndex) get(h uint64) uint32 {
	if len(x.slots) == 0 {
		return 0
	}
	mask := uint64(len(x.slots) - 1)
	for i := (h >> 8) & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.val == 0 || s.hash == h {
			return s.val
		}
	}
}

// slot returns the value cell of h, claiming an empty slot for it when h is absent:
// the caller must then store a non-zero value before the next call. Growth happens
// before the probe, so the cell stays valid until then.
func (x *idIndex) slot(h uint64) *uint32 {
	if (x.n+1)*4 > len(x.slots)*3 { // load factor ≤ 3/4
		x.grow()
	}
	mask := uint64(len(x.slots) - 1)
	for i := (h >> 8) & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.val == 0 {
			s.hash = h
			x.n++
			return &s.val
		}
		if s.hash == h {
			return &s.val
		}
	}
}

func (x *idIndex) grow() {
	old := x.slots
	x.slots = make([]idSlot, max(1024, 2*len(old)))
	mask := uint64(len(x.slots) - 1)
	for _, s := range old {
		if s.val == 0 {
			continue
		}
		i := (s.hash >> 8) & mask
		for x.slots[i].val != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}
