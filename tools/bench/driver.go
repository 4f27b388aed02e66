package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/copytrade/copytrade/router"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	gw "github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway/tradinggateway"
)

const (
	// fillAttemptTimeout bounds one SubmitFill attempt; fillGiveUp all attempts of a fill.
	fillAttemptTimeout = 8 * time.Second
	fillGiveUp         = 20 * time.Second
	// fillBudgetMs is the timeout_ms a fill carries (the node's wait for the gateway).
	fillBudgetMs = 5000
	// gatewayProbeOrders is the size of the gateway floor batch.
	gatewayProbeOrders = 500
)

// runner drives load phases against a cluster.
type runner struct {
	cfg     *Config
	log     *slog.Logger
	cluster *Cluster
	ct      copytrade.Client
	gw      tradinggateway.Client
	marks   *marks

	floorRound atomic.Int64
	idle       *CPUUsage // the idle window's CPU (floor probes on), for the figures above idle
	quiet      *CPUUsage // the quiet window's (nothing sent), for the figures net of probes
	missing    []string  // histograms the report reads that a process's /metrics lacks
	progress   io.Writer
	tty        bool
}

// phase is one measured load.
type phase struct {
	name     string
	gens     []*traderGen
	rate     float64 // fills/s, Poisson
	inflight int
	warmup   time.Duration
	measure  time.Duration
	copiers  int
	// track keeps every fill's result per trader, in send order (failover analysis).
	track bool
	// during runs once the measured window opens (the failover kill).
	during func(ctx context.Context)
}

// tracked is one fill's result, kept for the failover analysis.
type tracked struct {
	tradeID  int64
	code     ct.ErrorCode
	planned  int32
	placed   int32
	answered time.Time
}

// phaseOut is a phase's result and, with track, its fills per trader.
type phaseOut struct {
	result LoadResult
	fills  map[int64][]tracked
}

// runPhase runs one phase: Poisson arrivals across the phase's traders at ph.rate, at
// most one fill per trader and ph.inflight in all in flight, for warmup + measure,
// with the floor probes running beside it. Fills still in flight at the end are
// waited for.
func (r *runner) runPhase(ctx context.Context, ph phase) (*phaseOut, error) {
	start := time.Now()
	col := newCollector(start.Add(ph.warmup), start.Add(ph.warmup+ph.measure))
	end := col.to
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	// Floor probes, interleaved with the load for the whole phase.
	wg.Add(2)
	go func() { defer wg.Done(); r.noopLoop(pctx, col, end) }()
	go func() { defer wg.Done(); r.gatewayLoop(pctx, col, end) }()

	sem := make(chan struct{}, ph.inflight)
	var backlog atomic.Int64
	var inflight atomic.Int64
	out := &phaseOut{fills: map[int64][]tracked{}}
	var outMu sync.Mutex
	queues := make([]chan struct{}, len(ph.gens))
	var workers sync.WaitGroup
	for i, g := range ph.gens {
		q := make(chan struct{}, 1<<16)
		queues[i] = q
		workers.Add(1)
		go func() {
			defer workers.Done()
			var mine []tracked
			for range q {
				if !time.Now().Before(end) || pctx.Err() != nil {
					backlog.Add(1)
					continue
				}
				select {
				case sem <- struct{}{}:
				case <-pctx.Done():
					backlog.Add(1)
					continue
				}
				inflight.Add(1)
				res := r.sendFill(pctx, g)
				inflight.Add(-1)
				<-sem
				col.record(res)
				if ph.track {
					t := tracked{tradeID: res.tradeID, code: res.code, answered: res.answered}
					if o := res.outcome; o != nil {
						t.planned, t.placed = o.OrdersPlanned, o.Placed
					}
					mine = append(mine, t)
				}
			}
			if ph.track {
				outMu.Lock()
				out.fills[g.spec.ID] = mine
				outMu.Unlock()
			}
		}()
	}
	if ph.during != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(time.Until(col.from)):
				ph.during(pctx)
			case <-pctx.Done():
			}
		}()
	}
	// The phase's share of the processes' /metrics histograms: scraped when the
	// measured window opens and after the last answer.
	// The CPU meter's opening sample follows that scrape, and its closing one is taken
	// when the window closes, before the last scrape: the scrapes are not measured.
	var before metricsSnapshot
	var meter *cpuMeter
	scraped := make(chan struct{})
	go func() {
		defer close(scraped)
		select {
		case <-time.After(time.Until(col.from)):
			before = r.scrapeAll(pctx)
			meter = r.startCPU(pctx)
		case <-pctx.Done():
		}
	}()
	stopProgress := r.startProgress(ph, col, start, end, &inflight)
	waitProfiles := r.profilePhase(pctx, ph.name, col.from, ph.measure)

	// Poisson arrivals: exponential gaps, a uniformly chosen trader each.
	rng := rand.New(rand.NewPCG(r.cfg.Seed, uint64(start.UnixNano())^0x5bd1e995))
	next := start
	var offered int64
	for ctx.Err() == nil {
		next = next.Add(time.Duration(rng.ExpFloat64() / ph.rate * float64(time.Second)))
		if !next.Before(end) {
			break
		}
		if d := time.Until(next); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if col.in(next) {
			offered++
		}
		select {
		case queues[rng.IntN(len(queues))] <- struct{}{}:
		default:
			backlog.Add(1)
		}
	}
	if d := time.Until(end); d > 0 && ctx.Err() == nil {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	<-scraped
	var cpuAfter cpuSample
	if meter != nil {
		cpuAfter = sampleCPU(meter.procs)
	}
	for _, q := range queues {
		close(q)
	}
	workers.Wait()
	if waitProfiles != nil {
		waitProfiles()
	}
	after := r.scrapeAll(ctx)
	cancel()
	wg.Wait()
	stopProgress()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bench: phase %s interrupted: %w", ph.name, err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	col.fills.Backlog = backlog.Load()
	col.fills.Offered = offered
	secs := ph.measure.Seconds()
	res := LoadResult{
		Name: ph.name, TargetRate: ph.rate, Inflight: ph.inflight, Traders: len(ph.gens), Copiers: ph.copiers,
		MeasuredSec: secs, FillsPerS: r3(float64(col.fills.OK) / secs),
		OrdersPerS: r3(float64(col.copier.Placed+col.copier.Rejected) / secs),
		Fills:      col.fills, Copier: col.copier, Latency: distOf(col.latency, true),
		Stages: map[string]Dist{},
		Floor:  col.floor(),
	}
	if len(col.errs) > 0 {
		res.Errors = col.errs
	}
	res.Scraped = scrapedDelta(before, after)
	if meter != nil {
		if res.CPU = cpuUsage(meter.procs, meter.before, cpuAfter, res.OrdersPerS); res.CPU != nil && !(res.OrdersPerS > 0) {
			res.CPU = nil // nothing acknowledged: no per-order figure
		}
		res.CPU.setAboveIdle(r.idle, r.quiet)
	}
	r.missing = append(r.missing, after.missing...)
	for n, h := range col.stages {
		res.Stages[n] = distOf(h, false)
	}
	failed := col.fills.Errors + col.fills.Ambiguous
	// Sustained: the cluster kept up with what arrived (a Poisson count over a few
	// seconds strays from rate × time, so the check is against the arrivals themselves),
	// within the P99 budget and with under 1% failed fills.
	res.Sustained = col.fills.Sent > 0 && res.Latency.Count > 0 &&
		res.Latency.P99 <= Millis(r.cfg.P99Budget) &&
		float64(col.fills.Sent) >= 0.95*float64(offered) && float64(failed) <= 0.01*float64(col.fills.Sent)
	out.result = res
	return out, nil
}

// sendFill sends g's next fill and waits for its final answer, retrying transient
// failures with the same trade ID (the cluster deduplicates, so a retry never applies
// twice) until fillGiveUp.
func (r *runner) sendFill(ctx context.Context, g *traderGen) *fillResult {
	f := g.next(r.marks.get(g.inst.Symbol))
	res := &fillResult{sent: time.Now(), followers: len(g.spec.Copiers), tradeID: f.TradeId}
	req := &ct.SubmitFillRequest{Trader: f.Trader, Fill: f, Wait: ct.WaitFor_ACKED, TimeoutMs: fillBudgetMs}
	ctx = auth.WithToken(ctx, r.cluster.FillToken)
	giveUp := res.sent.Add(fillGiveUp)
	for {
		res.attempts++
		actx, cancel := context.WithTimeout(ctx, fillAttemptTimeout)
		resp, err := r.ct.SubmitFill(actx, req)
		cancel()
		if err == nil && resp.GetOutcome() != nil {
			res.outcome, res.code = resp.Outcome, resp.Outcome.Code
			break
		}
		if err == nil {
			err = fmt.Errorf("empty SubmitFill response")
		}
		code := codeOf(err)
		if code == ct.ErrorCode_DUPLICATE_FILL && res.attempts > 1 {
			res.code = code // applied by an earlier attempt
			break
		}
		if retryable(err) && time.Now().Before(giveUp) && ctx.Err() == nil {
			select {
			case <-time.After(20 * time.Millisecond):
			case <-ctx.Done():
			}
			continue
		}
		res.code, res.err = code, err
		r.log.Debug("fill failed", "trader", f.Trader, "trade_id", f.TradeId, "attempts", res.attempts, "err", err)
		break
	}
	res.answered = time.Now()
	g.account(res)
	return res
}

// noopLoop commits a no-op through the router to group 1 every FloorInterval.
func (r *runner) noopLoop(ctx context.Context, col *collector, until time.Time) {
	t := time.NewTicker(r.cfg.FloorInterval)
	defer t.Stop()
	gctx := router.WithGroup(auth.WithToken(ctx, r.cluster.AdminToken), r.cluster.Groups[0].ID)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !time.Now().Before(until) {
			return
		}
		cctx, cancel := context.WithTimeout(gctx, 5*time.Second)
		sent := time.Now()
		resp, err := r.ct.Noop(cctx, &ct.NoopRequest{})
		rtt := time.Since(sent)
		cancel()
		var commit time.Duration
		if err == nil {
			commit = us(resp.GetTimings().GetCommitUs())
		} else if ctx.Err() != nil {
			return
		}
		col.recordNoop(sent, rtt, commit, err)
	}
}

// gatewayLoop sends one 500-order PlaceOrders batch to the gateway every 16 floor
// intervals: opens on even rounds, reduce-only closes on odd ones, on accounts of
// their own.
func (r *runner) gatewayLoop(ctx context.Context, col *collector, until time.Time) {
	t := time.NewTicker(16 * r.cfg.FloorInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !time.Now().Before(until) {
			return
		}
		round := r.floorRound.Add(1)
		req := &gw.PlaceOrdersRequest{Orders: make([]*gw.OrderRequest, gatewayProbeOrders)}
		prefix := "f" + strconv.FormatInt(round, 36) + "-"
		for i := range req.Orders {
			o := &gw.OrderRequest{ClientOrderId: prefix + strconv.Itoa(i), Account: int64(floorAccountBase + i),
				Instrument: "BTCUSDT", PositionSide: gw.PositionSide_LONG, Qty: "0.001",
				OrderType: gw.OrderType_MARKET, Leverage: 10, MarginMode: gw.MarginMode_CROSS}
			if round%2 == 1 {
				o.Side = gw.Side_BUY
			} else {
				o.Side, o.ReduceOnly = gw.Side_SELL, true
			}
			req.Orders[i] = o
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		sent := time.Now()
		_, err := r.gw.PlaceOrders(cctx, req)
		rtt := time.Since(sent)
		cancel()
		if err != nil && ctx.Err() != nil {
			return
		}
		col.recordGateway(sent, rtt, err)
	}
}

// startProgress shows the phase on one line until the returned stop is called.
func (r *runner) startProgress(ph phase, col *collector, start, end time.Time, inflight *atomic.Int64) (stop func()) {
	if r.progress == nil {
		return func() {}
	}
	every := 5 * time.Second
	if r.tty {
		every = 250 * time.Millisecond
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		total := end.Sub(start).Seconds()
		for {
			select {
			case <-done:
				if r.tty {
					fmt.Fprint(r.progress, "\r\033[K")
				}
				return
			case <-t.C:
			}
			sent, ok, errs, p99, orders := col.snapshot()
			el := time.Since(start)
			state := "warm-up"
			if el >= col.from.Sub(start) {
				state = "measuring"
			}
			line := fmt.Sprintf("[%s] %s %4.1f/%.0fs  rate %.0f/s  sent %d ok %d err %d  in flight %d  p99 %.2f ms  copier orders %d",
				ph.name, state, el.Seconds(), total, ph.rate, sent, ok, errs, inflight.Load(), p99, orders)
			if r.tty {
				fmt.Fprintf(r.progress, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(r.progress, line)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// isTTY reports whether w is a terminal.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
