package raftfsm

import (
	"fmt"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Trader statistics for the leaderboard, kept from the trader's own fills
// (DESIGN.md, "Marks, profit share and stats"). Statistics never refuse a
// command: an overflowing update is skipped.

const (
	nanosPerDay = 86_400 * 1_000_000_000
	// maxStatDays is the number of daily buckets kept per trader: the
	// longest leaderboard window.
	maxStatDays = 90
)

// dayOf is the UTC day (days since the Unix epoch, rounded toward −inf) of
// a timestamp in nanoseconds.
func dayOf(ns int64) int64 {
	d := ns / nanosPerDay
	if ns%nanosPerDay < 0 {
		d--
	}
	return d
}

// onTraderFill updates the trader's statistics for fill c, decomposed in s.
// It runs once the fill is committed, after the trader's equity is updated
// and before its positions are replaced by after (legs' result, which it
// may update: a partly closed position carries its realised PnL so far).
//
// The shrink leg realises exit value − released entry cost (legs,
// costbasis.go), less the fill's fee. A position closed to flat is a win if
// its realised PnL over its whole life is > 0, else a loss. The day's bucket adds the
// realised PnL and takes the trader's equity; a fill that reports equity
// updates the peak and the maximum drawdown.
func (m *Machine) onTraderFill(t *TraderState, c *TradeFill, s *signal, after []TraderPosition) {
	st := &t.Stats
	// The fee is the trader's cost of the whole fill: it is charged to the
	// shrink leg's position when there is one, else to the position the fill
	// grows (its whole-life PnL decides win or loss), and to the day.
	gain := addOrKeep(s.gain, -c.Fee) // fee >= 0
	if (s.shrinkSide == 0 || s.flatOnly) && c.Fee > 0 {
		for k := range after {
			if a := &after[k]; a.Instrument == c.Instrument && a.Side == s.growSide {
				a.Realized = addOrKeep(a.Realized, -c.Fee)
			}
		}
	}
	if s.shrinkSide != 0 && !s.flatOnly {
		for k := range after {
			a := &after[k]
			if a.Instrument != c.Instrument || a.Side != s.shrinkSide {
				continue
			}
			life := addOrKeep(a.Realized, gain)
			if a.Qty == 0 {
				if life > 0 {
					st.Wins++
				} else {
					st.Losses++
				}
				a.Realized = 0
			} else {
				a.Realized = life
			}
		}
	}
	t.addDay(dayOf(m.now), gain)
	if eq := c.Equity; eq > 0 {
		if eq >= st.PeakEquity {
			st.PeakEquity = eq
		} else {
			// Raw units: (peak − eq) × 10000 / peak is the drawdown in bps,
			// in 0..10000.
			dd, err := fixed.MulDiv(st.PeakEquity-eq, fixed.BpsDenominator, st.PeakEquity, fixed.Down)
			if err == nil && int64(dd) > st.MaxDrawdownBps {
				st.MaxDrawdownBps = int64(dd)
			}
		}
	}
}

// addDay adds realised PnL to day's bucket and sets its equity to the
// trader's. A timestamp before the last bucket's day (a leader whose clock
// is behind its predecessor's) counts to the last bucket: buckets stay
// ascending. Beyond maxStatDays buckets the oldest is dropped.
func (t *TraderState) addDay(day int64, gain fixed.Dec) {
	days := t.Stats.Days
	if n := len(days); n > 0 && days[n-1].Day >= day {
		b := &days[n-1]
		b.RealizedPnL = addOrKeep(b.RealizedPnL, gain)
		b.Equity = t.Equity
		return
	}
	if len(days) >= maxStatDays {
		days = append(days[:0], days[len(days)-maxStatDays+1:]...)
	}
	t.Stats.Days = append(days, DayStat{Day: day, RealizedPnL: gain, Equity: t.Equity})
}

// addOrKeep is a + b, or a when that overflows (a statistic skips the
// update).
func addOrKeep(a, b fixed.Dec) fixed.Dec {
	if s, err := fixed.Add(a, b); err == nil {
		return s
	}
	return a
}

// checkStats verifies every trader's statistics (called by
// CheckInvariants): at most maxStatDays buckets in strictly ascending day
// order, counts >= 0, drawdown within 0..10000 bps.
func (m *Machine) checkStats() error {
	for id, t := range m.traders {
		st := &t.Stats
		if len(st.Days) > maxStatDays || st.Wins < 0 || st.Losses < 0 ||
			st.MaxDrawdownBps < 0 || st.MaxDrawdownBps > fixed.BpsDenominator || st.PeakEquity < 0 {
			return fmt.Errorf("trader %d: stats %d days, %d/%d, drawdown %d, peak %s",
				id, len(st.Days), st.Wins, st.Losses, st.MaxDrawdownBps, st.PeakEquity)
		}
		for i := 1; i < len(st.Days); i++ {
			if st.Days[i-1].Day >= st.Days[i].Day {
				return fmt.Errorf("trader %d: day buckets not ascending at %d", id, i)
			}
		}
	}
	return nil
}
