package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	gw "github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

// latency: light load, one fill in flight, across the main workload's traders.
func (r *runner) latency(ctx context.Context, gens []*traderGen) (*LoadResult, error) {
	out, err := r.runPhase(ctx, phase{name: ScenarioLatency, gens: gens, rate: r.cfg.LatencyRate, inflight: 1,
		warmup: r.cfg.Warmup, measure: r.cfg.Duration, copiers: r.cfg.Copiers})
	if err != nil {
		return nil, err
	}
	return &out.result, nil
}

// throughput steps the rate up by StepFactor until two rates in a row are not
// sustained (P99 over the budget, a growing backlog, or errors). A rate whose step is
// not sustained is run once more before it counts as failed: one stall of the shared
// machine must not end the sweep. It reports the highest copier orders/s a sustained
// step acknowledged and the rate at which P99 crosses the budget.
func (r *runner) throughput(ctx context.Context, gens []*traderGen) (*ThroughputResult, error) {
	return sweepRates(r.cfg, func(name string, rate float64) (LoadResult, error) {
		out, err := r.runPhase(ctx, phase{name: name, gens: gens, rate: rate,
			inflight: r.cfg.Inflight, warmup: r.cfg.StepDuration / 4, measure: r.cfg.StepDuration * 3 / 4,
			copiers: r.cfg.Copiers})
		if err != nil {
			return LoadResult{}, err
		}
		r.log.Info("throughput step", "step", name, "rate", rate, "orders_per_s", out.result.OrdersPerS,
			"p99_ms", out.result.Latency.P99, "sustained", out.result.Sustained)
		return out.result, nil
	})
}

// sweepRates is the throughput sweep over run, which measures one step.
func sweepRates(cfg *Config, run func(name string, rate float64) (LoadResult, error)) (*ThroughputResult, error) {
	res := &ThroughputResult{BudgetMs: Millis(cfg.P99Budget)}
	rate := cfg.ThroughputStart
	failed := 0
	for i := range cfg.MaxSteps {
		var s LoadResult
		for try := 1; try <= 2; try++ {
			name := fmt.Sprintf("throughput#%d", i+1)
			if try == 2 {
				name += " again"
				res.Repeats++
			}
			var err error
			if s, err = run(name, rate); err != nil {
				return res, err
			}
			res.Steps = append(res.Steps, s)
			if s.Sustained {
				break
			}
		}
		if s.Sustained {
			failed = 0
			res.MaxOrdersPerS = max(res.MaxOrdersPerS, s.OrdersPerS)
		} else if failed++; failed == 2 {
			break
		}
		rate *= cfg.StepFactor
	}
	res.CrossingOrdersPerS = r3(crossingRate(res.Steps, res.BudgetMs))
	if m, f, ok := cpuFit(res.Steps); ok {
		m, f = r3(m), r3(f)
		res.MarginalCPUUsPerOrder, res.FixedCores = &m, &f
	}
	return res, nil
}

// copiers runs one phase per copier count, each on its own trader.
func (r *runner) copiers(ctx context.Context, gens []*traderGen) (*CopiersResult, error) {
	res := &CopiersResult{}
	for i, g := range gens {
		out, err := r.runPhase(ctx, phase{name: fmt.Sprintf("copiers=%d", len(g.spec.Copiers)), gens: gens[i : i+1],
			rate: r.cfg.CopierRate, inflight: 1, warmup: min(r.cfg.Warmup, time.Second), measure: r.cfg.CopierStepDuration,
			copiers: len(g.spec.Copiers)})
		if err != nil {
			return res, err
		}
		res.Steps = append(res.Steps, out.result)
	}
	return res, nil
}

// failover runs the main workload, SIGKILLs group 1's leader a third into the measured
// window, then waits for the pending orders to drain and checks every client order ID
// the cluster assigned during the phase at the gateway.
func (r *runner) failover(ctx context.Context, gens []*traderGen) (*FailoverResult, error) {
	res := &FailoverResult{FailoverMs: -1}
	base := map[int64]int64{}
	for _, g := range gens {
		if g.uncertain == 0 {
			base[g.spec.ID] = g.planned
		}
	}
	var killAt time.Time
	group := r.cluster.Groups[0].ID
	measure := max(r.cfg.Duration/2, 9*time.Second)
	during := func(ctx context.Context) {
		select {
		case <-time.After(measure / 3):
		case <-ctx.Done():
			return
		}
		st, err := r.groupStatus(ctx, group)
		if err != nil {
			r.log.Error("failover: no group status; nothing killed", "err", err)
			return
		}
		n := r.cluster.NodeByID(group, st.GetLeaderId())
		if n == nil || n.Proc == nil {
			r.log.Error("failover: leader unknown; nothing killed", "leader", st.GetLeaderId())
			return
		}
		res.KilledNode = n.ID
		killAt = time.Now()
		n.Proc.Kill()
		r.log.Info("failover: killed the leader", "node", n.ID, "pid", n.Proc.Pid())
	}
	out, err := r.runPhase(ctx, phase{name: ScenarioFailover, gens: gens, rate: r.cfg.Rate, inflight: r.cfg.Inflight,
		warmup: r.cfg.Warmup, measure: measure, copiers: r.cfg.Copiers, track: true, during: during})
	if err != nil {
		return nil, err
	}
	res.Load = out.result
	if killAt.IsZero() {
		return res, fmt.Errorf("bench: failover: the leader was not killed (see the log)")
	}
	first := time.Time{}
	for _, fills := range out.fills {
		for _, f := range fills {
			if f.code == ct.ErrorCode_OK && f.placed > 0 && f.answered.After(killAt) && (first.IsZero() || f.answered.Before(first)) {
				first = f.answered
			}
		}
	}
	if !first.IsZero() {
		res.FailoverMs = r3(Millis(first.Sub(killAt)))
	}
	if st, err := r.groupStatus(ctx, group); err == nil {
		res.NewLeader = st.GetLeaderId()
	}
	// Drain: every pending order answered (the new leader reconciles what the old one
	// had in flight).
	t0 := time.Now()
	for time.Since(t0) < 20*time.Second {
		st, err := r.groupStatus(ctx, group)
		if err == nil && st.GetPendingOrders() == 0 {
			break
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	res.DrainMs = r3(Millis(time.Since(t0)))
	for _, g := range gens {
		b, ok := base[g.spec.ID]
		if !ok {
			res.Unverifiable += int64(len(out.fills[g.spec.ID]))
			continue
		}
		if err := r.checkIDs(ctx, g, b, out.fills[g.spec.ID], res); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (r *runner) groupStatus(ctx context.Context, group uint32) (*ct.GroupStatusResponse, error) {
	cctx, cancel := context.WithTimeout(router.WithGroup(auth.WithToken(ctx, r.cluster.AdminToken), group), 3*time.Second)
	defer cancel()
	return r.ct.GroupStatus(cctx, &ct.GroupStatusRequest{})
}

// checkIDs looks up, at the gateway, every client order ID trader g was assigned
// after base (c<trader base36>-<seq base36>, seq counting up from 1 per trader): an ID
// in the range the answers account for that the gateway never saw is lost, a count
// above one is a duplicate. A fill the cluster accepted whose IDs all came back 0 was
// accepted but never copied. The range of an ambiguous fill (DUPLICATE_FILL or a
// failure: its planned count is not in any answer) is what the others leave over;
// with more than one such fill per trader the fills cannot be told apart.
func (r *runner) checkIDs(ctx context.Context, g *traderGen, base int64, fills []tracked, res *FailoverResult) error {
	var known int64
	uncertain := 0
	for _, f := range fills {
		switch {
		case f.code == ct.ErrorCode_OK:
			known += int64(f.planned)
		case f.code >= 1000 && f.code < 2000 && f.code != ct.ErrorCode_DUPLICATE_FILL:
		default:
			uncertain++
		}
	}
	n := known + int64(uncertain)*int64(len(g.spec.Copiers)) + 16
	counts := make([]int64, n+1) // by seq; [0] unused
	prefix := "c" + strconv.FormatInt(g.spec.ID, 36) + "-"
	for from := int64(1); from <= n; from += 5000 {
		to := min(from+4999, n)
		req := &gw.OrderCountsRequest{}
		for s := from; s <= to; s++ {
			req.ClientOrderIds = append(req.ClientOrderIds, prefix+strconv.FormatInt(base+s, 36))
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := r.gw.OrderCounts(cctx, req)
		cancel()
		if err != nil {
			return fmt.Errorf("bench: OrderCounts of trader %d: %w", g.spec.ID, err)
		}
		copy(counts[from:], resp.GetCounts())
	}
	var maxSeen int64
	for s := int64(1); s <= n; s++ {
		if counts[s] > 0 {
			maxSeen = s
		}
		if counts[s] > 1 {
			res.Dup += counts[s] - 1
		}
	}
	upto := max(maxSeen, known)
	res.IDsChecked += n
	for s := int64(1); s <= upto; s++ {
		if counts[s] == 0 {
			res.Lost++
		}
	}
	if uncertain > 1 {
		for _, f := range fills {
			if f.code == ct.ErrorCode_OK || f.code == ct.ErrorCode_DUPLICATE_FILL {
				res.Unverifiable++
			}
		}
		return nil
	}
	cursor := int64(1)
	for _, f := range fills {
		var planned int64
		accepted := false
		switch {
		case f.code == ct.ErrorCode_OK:
			planned, accepted = int64(f.planned), true
		case f.code >= 1000 && f.code < 2000 && f.code != ct.ErrorCode_DUPLICATE_FILL:
		default:
			planned = upto - known
			accepted = f.code == ct.ErrorCode_DUPLICATE_FILL || planned > 0
		}
		if accepted && planned > 0 {
			seen := false
			for s := cursor; s < cursor+planned && s <= n; s++ {
				seen = seen || counts[s] > 0
			}
			if !seen {
				res.AcceptedNotCopied++
			}
		}
		cursor += planned
	}
	return nil
}
