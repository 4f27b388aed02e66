package ingest

import (
	"testing"
	"time"
)

// TestLeadSetNoFalseNegatives: exact up to the bound, a Bloom filter of the same memory
// beyond it; in both every member tests true, and the Bloom filter's false positives
// stay rare at twice the bound.
func TestLeadSetNoFalseNegatives(t *testing.T) {
	const bound = 1000
	for _, n := range []int{0, 1, bound, 2 * bound} {
		ids := make([]int64, n)
		for i := range ids {
			ids[i] = int64(i)*7919 + 13
		}
		s := newLeadSet(ids, bound, time.Now())
		if n <= bound && (s.bloom != nil || len(s.exact) != n) {
			t.Fatalf("n=%d: want the exact set", n)
		}
		if n > bound && (s.exact != nil || len(s.bloom)*8 != bound*8) {
			t.Fatalf("n=%d: want a Bloom filter of %d bytes, got %d", n, bound*8, len(s.bloom)*8)
		}
		for _, id := range ids {
			if !s.has(id) {
				t.Fatalf("n=%d: member %d tests false", n, id)
			}
		}
		fp := 0
		for i := range 100000 {
			if s.has(-int64(i) - 1) {
				fp++
			}
		}
		if n <= bound && fp != 0 || fp > 100 {
			t.Errorf("n=%d: %d false positives in 100000", n, fp)
		}
	}
}

// TestLeadSetCovers: a set decides on a record only when it was learned after the
// record's timestamp plus the skew.
func TestLeadSetCovers(t *testing.T) {
	now := time.Now()
	s := newLeadSet(nil, 10, now)
	if !s.covers(now.Add(-time.Second), 100*time.Millisecond) {
		t.Error("a record older than the set by more than the skew must be decided")
	}
	if s.covers(now.Add(-50*time.Millisecond), 100*time.Millisecond) || s.covers(now.Add(time.Second), 0) {
		t.Error("a record within the skew of the set, or newer, must wait")
	}
	if (&leadSet{}).covers(now.Add(-time.Hour), 0) {
		t.Error("the empty set learned at the zero time decides nothing")
	}
}
