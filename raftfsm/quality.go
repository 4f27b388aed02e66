package raftfsm

import (
	"cmp"
	"slices"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Copy quality (DESIGN.md, "Copy quality"): how closely copies of a trader
// track it, from the activity history. Per copied order of a signal (Origin
// TradeFill, filled):
//
//   - latency: the copier order's venue execution time (OrderResultsTimed)
//     minus the trader's fill's venue event time;
//   - slippage: the copier's average price against the trader's fill price,
//     in hundredths of a bp, signed so that worse for the copier is positive
//     (a buy above, a sell below the trader's price).
//
// Per follow or per trader over a window: count, P50/P99 latency, mean and
// P90 slippage, and the fill ratio (filled qty / ordered qty of every copied
// order that has its final result). The window is bounded by the history's
// retention: the records kept per follow are what is measured.

// OrderResultsTimed is OrderResults with each result's VenueTimeUnixNano: the
// leader's batcher proposes it when the gateway reported the times.
type OrderResultsTimed struct{ Results []OrderResult }

func (OrderResultsTimed) Op() Op { return OpOrderResultsTimed }

// Quality is the copy quality of a set of copied orders.
type Quality struct {
	Orders        int   // copied orders with a final result
	Filled        int   // of which filled something
	Timed         int   // of which have both venue times (latency samples)
	LatencyP50    int64 // nanoseconds; 0 without samples
	LatencyP99    int64
	SlippageMean  int64 // hundredths of a bp, worse for the copier positive
	SlippageP90   int64
	FillRatioBps  int64 // Σ filled / Σ ordered, bps
	orderedQty    fixed.Sum
	filledQty     fixed.Sum
	latencies     []int64
	slippages     []int64
	slippageTotal int64
}

// add counts one record (orders of signals with a final result only).
func (q *Quality) add(r *actRec) {
	if r.Kind != ActivityOrder || r.Origin != OpTradeFill || r.Status == ActPending || r.Status == ActQuarantined {
		return
	}
	q.Orders++
	q.orderedQty.Add(r.Qty)
	if r.FilledQty <= 0 {
		return
	}
	q.Filled++
	q.filledQty.Add(r.FilledQty)
	if r.SignalTime > 0 && r.VenueTime > 0 {
		q.Timed++
		q.latencies = append(q.latencies, r.VenueTime-r.SignalTime)
	}
	if r.SignalPrice > 0 && r.AvgPrice > 0 {
		diff := r.AvgPrice - r.SignalPrice // both > 0: cannot overflow
		if r.Side == Sell {
			diff = -diff
		}
		// diff × 10^6 / price: hundredths of a bp, 128-bit intermediate.
		if s, err := fixed.MulDiv(diff, fixed.Dec(1_000_000), r.SignalPrice, fixed.HalfEven); err == nil {
			q.slippages = append(q.slippages, s.Units())
			q.slippageTotal += s.Units()
		}
	}
}

// finish computes the percentiles and ratios.
func (q *Quality) finish() {
	if n := len(q.latencies); n > 0 {
		slices.Sort(q.latencies)
		q.LatencyP50, q.LatencyP99 = nearestRank(q.latencies, 50), nearestRank(q.latencies, 99)
	}
	if n := len(q.slippages); n > 0 {
		slices.Sort(q.slippages)
		q.SlippageMean = q.slippageTotal / int64(n)
		q.SlippageP90 = nearestRank(q.slippages, 90)
	}
	ordered, err1 := q.orderedQty.Result()
	filled, err2 := q.filledQty.Result()
	if err1 == nil && err2 == nil && ordered > 0 {
		if r, err := fixed.MulDiv(filled, fixed.Dec(fixed.BpsDenominator), ordered, fixed.Down); err == nil {
			q.FillRatioBps = r.Units()
		}
	}
	q.latencies, q.slippages = nil, nil
}

// nearestRank is the p-th percentile of sorted v by the nearest-rank method.
func nearestRank(v []int64, p int) int64 {
	k := (p*len(v) + 99) / 100 // ceil(p/100 × n), 1-based
	return v[max(k, 1)-1]
}

// FollowQuality is one follow's copy quality.
type FollowQuality struct {
	Copier AccountID
	Quality
}

// CopyQuality is the quality of a trader's copies over the window ending at
// the machine's clock: the trader's whole (every copier) and, when copier is
// 0, each follow's; else that copier's alone.
func (m *Machine) CopyQuality(trader, copier AccountID, windowNanos int64) (all Quality, follows []FollowQuality) {
	since := max(m.now-windowNanos, m.now-m.keepNanos())
	per := func(c AccountID, l *activityLog) {
		fq := FollowQuality{Copier: c}
		for i := range l.len() {
			if r := l.at(i); r.Time >= since {
				all.add(r)
				fq.add(r)
			}
		}
		fq.finish()
		if fq.Orders > 0 {
			follows = append(follows, fq)
		}
	}
	if copier != 0 {
		if l := m.activity[copier][trader]; l != nil {
			per(copier, l)
		}
	} else {
		for c, byTrader := range m.activity {
			if l := byTrader[trader]; l != nil {
				per(c, l)
			}
		}
	}
	all.finish()
	slices.SortFunc(follows, func(a, b FollowQuality) int { return cmp.Compare(a.Copier, b.Copier) })
	return all, follows
}

func (e *encoder) orderResultsTimed(c *OrderResultsTimed) {
	e.orderResults(&OrderResults{Results: c.Results})
	for i := range c.Results {
		e.varint(c.Results[i].VenueTimeUnixNano)
	}
}

func (d *decoder) orderResultsTimed() *OrderResultsTimed {
	rs := d.orderResults()
	if d.err != nil {
		return nil
	}
	for i := range rs.Results {
		rs.Results[i].VenueTimeUnixNano = d.varint("Results.VenueTimeUnixNano")
	}
	return &OrderResultsTimed{Results: rs.Results}
}

// CopyQualities is CopyQuality's whole-trader figure for several traders in one
// pass over the history (the leaderboard's rows).
func (m *Machine) CopyQualities(traders []AccountID, windowNanos int64) map[AccountID]Quality {
	since := max(m.now-windowNanos, m.now-m.keepNanos())
	acc := make(map[AccountID]*Quality, len(traders))
	for _, t := range traders {
		acc[t] = &Quality{}
	}
	for _, byTrader := range m.activity {
		for t, l := range byTrader {
			q := acc[t]
			if q == nil {
				continue
			}
			for i := range l.len() {
				if r := l.at(i); r.Time >= since {
					q.add(r)
				}
			}
		}
	}
	out := make(map[AccountID]Quality, len(acc))
	for t, q := range acc {
		q.finish()
		out[t] = *q
	}
	return out
}
