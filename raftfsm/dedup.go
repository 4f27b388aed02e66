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
// wrong answer. An entry is 24 bytes and holds no pointer (its instrument is
// an index into Syms, the window's few symbols), so a full window is 96 KiB
// per trader that the garbage collector never scans; the snapshot writes each
// entry as symbol index, ID delta and time delta (about 10 bytes).

// DedupHorizonNanos is how far back in venue time a fill can still be
// judged: 24 hours.
const DedupHorizonNanos = 24 * 3600 * 1_000_000_000

// DedupEntry is one applied fill in the dedup window.
type DedupEntry struct {
	TradeID int64
	Time    int64  // the fill's venue event time
	Sym     uint16 // the instrument: DedupWindow.Syms[Sym]
}

// DedupWindow holds a trader's applied fills of the last DedupHorizonNanos
// of venue time, at most DedupWindowSize of them.
type DedupWindow struct {
	// Syms are the instruments entries refer to, in first-seen order. They
	// are never removed: at most one per instrument the group knows.
	// Invariant: unique, len <= maxDedupSyms.
	Syms []string
	// Entries are in ascending Time (arrival order among equal times).
	// Invariant: len <= DedupWindowSize; every Time >= Floor.
	Entries []DedupEntry
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

// seen reports whether (inst, id) is in the window: a linear scan from the
// newest entry (a replay is usually recent), comparing the ID first.
func (w *DedupWindow) seen(inst string, id int64) bool {
	k := w.symIndex(inst)
	if k < 0 {
		return false
	}
	sym := uint16(k)
	for i := len(w.Entries) - 1; i >= 0; i-- {
		if e := &w.Entries[i]; e.TradeID == id && e.Sym == sym {
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
	e := DedupEntry{TradeID: id, Time: ts, Sym: uint16(k)}
	n := len(w.Entries)
	i := n
	for i > 0 && w.Entries[i-1].Time > ts { // usually none: venue time grows
		i--
	}
	if i == n {
		w.Entries = append(w.Entries, e)
	} else {
		w.Entries = slices.Insert(w.Entries, i, e)
	}
	floor := w.Floor
	if newest := w.Entries[len(w.Entries)-1].Time; newest-DedupHorizonNanos > floor {
		floor = newest - DedupHorizonNanos
	}
	if len(w.Entries) > DedupWindowSize {
		// Evict the oldest sixteenth at once (amortised), and everything
		// that shares the last evicted time: Floor must rise past it.
		if t := w.Entries[DedupWindowSize/16-1].Time; t+1 > floor {
			floor = t + 1
		}
	}
	if floor == w.Floor {
		return
	}
	w.Floor = floor
	n = 0
	for n < len(w.Entries) && w.Entries[n].Time < floor {
		n++
	}
	if n > 0 {
		w.Entries = slices.Delete(w.Entries, 0, n)
	}
}

// check verifies the window's invariants (CheckInvariants).
func (w *DedupWindow) check() error {
	if len(w.Entries) > DedupWindowSize || len(w.Syms) > maxDedupSyms {
		return fmt.Errorf("dedup window holds %d entries, %d symbols", len(w.Entries), len(w.Syms))
	}
	for i, s := range w.Syms {
		if w.symIndex(s) != i {
			return fmt.Errorf("dedup symbol %q repeated", s)
		}
	}
	for i := range w.Entries {
		if int(w.Entries[i].Sym) >= len(w.Syms) {
			return fmt.Errorf("dedup entry %d: symbol %d of %d", i, w.Entries[i].Sym, len(w.Syms))
		}
	}
	for i := range w.Entries {
		if w.Entries[i].Time < w.Floor || (i > 0 && w.Entries[i].Time < w.Entries[i-1].Time) {
			return fmt.Errorf("dedup entry %d: time %d, floor %d, not ascending or below the floor", i, w.Entries[i].Time, w.Floor)
		}
	}
	return nil
}
