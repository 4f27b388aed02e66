package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	gw "github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway/tradinggateway"
	"github.com/copytrade/copytrade/tools/devcluster"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// The population is the dev cluster's (tools/devcluster NewPlan and SeedPlan: the same
// mix of copy modes, leverage, margin and position modes, caps, slippage bands and
// instrument filters), with two changes for measuring: copy stop-losses are off, so
// every copier order comes from a fill the bench sent and can be traced to it; and
// copier wallets are large, so margin never runs out during a long run.

// TraderSpec is one seeded lead trader.
type TraderSpec struct {
	ID         int64
	Instrument string
	// Copiers are the follows' copier account IDs, in seeding order.
	Copiers []int64
}

// Account ID ranges (disjoint, so every figure can be traced to its scenario).
const (
	mainTraderBase   = 1_001       // main workload traders: 1001, 1002, ...
	mainCopierBase   = 1_000_000   // copiers of the main workload, consecutive
	sweepTraderBase  = 9_001       // copiers scenario: one trader per step
	sweepCopierBase  = 500_000_000 // + step × copierStride
	floorAccountBase = 900_000_000 // gateway-floor probe accounts
	copierStride     = 20_000
	seedCallTimeout  = 10 * time.Second
)

var (
	traderBalance = fixed.MustParse("200000")
	copierBalance = fixed.MustParse("1000000")
)

// seedOptions are devcluster's options for one block of traders.
func seedOptions(firstTrader, firstCopier int64, traders, copiers int, seed uint64) devcluster.SeedOptions {
	o := devcluster.DefaultSeedOptions()
	o.Traders, o.CopiersPerTrader = traders, copiers
	o.FirstTrader, o.FirstCopier = firstTrader, firstCopier
	o.Seed = seed
	o.TraderBalance, o.CopierBalance = traderBalance, copierBalance
	return o
}

// seedPlans lays out the main workload (n traders × copiers) and, when sweep is not
// empty, one trader per copier count for the copiers scenario.
func seedPlans(n, copiers int, sweep []int, seed uint64, instruments []*ct.Instrument) ([]*devcluster.Plan, error) {
	var plans []*devcluster.Plan
	p, err := devcluster.NewPlan(seedOptions(mainTraderBase, mainCopierBase, n, copiers, seed), instruments)
	if err != nil {
		return nil, fmt.Errorf("bench: plan: %w", err)
	}
	plans = append(plans, p)
	for i, c := range sweep {
		p, err := devcluster.NewPlan(seedOptions(int64(sweepTraderBase+i), int64(sweepCopierBase+i*copierStride), 1, c, seed+uint64(i)+1), instruments)
		if err != nil {
			return nil, fmt.Errorf("bench: plan: %w", err)
		}
		plans = append(plans, p)
	}
	for _, p := range plans {
		for _, f := range p.Follows {
			f.Settings.StopLossBps, f.Settings.TakeProfitBps = 0, 0
		}
	}
	return plans, nil
}

// specsOf lists a plan's traders, each trading one instrument (in turn).
func specsOf(p *devcluster.Plan, instruments []string, offset int) []TraderSpec {
	byTrader := map[int64][]int64{}
	for _, f := range p.Follows {
		byTrader[f.Trader] = append(byTrader[f.Trader], f.Copier)
	}
	out := make([]TraderSpec, len(p.Traders))
	for i, t := range p.Traders {
		out[i] = TraderSpec{ID: t.Trader, Instrument: instruments[(i+offset)%len(instruments)], Copiers: byTrader[t.Trader]}
	}
	return out
}

// seedPlan creates a plan's one-way copiers' gateway accounts (hedge ones are created
// by the gateway on their first order), then applies it through the router.
func seedPlan(ctx context.Context, cli copytrade.Client, gwc tradinggateway.Client, token string, p *devcluster.Plan) (devcluster.SeedStats, error) {
	var ids []int64
	for c, m := range p.CopierModes {
		if m == ct.PositionMode_ONE_WAY {
			ids = append(ids, c)
		}
	}
	if err := parallelDo(ctx, 64, len(ids), func(ctx context.Context, i int) error {
		req := &gw.CreateAccountRequest{Account: ids[i], Balance: copierBalance.String(), PositionMode: gw.PositionMode_ONE_WAY}
		return retry(ctx, func(ctx context.Context) error { _, err := gwc.CreateAccount(ctx, req); return err })
	}); err != nil {
		return devcluster.SeedStats{}, fmt.Errorf("bench: gateway accounts: %w", err)
	}
	return devcluster.SeedPlan(auth.WithToken(ctx, token), cli, nil, p)
}

// parallelDo runs fn(0..n-1) with at most limit in flight and returns the first error.
func parallelDo(ctx context.Context, limit, n int, fn func(ctx context.Context, i int) error) error {
	errc := make(chan error, n)
	sem := make(chan struct{}, limit)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			errc <- fn(ctx, i)
		}()
	}
	for range limit {
		sem <- struct{}{}
	}
	close(errc)
	for err := range errc {
		if err != nil {
			return err
		}
	}
	return nil
}

// gatewayInstruments are exchsim's instruments as the bench prices fills (the seeded
// instruments are the same: devcluster.InstrumentsOf).
func gatewayInstruments() []exchsim.InstrumentSpec { return exchsim.DefaultInstruments() }

// codeOf is the business code of err, 0 when it is not a business error.
func codeOf(err error) ct.ErrorCode { return convert.CodeOf(err) }

// retry runs fn with a per-call timeout until it succeeds, returns a refusal that is
// not worth retrying, or 20 attempts pass.
func retry(ctx context.Context, fn func(ctx context.Context) error) error {
	var err error
	for attempt := range 20 {
		cctx, cancel := context.WithTimeout(ctx, seedCallTimeout)
		err = fn(cctx)
		cancel()
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(10<<min(attempt, 6)) * time.Millisecond):
		}
	}
	return err
}

// retryable: transport failures and the cluster's transient codes.
func retryable(err error) bool {
	switch codeOf(err) {
	case ct.ErrorCode_NOT_LEADER, ct.ErrorCode_UNAVAILABLE, ct.ErrorCode_DEADLINE, ct.ErrorCode_MOVING,
		ct.ErrorCode_MOVED, ct.ErrorCode_NOT_OWNED, ct.ErrorCode_RATE_LIMITED:
		return true
	case ct.ErrorCode_OK: // not a business error: a transport failure
		return true
	}
	return false
}
