package shard

import "time"

// The leader's wall clock. Commands are stamped with it (TimeUnixNano, the machine's
// only clock) and settlement periods are computed from it. Config.Clock replaces it in
// tests with one that jumps back and forward; the stamps stay strictly increasing per
// node (now) and never fall behind the machine's clock at a takeover (raiseStamp), so
// the log's clock is monotonic whatever the wall clock does. Settlement is driven by
// the machine's LastSettledPeriod, not by the clock alone: a jump forward settles each
// skipped period in order (none skipped), a jump back settles nothing again (none
// doubled).

// wall is the node's wall clock.
func (n *Node) wall() time.Time {
	if n.cfg.Clock != nil {
		return n.cfg.Clock()
	}
	return time.Now()
}

// raiseStamp makes the next stamp later than t (the machine's clock at a takeover).
func (n *Node) raiseStamp(t int64) {
	for {
		last := n.stamp.Load()
		if t <= last || n.stamp.CompareAndSwap(last, t) {
			return
		}
	}
}
