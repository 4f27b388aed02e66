package exchsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// ActivityConfig configures a lead-trader workload. Start from DefaultActivityConfig.
type ActivityConfig struct {
	// Traders are the lead traders' account IDs (at least one). Run creates their
	// accounts idempotently with TraderBalance and PositionMode.
	Traders []int64
	// Instruments the traders trade; empty means every listed instrument.
	Instruments []string
	// RatePerSecond is the mean number of lead-trader actions per second across all
	// traders; arrivals form a Poisson process. An action is one order, or two for a
	// hedge-mode flip (close one side, open the other).
	RatePerSecond float64
	// Seed seeds the workload's choices (trader, instrument, action, size, gaps).
	Seed uint64
	// TraderBalance is the wallet balance of a trader account Run creates (> 0).
	TraderBalance fixed.Dec
	// PositionMode of the traders' accounts.
	PositionMode PositionMode
	// Leverage of opening orders (>= 1), capped by each instrument's MaxLeverage.
	Leverage int32
	// MarginMode of opening orders.
	MarginMode MarginMode
	// OrderNotional is the mean quote notional of an opening or increasing order
	// (> 0); each draws uniformly from 50% to 150% of it, rounded down to the lot step
	// and raised to the instrument's minimums.
	OrderNotional fixed.Dec
	// FlipPerMille is how often, per 1000 actions on an open position, the trader
	// flips: one-way, one order across zero; hedge, close the side and open the other.
	FlipPerMille int
	// LiquidationPerMille is how often, per 1000 actions on an open position, the venue
	// liquidates it instead (a fill with Liquidation set, at the mark).
	LiquidationPerMille int
	// MaxFillsPerPublish caps the fills of one PublishFills call (>= 1). Fills that
	// queue while the sink is busy go out together, up to this many.
	MaxFillsPerPublish int
	// QueueLen is how many fills may wait for the sink (>= 1); when it is full the
	// workload waits (backpressure) instead of dropping fills.
	QueueLen int
	// PublishRetries is how many times a failed PublishFills is retried (>= 0) before
	// its fills are counted as lost and logged at error level.
	PublishRetries int
	// RetryBackoff is the wait before the first retry (> 0); it doubles per retry.
	RetryBackoff time.Duration
	// FlushTimeout bounds how long Run keeps publishing queued fills after its
	// context ends (> 0).
	FlushTimeout time.Duration
	// Logger receives the workload's logs; nil means the Sim's logger.
	Logger *slog.Logger
}

// DefaultActivityConfig returns 20 hedge-mode traders (IDs 1..20) on every instrument,
// 50 actions per second, 10x cross, ~5000 notional per order, 5% flips, 0.5%
// liquidations.
func DefaultActivityConfig() ActivityConfig {
	traders := make([]int64, 20)
	for i := range traders {
		traders[i] = int64(i + 1)
	}
	return ActivityConfig{
		Traders: traders, RatePerSecond: 50, Seed: 1,
		TraderBalance: fixed.MustParse("10000000"), PositionMode: Hedge, Leverage: 10, MarginMode: Cross,
		OrderNotional: fixed.MustParse("5000"), FlipPerMille: 50, LiquidationPerMille: 5,
		MaxFillsPerPublish: 256, QueueLen: 4096, PublishRetries: 3,
		RetryBackoff: 10 * time.Millisecond, FlushTimeout: 2 * time.Second,
	}
}

// Validate returns nil or an error wrapping ErrInvalidConfig listing every problem.
func (c ActivityConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: activity: "+format, append([]any{ErrInvalidConfig}, args...)...))
	}
	if len(c.Traders) == 0 {
		bad("Traders must name at least one trader.")
	}
	if !(c.RatePerSecond > 0 && c.RatePerSecond <= 1e6) {
		bad("RatePerSecond must be above 0 and at most 1000000, got %v.", c.RatePerSecond)
	}
	if c.TraderBalance <= 0 {
		bad("TraderBalance must be positive, got %s.", c.TraderBalance)
	}
	if c.PositionMode != Hedge && c.PositionMode != OneWay {
		bad("PositionMode must be Hedge or OneWay, got %d.", c.PositionMode)
	}
	if c.Leverage < 1 {
		bad("Leverage must be at least 1, got %d.", c.Leverage)
	}
	if c.MarginMode != Cross && c.MarginMode != Isolated {
		bad("MarginMode must be Cross or Isolated, got %d.", c.MarginMode)
	}
	if c.OrderNotional <= 0 {
		bad("OrderNotional must be positive, got %s.", c.OrderNotional)
	}
	if c.FlipPerMille < 0 || c.LiquidationPerMille < 0 || c.FlipPerMille+c.LiquidationPerMille > 1000 {
		bad("FlipPerMille and LiquidationPerMille must not be negative and must add up to at most 1000, got %d and %d.",
			c.FlipPerMille, c.LiquidationPerMille)
	}
	if c.MaxFillsPerPublish < 1 {
		bad("MaxFillsPerPublish must be at least 1, got %d.", c.MaxFillsPerPublish)
	}
	if c.QueueLen < 1 {
		bad("QueueLen must be at least 1, got %d.", c.QueueLen)
	}
	if c.PublishRetries < 0 {
		bad("PublishRetries must not be negative, got %d.", c.PublishRetries)
	}
	if c.RetryBackoff <= 0 {
		bad("RetryBackoff must be positive, got %s.", c.RetryBackoff)
	}
	if c.FlushTimeout <= 0 {
		bad("FlushTimeout must be positive, got %s.", c.FlushTimeout)
	}
	return errors.Join(errs...)
}

// ActivityStats are a workload's counters.
type ActivityStats struct {
	Actions    int64 // actions taken
	Orders     int64 // lead orders placed
	Fills      int64 // fills produced
	Rejected   int64 // lead orders the venue rejected (no fill)
	Published  int64 // fills the sink accepted
	Batches    int64 // successful PublishFills calls
	SinkErrors int64 // failed PublishFills calls, retries included
	Lost       int64 // fills given up after all retries or at the flush deadline
	Behind     int64 // times the workload fell more than a second behind its schedule
}

// Activity drives a seeded random workload of lead-trader orders on a Sim (open,
// increase, partial close, close, occasional flip or liquidation) and publishes
// each fill to a FillSink, in trade-ID order.
type Activity struct {
	sim  *Sim
	sink FillSink
	cfg  ActivityConfig
	log  *slog.Logger
	rng  *rand.Rand // owned by the goroutine calling Step (Run's generator)

	actions, orders, fills, rejected, published, batches, sinkErrors, lost, behind atomic.Int64
}

// NewActivity validates cfg and returns a workload for sim publishing to sink.
func NewActivity(sim *Sim, sink FillSink, cfg ActivityConfig) (*Activity, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sink == nil {
		return nil, fmt.Errorf("%w: activity: a FillSink is required", ErrInvalidConfig)
	}
	if len(cfg.Instruments) == 0 {
		for _, spec := range sim.Instruments() {
			cfg.Instruments = append(cfg.Instruments, spec.Symbol)
		}
	}
	for _, sym := range cfg.Instruments {
		if _, ok := sim.Instrument(sym); !ok {
			return nil, fmt.Errorf("%w: activity: instrument %q is not listed", ErrInvalidConfig, sym)
		}
	}
	if len(cfg.Instruments) == 0 {
		return nil, fmt.Errorf("%w: activity: no instruments are listed", ErrInvalidConfig)
	}
	cfg.Traders = append([]int64(nil), cfg.Traders...)
	log := cfg.Logger
	if log == nil {
		log = sim.log
	}
	return &Activity{
		sim: sim, sink: sink, cfg: cfg, log: log.With("component", "exchsim-activity"),
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x1EAD)),
	}, nil
}

// Stats returns the workload's counters.
func (a *Activity) Stats() ActivityStats {
	return ActivityStats{
		Actions: a.actions.Load(), Orders: a.orders.Load(), Fills: a.fills.Load(),
		Rejected: a.rejected.Load(), Published: a.published.Load(), Batches: a.batches.Load(),
		SinkErrors: a.sinkErrors.Load(), Lost: a.lost.Load(), Behind: a.behind.Load(),
	}
}

// Setup creates the traders' accounts (idempotent). Run calls it; call it yourself
// before driving Step directly.
func (a *Activity) Setup() error {
	for _, tr := range a.cfg.Traders {
		if _, _, err := a.sim.CreateAccount(tr, a.cfg.TraderBalance, a.cfg.PositionMode); err != nil {
			return fmt.Errorf("exchsim: activity: trader %d: %w", tr, err)
		}
	}
	return nil
}

// Run creates the traders' accounts, then acts at Poisson arrivals and publishes the
// fills until ctx ends. Fills already made when ctx ends are still published, for at
// most FlushTimeout. It returns nil when ctx ends, or the setup error.
func (a *Activity) Run(ctx context.Context) error {
	if err := a.Setup(); err != nil {
		return err
	}
	a.log.Info("activity started", "traders", len(a.cfg.Traders), "instruments", len(a.cfg.Instruments),
		"rate-per-second", a.cfg.RatePerSecond, "position-mode", a.cfg.PositionMode, "seed", a.cfg.Seed)
	queue := make(chan LeadFill, a.cfg.QueueLen)
	published := make(chan struct{})
	go func() {
		defer close(published)
		a.publish(ctx, queue)
	}()
	a.generate(ctx, queue)
	close(queue)
	<-published
	st := a.Stats()
	a.log.Info("activity stopped", "actions", st.Actions, "fills", st.Fills, "published", st.Published,
		"rejected", st.Rejected, "sink-errors", st.SinkErrors, "lost", st.Lost)
	return nil
}

// generate takes actions at Poisson arrival times until ctx ends.
func (a *Activity) generate(ctx context.Context, queue chan<- LeadFill) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	next := time.Now()
	for {
		// The exponential draw is a time gap, not a price: float is fine here.
		next = next.Add(time.Duration(a.rng.ExpFloat64() / a.cfg.RatePerSecond * float64(time.Second)))
		if wait := time.Until(next); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		} else if wait < -time.Second {
			a.behind.Add(1)
			a.log.Warn("activity is behind its schedule; skipping ahead", "behind", -wait)
			next = time.Now()
		}
		fills, err := a.Step(ctx)
		if err != nil && ctx.Err() == nil && !errors.Is(err, ErrOrderRejected) {
			a.log.Warn("lead action failed", "err", err)
		}
		for _, f := range fills {
			select {
			case queue <- f:
			case <-ctx.Done():
				// Keep the fill: the publisher flushes the queue after ctx ends.
				queue <- f
			}
		}
	}
}

// publish sends queued fills to the sink in batches until the queue closes. The
// sink's context outlives ctx by FlushTimeout, so fills made before ctx ended still
// go out.
func (a *Activity) publish(ctx context.Context, queue <-chan LeadFill) {
	pubCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { // the flush deadline starts when ctx ends
		t := time.NewTimer(a.cfg.FlushTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-pubCtx.Done(): // publish returned
		}
	})
	defer stop()
	for f := range queue {
		batch := make([]LeadFill, 1, min(a.cfg.MaxFillsPerPublish, 1+len(queue)))
		batch[0] = f
	drain:
		for len(batch) < a.cfg.MaxFillsPerPublish {
			select {
			case f, ok := <-queue:
				if !ok {
					break drain
				}
				batch = append(batch, f)
			default:
				break drain
			}
		}
		a.publishBatch(pubCtx, batch)
	}
}

func (a *Activity) publishBatch(ctx context.Context, batch []LeadFill) {
	backoff := a.cfg.RetryBackoff
	for attempt := 0; ; attempt++ {
		err := a.sink.PublishFills(ctx, batch)
		if err == nil {
			a.published.Add(int64(len(batch)))
			a.batches.Add(1)
			return
		}
		a.sinkErrors.Add(1)
		if attempt >= a.cfg.PublishRetries || ctx.Err() != nil {
			a.lost.Add(int64(len(batch)))
			a.log.Error("fills lost: the sink refused them", "fills", len(batch), "attempts", attempt+1,
				"first-trade-id", batch[0].TradeID, "last-trade-id", batch[len(batch)-1].TradeID, "err", err)
			return
		}
		a.log.Warn("publishing fills failed; retrying", "fills", len(batch), "attempt", attempt+1,
			"backoff", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		backoff *= 2
	}
}

// Step takes one random action for a random trader and instrument and returns its
// fills without publishing them. It is not safe for concurrent use (it owns the
// workload's random source); with the mark ticker off, a seed gives the same actions.
// A rejected order is counted and returned as an error wrapping ErrOrderRejected.
func (a *Activity) Step(ctx context.Context) ([]LeadFill, error) {
	a.actions.Add(1)
	trader := a.cfg.Traders[a.rng.IntN(len(a.cfg.Traders))]
	sym := a.cfg.Instruments[a.rng.IntN(len(a.cfg.Instruments))]
	spec, ok := a.sim.Instrument(sym)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownInstrument, sym)
	}
	ps := Both
	if a.cfg.PositionMode == Hedge {
		ps = Long
		if a.rng.IntN(2) == 1 {
			ps = Short
		}
	}
	pos, ok := a.sim.PositionOf(trader, sym, ps)
	if !ok {
		return nil, fmt.Errorf("%w: trader %d (call Setup first)", ErrUnknownAccount, trader)
	}
	// dir is the side that grows the position; for a flat Both position, a coin flip.
	dir := Buy
	switch {
	case ps == Short || pos.Qty < 0:
		dir = Sell
	case ps == Both && pos.Qty == 0 && a.rng.IntN(2) == 1:
		dir = Sell
	}
	held := max(pos.Qty, -pos.Qty)
	act := &leadAction{a: a, ctx: ctx, trader: trader, spec: spec, ps: ps}
	if held == 0 {
		return act.order(dir, a.openQty(spec), false)
	}
	roll := a.rng.IntN(1000)
	switch {
	case roll < a.cfg.LiquidationPerMille:
		a.orders.Add(1)
		_, fill, err := a.sim.LiquidateLead(ctx, trader, sym, ps)
		return act.done(fill, err)
	case roll < a.cfg.LiquidationPerMille+a.cfg.FlipPerMille:
		if ps == Both { // one order across zero
			return act.order(dir.Opposite(), held+a.openQty(spec), false)
		}
		fills, err := act.order(dir.Opposite(), held, true)
		if err != nil {
			return fills, err
		}
		act.ps = Long + Short - ps
		more, err := act.order(dir.Opposite(), a.openQty(spec), false)
		return append(fills, more...), err
	}
	switch k := a.rng.IntN(10); {
	case k < 3: // increase
		return act.order(dir, a.openQty(spec), false)
	case k < 7: // partial close: 10%..90% of the position
		part, _ := fixed.MulDiv(held, fixed.FromUnits(int64(10+a.rng.IntN(81))), fixed.FromUnits(100), fixed.Down)
		if part = part.RoundDownTo(spec.LotStep); part <= 0 {
			part = held
		}
		return act.order(dir.Opposite(), part, true)
	default: // close
		return act.order(dir.Opposite(), held, true)
	}
}

// openQty draws an opening qty: 50%..150% of OrderNotional at the mark, on the lot
// step, at least the instrument's minimum qty and twice its minimum notional.
func (a *Activity) openQty(spec InstrumentSpec) fixed.Dec {
	var c calc
	notional := c.mulDiv(a.cfg.OrderNotional, fixed.FromUnits(int64(50+a.rng.IntN(101))), fixed.FromUnits(100), fixed.Down)
	notional = max(notional, c.mulBps(spec.MinNotional, 20_000, fixed.Up))
	qty := c.keep(fixed.Div(notional, spec.MarkPrice, fixed.Up)).RoundTo(spec.LotStep, fixed.Ceil)
	if c.err != nil {
		qty = spec.LotStep
	}
	return max(qty, spec.MinQty, spec.LotStep)
}

// leadAction places the orders of one Step.
type leadAction struct {
	a      *Activity
	ctx    context.Context
	trader int64
	spec   InstrumentSpec
	ps     PositionSide
}

func (l *leadAction) order(side Side, qty fixed.Dec, reduceOnly bool) ([]LeadFill, error) {
	l.a.orders.Add(1)
	_, fill, err := l.a.sim.PlaceLeadOrder(l.ctx, Order{
		Account: l.trader, Instrument: l.spec.Symbol, Side: side, PositionSide: l.ps, Qty: qty,
		Type: Market, ReduceOnly: reduceOnly, Leverage: min(l.a.cfg.Leverage, l.spec.MaxLeverage),
		MarginMode: l.a.cfg.MarginMode,
	})
	return l.done(fill, err)
}

func (l *leadAction) done(fill LeadFill, err error) ([]LeadFill, error) {
	if err != nil {
		if errors.Is(err, ErrOrderRejected) {
			l.a.rejected.Add(1)
			l.a.log.Debug("lead order rejected", "trader", l.trader, "instrument", l.spec.Symbol, "err", err)
		}
		return nil, err
	}
	l.a.fills.Add(1)
	return []LeadFill{fill}, nil
}
