package devcluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/rpc/auth"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// SeedOptions shapes the demo population. Start from DefaultSeedOptions.
type SeedOptions struct {
	// Traders is the number of lead traders; their account IDs are FirstTrader,
	// FirstTrader+1, ...
	Traders int
	// CopiersPerTrader is how many copiers follow each trader; copier accounts are
	// distinct, numbered from FirstCopier.
	CopiersPerTrader int
	// FirstTrader is the first trader's account ID (> 0).
	FirstTrader int64
	// FirstCopier is the first copier's account ID; it must leave room for the traders.
	FirstCopier int64
	// Seed makes the follows' settings: the same seed gives the same population.
	Seed uint64
	// Concurrency bounds the RPCs in flight while seeding (Follow calls go in parallel;
	// each is one raft commit, and the leader batches concurrent commits).
	Concurrency int
	// TraderBalance is each trader's exchsim wallet; copy sizing in PROPORTIONAL mode
	// divides by the trader's equity, so it sets the proportional copiers' order sizes.
	TraderBalance fixed.Dec
	// CopierBalance is each copier's exchsim wallet.
	CopierBalance fixed.Dec
}

// DefaultSeedOptions is the dev population: 20 traders × 500 copiers.
func DefaultSeedOptions() SeedOptions {
	return SeedOptions{
		Traders: 20, CopiersPerTrader: 500, FirstTrader: 1, FirstCopier: 100_001, Seed: 1, Concurrency: 256,
		TraderBalance: fixed.MustParse("200000"), CopierBalance: fixed.MustParse("50000"),
	}
}

// Validate returns nil or an error naming every problem.
func (o *SeedOptions) Validate() error {
	var errs []error
	if o.Traders < 1 || o.Traders > 10_000 {
		errs = append(errs, fmt.Errorf("devcluster: Traders must be in 1..10000, got %d", o.Traders))
	}
	if o.CopiersPerTrader < 0 || o.CopiersPerTrader > 20_000 {
		errs = append(errs, fmt.Errorf("devcluster: CopiersPerTrader must be in 0..20000, got %d", o.CopiersPerTrader))
	}
	if o.FirstTrader < 1 || o.FirstCopier < o.FirstTrader+int64(o.Traders) {
		errs = append(errs, fmt.Errorf("devcluster: FirstTrader must be > 0 and FirstCopier above the last trader"))
	}
	if o.Concurrency < 1 || o.Concurrency > 1024 {
		errs = append(errs, fmt.Errorf("devcluster: Concurrency must be in 1..1024, got %d", o.Concurrency))
	}
	if o.TraderBalance <= 0 || o.CopierBalance <= 0 {
		errs = append(errs, fmt.Errorf("devcluster: TraderBalance and CopierBalance must be > 0"))
	}
	return errors.Join(errs...)
}

// Plan is a whole demo population as CopyTrade requests, computed without any I/O.
type Plan struct {
	Instruments []*ct.Instrument
	Rules       *ct.EligibilityRules
	Traders     []*ct.ApplyTraderRequest
	Follows     []*ct.FollowRequest
	// CopierModes is each copier's position mode, for its exchsim account.
	CopierModes map[int64]ct.PositionMode
	Options     SeedOptions
}

// TraderIDs are the plan's traders' account IDs.
func (p *Plan) TraderIDs() []int64 {
	out := make([]int64, len(p.Traders))
	for i, t := range p.Traders {
		out[i] = t.Trader
	}
	return out
}

// InstrumentsOf converts exchsim's instrument specs to CopyTrade instruments, so both
// sides list the same grids.
func InstrumentsOf(specs []exchsim.InstrumentSpec) []*ct.Instrument {
	out := make([]*ct.Instrument, len(specs))
	for i, s := range specs {
		out[i] = &ct.Instrument{Symbol: s.Symbol, LotStep: s.LotStep.String(), TickSize: s.TickSize.String(),
			MinQty: s.MinQty.String(), MinNotional: s.MinNotional.String(), MaxLeverage: min(s.MaxLeverage, 200),
			PriceBandBps: devPriceBandBps}
	}
	return out
}

// devPriceBandBps is the price band of the dev cluster's instruments: a lead fill
// priced more than 10 % from the mark is refused as implausible (design §3).
const devPriceBandBps = 1000

// NewPlan makes the population for opts over instruments (see InstrumentsOf). The mix
// of follow settings, drawn from opts.Seed:
//
//	copy mode      40% fixed amount (margin 20..200), 30% multiplier (0.05..1),
//	               30% proportional (allocation / trader equity)
//	allocation     1,000..20,000
//	leverage       70% follow the trader, 30% fixed 2..20
//	margin mode    60% follow the trader, 20% force cross, 20% force isolated
//	position mode  70% hedge, 30% one-way (the copier's exchsim account matches)
//	caps           20% a per-order notional cap of 500, 10% a per-follow cap of 3,000
//	slippage       25% an IOC band of 1..30 bps around the trader's price (opens)
//	instruments    15% copy only the first instrument
//	stop-loss      10% at 20% of the allocation
func NewPlan(opts SeedOptions, instruments []*ct.Instrument) (*Plan, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if len(instruments) == 0 {
		return nil, errors.New("devcluster: a plan needs at least one instrument")
	}
	p := &Plan{
		Instruments: instruments,
		Rules:       &ct.EligibilityRules{MinWinRateBps: 4000, MinRoiBps: 0, MinClosedTrades: 20, MinEquity: "1000"},
		CopierModes: make(map[int64]ct.PositionMode, opts.Traders*opts.CopiersPerTrader),
		Options:     opts,
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 0xC0B1E5))
	maxCopiers := int32(0) // the default cap, 500
	if opts.CopiersPerTrader > 500 {
		maxCopiers = int32(opts.CopiersPerTrader)
	}
	for i := range opts.Traders {
		p.Traders = append(p.Traders, &ct.ApplyTraderRequest{
			Trader: opts.FirstTrader + int64(i),
			Stats: &ct.ApplicantStats{WinRateBps: 5000 + rng.Int64N(2500), RoiBps: 500 + rng.Int64N(5000),
				ClosedTrades: 50 + rng.Int64N(500), Equity: opts.TraderBalance.String()},
			Config: &ct.TraderConfig{ProfitShareBps: 500 + 100*rng.Int64N(16), MaxCopiers: maxCopiers,
				LiquidationPolicy: ct.LiqPolicy_CLOSE},
		})
	}
	copier := opts.FirstCopier
	for _, t := range p.Traders {
		for range opts.CopiersPerTrader {
			s := followSettings(rng, instruments)
			p.CopierModes[copier] = s.PositionMode
			p.Follows = append(p.Follows, &ct.FollowRequest{Trader: t.Trader, Copier: copier, Settings: s})
			copier++
		}
	}
	return p, nil
}

// followSettings draws one follow's settings (see NewPlan for the mix).
func followSettings(rng *rand.Rand, instruments []*ct.Instrument) *ct.FollowSettings {
	s := &ct.FollowSettings{
		Allocation:     strconv.FormatInt(1000+rng.Int64N(19_001), 10),
		LeveragePolicy: ct.LeveragePolicy_FOLLOW_TRADER, MarginPolicy: ct.MarginPolicy_FOLLOW_TRADER,
		PositionMode: ct.PositionMode_HEDGE, AccountMode: ct.AccountMode_DEFAULT,
	}
	switch r := rng.IntN(10); {
	case r < 4:
		s.Mode, s.FixedMargin = ct.CopyMode_FIXED_AMOUNT, strconv.FormatInt(20+rng.Int64N(181), 10)
	case r < 7:
		s.Mode, s.Multiplier = ct.CopyMode_MULTIPLIER, "0."+fmt.Sprintf("%02d", 5+rng.IntN(95))
	default:
		s.Mode = ct.CopyMode_PROPORTIONAL
	}
	if rng.IntN(10) < 3 {
		s.LeveragePolicy, s.Leverage = ct.LeveragePolicy_FIXED, int32(2+rng.IntN(19))
	}
	switch r := rng.IntN(10); {
	case r < 2:
		s.MarginPolicy = ct.MarginPolicy_FORCE_CROSS
	case r < 4:
		s.MarginPolicy = ct.MarginPolicy_FORCE_ISOLATED
	}
	if rng.IntN(10) < 3 {
		s.PositionMode = ct.PositionMode_ONE_WAY
	}
	if rng.IntN(10) < 2 {
		s.MaxOrderNotional = "500"
	}
	if rng.IntN(10) < 1 {
		s.MaxFollowNotional = "3000"
	}
	if rng.IntN(4) == 0 {
		s.SlippageBps = 1 + rng.Int64N(30)
	}
	if rng.IntN(100) < 15 {
		s.Instruments = []string{instruments[0].Symbol}
	}
	if rng.IntN(10) == 0 {
		s.StopLossBps = 2000
	}
	return s
}

// SeedStats counts what SeedPlan did.
type SeedStats struct {
	Instruments, Traders, Follows int // applied now
	Existing                      int // already there (a re-run on the same data dir)
}

// SeedPlan applies p through cli with an admin token in ctx: instruments and rules
// (the router sends them to every group), then every trader, then the follows with
// p.Options.Concurrency calls in flight. It is idempotent: TRADER_EXISTS and
// FOLLOW_EXISTS count as done. sim, when not nil, gets the copiers' accounts first
// (wallet CopierBalance, each in its follow's position mode).
func SeedPlan(ctx context.Context, cli copytrade.Client, sim *exchsim.Sim, p *Plan) (SeedStats, error) {
	var st SeedStats
	if sim != nil {
		for copier, mode := range p.CopierModes {
			pm := exchsim.Hedge
			if mode == ct.PositionMode_ONE_WAY {
				pm = exchsim.OneWay
			}
			if _, _, err := sim.CreateAccount(copier, p.Options.CopierBalance, pm); err != nil {
				return st, fmt.Errorf("devcluster: exchsim account %d: %w", copier, err)
			}
		}
	}
	for _, in := range p.Instruments {
		if _, err := cli.UpsertInstrument(ctx, &ct.UpsertInstrumentRequest{Instrument: in}); err != nil {
			return st, fmt.Errorf("devcluster: instrument %s: %w", in.Symbol, err)
		}
		st.Instruments++
	}
	if _, err := cli.SetRules(ctx, &ct.SetRulesRequest{Rules: p.Rules}); err != nil {
		return st, fmt.Errorf("devcluster: rules: %w", err)
	}
	var existing, traders, follows atomic.Int64
	err := parallel(ctx, p.Options.Concurrency, len(p.Traders), func(ctx context.Context, i int) error {
		err := retryUnknown(ctx, func() error { _, err := cli.ApplyTrader(ctx, p.Traders[i]); return err })
		switch convert.CodeOf(err) {
		case ct.ErrorCode_OK:
			if err != nil {
				return fmt.Errorf("devcluster: apply trader %d: %w", p.Traders[i].Trader, err)
			}
			traders.Add(1)
		case ct.ErrorCode_TRADER_EXISTS:
			existing.Add(1)
		default:
			return fmt.Errorf("devcluster: apply trader %d: %s", p.Traders[i].Trader, describe(err))
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	err = parallel(ctx, p.Options.Concurrency, len(p.Follows), func(ctx context.Context, i int) error {
		f := p.Follows[i]
		err := retryUnknown(ctx, func() error { _, err := cli.Follow(ctx, f); return err })
		switch convert.CodeOf(err) {
		case ct.ErrorCode_OK:
			if err != nil {
				return fmt.Errorf("devcluster: follow %d → %d: %w", f.Copier, f.Trader, err)
			}
			follows.Add(1)
		case ct.ErrorCode_FOLLOW_EXISTS:
			existing.Add(1)
		default:
			return fmt.Errorf("devcluster: follow %d → %d: %s", f.Copier, f.Trader, describe(err))
		}
		return nil
	})
	st.Traders, st.Follows, st.Existing = int(traders.Load()), int(follows.Load()), int(existing.Load())
	return st, err
}

// retryUnknown retries call while it answers UNAVAILABLE (no leader yet, or leadership
// lost after the command was appended: the outcome is unknown) until ctx ends. Seeding
// creates fresh IDs, so an EXISTS answer after a retry means the earlier attempt
// committed, and the callers count it as existing.
func retryUnknown(ctx context.Context, call func() error) error {
	for {
		err := call()
		if convert.CodeOf(err) != ct.ErrorCode_UNAVAILABLE || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// describe renders a business error as "CODE: message".
func describe(err error) string {
	if s, ok := convert.StatusOf(err); ok {
		return s.Code.String() + ": " + s.Msg
	}
	return err.Error()
}

// parallel runs fn(0..n-1) with at most limit calls in flight; the first error cancels
// the rest and is returned.
func parallel(ctx context.Context, limit, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(limit, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					once.Do(func() { first = err; cancel(err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// Population is what Seed made.
type Population struct {
	Plan  *Plan
	Stats SeedStats
}

// Traders are the lead traders' account IDs.
func (p *Population) Traders() []int64 { return p.Plan.TraderIDs() }

// Seed makes the plan for opts over exchsim's instruments and applies it through the
// router with the admin token.
func (c *Cluster) Seed(ctx context.Context, opts SeedOptions) (*Population, error) {
	p, err := NewPlan(opts, InstrumentsOf(c.Sim().Instruments()))
	if err != nil {
		return nil, err
	}
	st, err := SeedPlan(auth.WithToken(ctx, c.adminToken), c.cli, c.Sim(), p)
	if err != nil {
		return nil, err
	}
	c.log.Info("seeded", "instruments", st.Instruments, "traders", st.Traders, "follows", st.Follows, "existing", st.Existing)
	return &Population{Plan: p, Stats: st}, nil
}
