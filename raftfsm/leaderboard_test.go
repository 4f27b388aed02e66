package raftfsm

import (
	"math"
	"testing"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

func TestDayOf(t *testing.T) {
	for _, c := range []struct{ ns, day int64 }{
		{0, 0}, {nanosPerDay - 1, 0}, {nanosPerDay, 1}, {-1, -1}, {-nanosPerDay, -1}, {-nanosPerDay - 1, -2},
		{1_700_000_000_000_000_000, 19675},
	} {
		if got := dayOf(c.ns); got != c.day {
			t.Errorf("dayOf(%d) = %d, want %d", c.ns, got, c.day)
		}
	}
}

// TestDayBuckets: one bucket per day, ascending, at most maxStatDays (the
// oldest go first); a clock behind the last bucket adds to the last bucket.
func TestDayBuckets(t *testing.T) {
	tr := &TraderState{Equity: 5 * fixed.One}
	for d := int64(100); d < 100+maxStatDays+10; d++ {
		tr.addDay(d, fixed.One)
		tr.addDay(d, fixed.One) // same day: adds
	}
	days := tr.Stats.Days
	if len(days) != maxStatDays || days[0].Day != 110 || days[len(days)-1].Day != 100+maxStatDays+9 {
		t.Fatalf("%d buckets, days %d..%d", len(days), days[0].Day, days[len(days)-1].Day)
	}
	for _, d := range days {
		if d.RealizedPnL != 2*fixed.One || d.Equity != 5*fixed.One {
			t.Fatalf("bucket %+v", d)
		}
	}
	last := days[len(days)-1].Day
	tr.addDay(last-5, fixed.One) // a leader whose clock is behind
	if n := len(tr.Stats.Days); n != maxStatDays || tr.Stats.Days[n-1].RealizedPnL != 3*fixed.One {
		t.Fatalf("clock step back: %+v", tr.Stats.Days[n-1])
	}
	tr.addDay(last+1, fixed.MaxDec)
	tr.addDay(last+1, fixed.One) // overflow: the bucket keeps its value
	if b := tr.Stats.Days[len(tr.Stats.Days)-1]; b.RealizedPnL != fixed.MaxDec {
		t.Fatalf("overflow: %+v", b)
	}
}

// TestLeaderboardArgs: invalid arguments return nothing; k larger than the
// board returns the whole board; ROI saturates instead of overflowing.
func TestLeaderboardArgs(t *testing.T) {
	m := New()
	m.now = 10 * nanosPerDay
	for id := AccountID(1); id <= 3; id++ {
		m.traders[id] = &TraderState{ID: id, Status: TraderActive}
	}
	m.traders[2].Stats.Days = []DayStat{{Day: 10, RealizedPnL: fixed.MaxDec, Equity: 1}}
	m.traders[3].Stats.Days = []DayStat{{Day: 10, RealizedPnL: fixed.MinDec, Equity: 1}}
	for _, c := range []struct {
		metric LeaderMetric
		w, k   int
	}{{LeaderInvalid, 7, 3}, {leaderMetricEnd, 7, 3}, {LeaderROI, 0, 3}, {LeaderROI, 91, 3}, {LeaderROI, 7, 0}} {
		if rows := m.Leaderboard(c.metric, c.w, c.k); rows != nil {
			t.Fatalf("%+v: %v", c, rows)
		}
	}
	rows := m.Leaderboard(LeaderROI, 7, 100)
	if len(rows) != 3 || rows[0].Trader != 2 || rows[0].ROIBps != math.MaxInt64 || rows[1].Trader != 1 ||
		rows[2].Trader != 3 || rows[2].ROIBps != math.MinInt64 || rows[2].Rank != 3 {
		t.Fatalf("%+v", rows)
	}
	if _, ok := m.TraderStatsRow(9, 7); ok {
		t.Fatal("row for an unknown trader")
	}
}
