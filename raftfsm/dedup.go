package raftfsm

import (
	"fmt"
	"slices"
)

// Dedup of a trader's fills (design §3: "Dedup never refuses a fill it has
// not seen"). The key is (instrument, trade ID): venues number trades per
// instrument, globally, or not monotonically at all, so nothing is inferred
// from the order of IDs. The window is bounded by venue time instead:
//
//   - every fill the trader had applied with venue time >= Floor is in
//     Entries, so such a fill is a duplicate exactly when it is there;
//   - a fill with venue time < Floor is STALE (CodeFillTooOld): it may have
//     been applied, so it is never applied again, and it is never called a
//     duplicate either.
//
// Floor follows the newest venue time seen minus DedupHorizonNanos. Memory
// is bounded as well: beyond DedupWindowSize entries the oldest sixteenth
// (by venue time) goes and Floor rises past it, so a trader with more than
// DedupWindowSize fills inside the horizon has a shorter horizon, never a
// wrong answer. A fill takes 18 bytes (ID, time, symbol index) with no
// pointer, so a full window is 72 KiB per trader that the garbage collector
// never scans; the lookup reads only the IDs. The snapshot writes each fill
// as symbol index, ID delta and time delta (about 10 bytes).

// DedupHorizonNanos is how far back in venue time a fill can still be
// judged: 24 hours.
const DedupHorizonNanos = 24 * 3600 * 1_000_000_000

// DedupWindow holds a trader's applied fills of the last DedupHorizonNanos
// of venue time, at most DedupWindowSize of them, as three parallel slices
// (a fill i is IDs[i], Times[i], Syms[SymOf[i]]): the lookup scans IDs alone,
// 8 bytes a fill, and nothing in them is a pointer the GC must scan.
type DedupWindow struct {
	// Syms are the instruments fills refer to, in first-seen order. They are
	// never removed: at most one per instrument the group knows.
	// Invariant: unique, len <= maxDedupSyms.
	Syms []string
	// IDs, Times (venue time) and SymOf of the fills, in ascending Times
	// (arrival order among equal times). Invariant: equal lengths, at most
	// DedupWindowSize; every Times[i] >= Floor; SymOf[i] < len(Syms).
	IDs   []int64
	Times []int64
	SymOf []uint16
	// Floor is the oldest venue time that can still be judged. Invariant:
	// never falls.
	Floor int64
}

// stale reports whether a fill at venue time ts is older than the window.
func (w *DedupWindow) stale(ts int64) bool { return ts < w.Floor }

// maxDedupSyms bounds DedupWindow.Syms (a uint16 index).
const maxDedupSyms = 1 << 16

// symIndex is inst's index in Syms, or -1.
func (w *DedupWindow) symIndex(inst string) int {
	for i, s := range w.Syms {
		if s == inst {
			return i
		}
	}
	return -1
}

// seen reports whether (inst, id) is in the window: a linear scan of IDs
// from the newest (a replay is usually recent).
func (w *DedupWindow) seen(inst string, id int64) bool {
	k := w.symIndex(inst)
	if k < 0 {
		return false
	}
	sym := uint16(k)
	for i := len(w.IDs) - 1; i >= 0; i-- {
		if w.IDs[i] == id && w.SymOf[i] == sym {
			return true
		}
	}
	return false
}

// add remembers an applied fill (not stale, not seen), then moves Floor up
// to the horizon and drops what fell below it.
func (w *DedupWindow) add(inst string, id, ts int64) {
	k := w.symIndex(inst)
	if k < 0 {
		if len(w.Syms) >= maxDedupSyms { // CheckFillAt refuses this fill first
			panic(fmt.Errorf("%w: dedup window of more than %d instruments", ErrInvariant, maxDedupSyms))
		}
		k = len(w.Syms)
		w.Syms = append(w.Syms, inst)
	}
	n := len(w.IDs)
	i := n
	for i > 0 && w.Times[i-1] > ts { // usually none: venue time grows
		i--
	}
	if i == n {
		w.IDs, w.Times, w.SymOf = append(w.IDs, id), append(w.Times, ts), append(w.SymOf, uint16(k))
	} else {
		w.IDs, w.Times, w.SymOf = slices.Insert(w.IDs, i, id), slices.Insert(w.Times, i, ts), slices.Insert(w.SymOf, i, uint16(k))
	}
	floor := w.Floor
	if newest := w.Times[len(w.Times)-1]; newest-DedupHorizonNanos > floor {
		floor = newest - DedupHorizonNanos
	}
	if len(w.IDs) > DedupWindowSize {
		// Evict the oldest sixteenth at once (amortised), and everything
		// that shares the last evicted time: Floor must rise past it.
		if t := w.Times[DedupWindowSize/16-1]; t+1 > floor {
			floor = t + 1
		}
	}
	if floor == w.Floor {
		return
	}
	w.Floor = floor
	n = 0
	for n < len(w.Times) && w.Times[n] < floor {
		n++
	}
	if n > 0 {
		w.IDs, w.Times, w.SymOf = slices.Delete(w.IDs, 0, n), slices.Delete(w.Times, 0, n), slices.Delete(w.SymOf, 0, n)
	}
}

// check verifies the window's invariants (CheckInvariants).
func (w *DedupWindow) check() error {
	if len(w.IDs) > DedupWindowSize || len(w.Times) != len(w.IDs) || len(w.SymOf) != len(w.IDs) || len(w.Syms) > maxDedupSyms {
		return fmt.Errorf("dedup window holds %d/%d/%d fills, %d symbols", len(w.IDs), len(w.Times), len(w.SymOf), len(w.Syms))
	}
	for i, s := range w.Syms {
		if w.symIndex(s) != i {
			return fmt.Errorf("dedup symbol %q repeated", s)
		}
	}
	for i := range w.IDs {
		if int(w.SymOf[i]) >= len(w.Syms) {
			return fmt.Errorf("dedup fill %d: symbol %d of %d", i, w.SymOf[i], len(w.Syms))
		}
		if w.Times[i] < w.Floor || (i > 0 && w.Times[i] < w.Times[i-1]) {
			return fmt.Errorf("dedup fill %d: time %d, floor %d, not ascending or below the floor", i, w.Times[i], w.Floor)
		}
	}
	return nil
}
