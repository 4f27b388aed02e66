package bench

import (
	"fmt"
	"math"
)

// fastestSustained is the sustained step that acknowledged the most copier orders/s
// (nil: none, or no throughput scenario).
func (t *ThroughputResult) fastestSustained() *LoadResult {
	if t == nil {
		return nil
	}
	var best *LoadResult
	for i := range t.Steps {
		s := &t.Steps[i]
		if s.Sustained && (best == nil || s.OrdersPerS > best.OrdersPerS) {
			best = s
		}
	}
	return best
}

// stepVerdict is one rate of the sweep after its repeat: the attempt that decides it
// (the repeat when the first try failed) and whether it held.
type stepVerdict struct {
	rate      float64
	sustained bool
	decisive  LoadResult
}

// verdicts folds the steps (in the order run, a failed try followed by its repeat at the
// same rate) into one verdict per rate: sustained if either try was.
func verdicts(steps []LoadResult) []stepVerdict {
	var out []stepVerdict
	for _, s := range steps {
		if n := len(out); n > 0 && out[n-1].rate == s.TargetRate {
			if s.Sustained || !out[n-1].sustained {
				out[n-1].sustained, out[n-1].decisive = s.Sustained, s
			}
			continue
		}
		out = append(out, stepVerdict{rate: s.TargetRate, sustained: s.Sustained, decisive: s})
	}
	return out
}

// crossingRate is the copier orders/s at which P99 crosses budgetMs: between the
// fastest sustained rate and the rate after it (unsustained), P99 is interpolated
// linearly against the copier orders/s each acknowledged. When the step after it did
// not acknowledge more orders/s (the cluster saturated) or failed for another reason
// than P99 (backlog, errors), the crossing is the sustained step's own rate. 0 when the
// sweep brackets no crossing (nothing sustained, or nothing failed after it).
func crossingRate(steps []LoadResult, budgetMs float64) float64 {
	v := verdicts(steps)
	best := -1
	for i, s := range v {
		if s.sustained && (best < 0 || s.decisive.OrdersPerS > v[best].decisive.OrdersPerS) {
			best = i
		}
	}
	if best < 0 || best+1 >= len(v) || v[best+1].sustained {
		return 0
	}
	a, b := v[best].decisive, v[best+1].decisive
	xa, ya := a.OrdersPerS, a.Latency.P99
	xb, yb := b.OrdersPerS, b.Latency.P99
	if xb <= xa || yb <= budgetMs || yb <= ya {
		return xa
	}
	x := xa + (budgetMs-ya)/(yb-ya)*(xb-xa)
	return math.Min(math.Max(x, xa), xb)
}

func crossingText(v float64) string {
	if v <= 0 {
		return "na (not bracketed)"
	}
	return fmt.Sprintf("%.0f", v)
}

// cpuFit fits the copytrade processes' cores used against the copier orders/s of the
// steps that measured CPU, by least squares: cores = fixed + orders/s × marginal. The
// marginal cost is what one more copier order costs; the fixed part is what the cluster
// burns at any load (heartbeats, the floor's no-op commits, per-commit fsync work that
// batching amortises as the rate grows). ok is false with fewer than two distinct
// rates.
func cpuFit(steps []LoadResult) (marginalUs, fixedCores float64, ok bool) {
	var n, sx, sy, sxx, sxy float64
	for _, s := range steps {
		if s.CPU == nil || !(s.CPU.OrdersPerS > 0) {
			continue
		}
		x := s.CPU.OrdersPerS
		y := s.CPU.Copytrade * x / 1e6 // µs per order × orders/s = cores
		n++
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	d := n*sxx - sx*sx
	if n < 2 || d <= 1e-9*sxx {
		return 0, 0, false
	}
	slope := (n*sxy - sx*sy) / d
	return slope * 1e6, (sy - slope*sx) / n, true
}
