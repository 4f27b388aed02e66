package raftfsm

import (
	"cmp"
	"math"
	"slices"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// The leaderboard: the group's lead traders ranked by one statistic
// (DESIGN.md, "Marks, profit share and stats"). A read: it changes nothing.

// LeaderMetric is what the leaderboard ranks by, highest first.
type LeaderMetric uint8

const (
	LeaderInvalid         LeaderMetric = iota
	LeaderROI                          // realised PnL over the window / equity base, in bps
	LeaderPnL                          // realised PnL over the window
	LeaderWinRate                      // wins / closed positions, in bps (all time)
	LeaderCopierPnL                    // copiers' realised PnL net of fees (all time)
	LeaderAssetsUnderCopy              // Σ allocation of live follows
	LeaderCopiers                      // live follows
	leaderMetricEnd
)

// LeaderRow is one trader's statistics as of the machine's clock.
type LeaderRow struct {
	Rank            int // 1-based position in the board
	Trader          AccountID
	WindowDays      int
	ROIBps          int64     // over the window; 0 without an equity base
	PnL             fixed.Dec // realised over the window
	WinRateBps      int64     // 0 with no closed position
	Wins, Losses    int64
	MaxDrawdownBps  int64
	Copiers         int       // active and paused follows
	AssetsUnderCopy fixed.Dec // Σ their allocations
	CopierPnL       fixed.Dec
}

// Leaderboard returns the top k leading traders (active or paused) of this
// group by metric, ties broken by trader ID ascending. windowDays (1..90;
// the API offers 7, 30 and 90) applies to ROI and PnL and ends today: the
// UTC day of the last applied entry's timestamp, so every replica at the
// same index returns the same board. Invalid arguments return nil. Sums
// that overflow saturate at the Dec range.
func (m *Machine) Leaderboard(metric LeaderMetric, windowDays, k int) []LeaderRow {
	if metric == LeaderInvalid || metric >= leaderMetricEnd || windowDays < 1 || windowDays > maxStatDays || k <= 0 {
		return nil
	}
	today := dayOf(m.now)
	rows := make([]LeaderRow, 0, len(m.traders))
	for _, t := range m.traders {
		if t.leading() {
			rows = append(rows, traderRow(t, today, windowDays))
		}
	}
	slices.SortFunc(rows, func(a, b LeaderRow) int {
		if c := cmp.Compare(b.key(metric), a.key(metric)); c != 0 {
			return c
		}
		return cmp.Compare(a.Trader, b.Trader)
	})
	rows = rows[:min(k, len(rows))]
	for i := range rows {
		rows[i].Rank = i + 1
	}
	return slices.Clip(rows)
}

// TraderStatsRow returns one trader's leaderboard row (Rank 0) over
// windowDays ending today, whether or not it leads.
func (m *Machine) TraderStatsRow(id AccountID, windowDays int) (LeaderRow, bool) {
	t := m.traders[id]
	if t == nil || windowDays < 1 || windowDays > maxStatDays {
		return LeaderRow{}, false
	}
	return traderRow(t, dayOf(m.now), windowDays), true
}

// key is the row's value for metric (all are int64 underneath).
func (r *LeaderRow) key(metric LeaderMetric) int64 {
	switch metric {
	case LeaderROI:
		return r.ROIBps
	case LeaderPnL:
		return int64(r.PnL)
	case LeaderWinRate:
		return r.WinRateBps
	case LeaderCopierPnL:
		return int64(r.CopierPnL)
	case LeaderAssetsUnderCopy:
		return int64(r.AssetsUnderCopy)
	}
	return int64(r.Copiers)
}

// traderRow computes a trader's row for the window of w days ending today.
//
// ROI base: the largest day-end equity among the window's buckets and the
// last bucket before the window (the equity the window started from). The
// largest, not the first, so that a trader cannot rank by a tiny base:
// realised PnL that grew the equity inside the window never divides by less
// than what it had.
func traderRow(t *TraderState, today int64, w int) LeaderRow {
	st := &t.Stats
	r := LeaderRow{
		Trader: t.ID, WindowDays: w, Wins: st.Wins, Losses: st.Losses,
		MaxDrawdownBps: st.MaxDrawdownBps, CopierPnL: st.CopierPnL,
	}
	from := today - int64(w) + 1
	var base fixed.Dec
	for i := len(st.Days) - 1; i >= 0; i-- {
		d := &st.Days[i]
		if d.Day > today {
			continue // only after a clock step back: not yet "today"
		}
		base = max(base, d.Equity)
		if d.Day < from {
			break // the bucket before the window: its equity only
		}
		r.PnL = satAdd(r.PnL, d.RealizedPnL)
	}
	if base > 0 {
		bps, err := fixed.MulDiv(r.PnL, fixed.BpsDenominator, base, fixed.Floor)
		switch {
		case err == nil:
			r.ROIBps = int64(bps)
		case r.PnL > 0:
			r.ROIBps = math.MaxInt64
		default:
			r.ROIBps = math.MinInt64
		}
	}
	if n := st.Wins + st.Losses; n > 0 {
		r.WinRateBps = st.Wins * fixed.BpsDenominator / n // Wins <= n: cannot overflow before 9.2e14 closes
	}
	for _, f := range t.Follows {
		if f.Status == FollowActive || f.Status == FollowPaused {
			r.Copiers++
			r.AssetsUnderCopy = satAdd(r.AssetsUnderCopy, f.Settings.Allocation)
		}
	}
	return r
}

// satAdd is a + b clamped to the Dec range (for reads, never for state).
func satAdd(a, b fixed.Dec) fixed.Dec {
	if s, err := fixed.Add(a, b); err == nil {
		return s
	}
	if b > 0 {
		return fixed.MaxDec
	}
	return fixed.MinDec
}
