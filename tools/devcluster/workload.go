package devcluster

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/rpc/auth"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// Counts are the fan-out totals of the fills a sink submitted.
//
// Accounting: every applied fill's copy decisions are either an order or a skip, so
//
//	CopierOrders == Placed + Rejected + Skipped + Pending
//
// where CopierOrders = orders planned + follows skipped (the copy decisions), Placed
// and Rejected are the gateway's final answers, and Pending are orders still unanswered
// when the router replied (the node keeps placing them; 0 in a healthy run).
type Counts struct {
	Submitted    int64 // fills sent to the router
	Signals      int64 // fills applied (a raft index was assigned)
	CopierOrders int64 // copy decisions: orders planned + follows skipped
	Placed       int64 // orders filled or partially filled at the gateway
	Rejected     int64 // orders the gateway rejected
	Skipped      int64 // follows that got no order (below minimum, filtered, capped, ...)
	Pending      int64 // orders unanswered when the router replied
	Refused      int64 // fills not applied (Errors has them by code)
	// Replayed: fills answered DUPLICATE_FILL — a resend (the activity's retry of a
	// failed call, or the ingest's of a transient answer) of a fill an earlier attempt
	// applied; its figures were in the answer that was lost, so they are not counted.
	Replayed int64
	CallErrors   int64 // SubmitFills calls that failed as a whole
}

// RouterSink is an exchsim.FillSink that submits each batch of lead-trader fills to a
// CopyTrade router (or node) with SubmitFills, wait=ACKED, and records per-fill
// latency: from the call to the answer that every copier order is acknowledged.
type RouterSink struct {
	cli     copytrade.Client
	token   string
	timeout time.Duration

	mu      sync.Mutex
	counts  Counts
	errors  map[string]int64
	samples []time.Duration // one per applied fill
}

// NewRouterSink returns a sink calling cli with token (role trading-system); timeout
// is each call's budget (timeout_ms).
func NewRouterSink(cli copytrade.Client, token string, timeout time.Duration) *RouterSink {
	return &RouterSink{cli: cli, token: token, timeout: timeout, errors: map[string]int64{}}
}

var _ exchsim.FillSink = (*RouterSink)(nil)

// FillOf converts an exchsim lead fill to the CopyTrade IDL (the enums share values).
func FillOf(f exchsim.LeadFill) *ct.Fill {
	return &ct.Fill{
		Trader: f.Trader, TradeId: f.TradeID, Instrument: f.Instrument,
		Side: ct.Side(f.Side), PositionSide: ct.PositionSide(f.PositionSide),
		Qty: f.Qty.String(), Price: f.Price.String(), Leverage: f.Leverage,
		MarginMode: ct.MarginMode(f.MarginMode), Equity: f.Equity.String(), Liquidation: f.Liquidation,
		PositionAfter: f.PositionAfter.String(), Fee: f.Fee.String(), VenueOrderId: f.VenueOrderID,
		ClientOrderId: f.ClientOrderID, EventTimeNs: f.TimeUnixNano,
	}
}

// PublishFills submits fills in one SubmitFills call. A call that fails as a whole is
// returned as an error (the activity retries it; the router dedups resent fills).
func (s *RouterSink) PublishFills(ctx context.Context, fills []exchsim.LeadFill) error {
	req := &ct.SubmitFillsRequest{Fills: make([]*ct.Fill, len(fills)), Wait: ct.WaitFor_ACKED,
		TimeoutMs: int32(s.timeout.Milliseconds())}
	for i, f := range fills {
		req.Fills[i] = FillOf(f)
	}
	ctx, cancel := context.WithTimeout(auth.WithToken(ctx, s.token), s.timeout+time.Second)
	defer cancel()
	start := time.Now()
	resp, err := s.cli.SubmitFills(ctx, req)
	lat := time.Since(start)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Submitted += int64(len(fills))
	if err != nil {
		s.counts.CallErrors++
		s.errors["call: "+describe(err)]++
		return fmt.Errorf("devcluster: SubmitFills: %w", err)
	}
	for _, o := range resp.GetOutcomes() {
		s.record(o, lat)
	}
	return nil
}

func (s *RouterSink) record(o *ct.FillOutcome, lat time.Duration) {
	// A fill counts as a signal when it was applied to the machine: OK, or committed
	// while its fan-out did not finish in time (NOT_LEADER, UNAVAILABLE or DEADLINE
	// with an index). Refusals (DUPLICATE_FILL, NOT_LEAD_TRADER, ...) carry an index
	// too but changed nothing.
	code := o.GetCode()
	applied := code == ct.ErrorCode_OK || o.GetIndex() > 0 && (code == ct.ErrorCode_NOT_LEADER ||
		code == ct.ErrorCode_UNAVAILABLE || code == ct.ErrorCode_DEADLINE)
	if code == ct.ErrorCode_DUPLICATE_FILL {
		s.counts.Replayed++
		return
	}
	if code != ct.ErrorCode_OK {
		s.errors[code.String()]++
	}
	if !applied {
		s.counts.Refused++
		return
	}
	s.counts.Signals++
	s.counts.CopierOrders += int64(o.GetOrdersPlanned()) + int64(o.GetSkipped())
	s.counts.Placed += int64(o.GetPlaced())
	s.counts.Rejected += int64(o.GetRejected())
	s.counts.Skipped += int64(o.GetSkipped())
	s.counts.Pending += int64(o.GetPending())
	s.samples = append(s.samples, lat)
}

// Record counts one fill's final outcome that reached copytrade another way (the Kafka
// ingest); lat is its latency from the venue's fill to the answer.
func (s *RouterSink) Record(o *ct.FillOutcome, lat time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts.Submitted++
	s.record(o, lat)
}

// Snapshot returns the counts, the refusals by code and a copy of the latency samples.
func (s *RouterSink) Snapshot() (Counts, map[string]int64, []time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := make(map[string]int64, len(s.errors))
	for k, v := range s.errors {
		errs[k] = v
	}
	return s.counts, errs, slices.Clone(s.samples)
}

// Percentile is the nearest-rank percentile (0 < p <= 1) of sorted samples: the
// smallest sample with at least p of all samples at or below it. 0 without samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Summary is the result of a workload run.
type Summary struct {
	Counts
	Elapsed        time.Duration
	Errors         map[string]int64 // refused fills by code, failed calls by error
	P50, P99, P999 time.Duration
	Max            time.Duration
	Activity       exchsim.ActivityStats
}

// Line is the one-line summary `copytrade dev` ends with.
func (s Summary) Line() string {
	return fmt.Sprintf("dev: signals=%d copier_orders=%d placed=%d rejected=%d skipped=%d p50_ms=%.2f p99_ms=%.2f",
		s.Signals, s.CopierOrders, s.Placed, s.Rejected, s.Skipped, ms(s.P50), ms(s.P99))
}

// Details are the summary's other lines: throughput, pending, refusals, the activity.
func (s Summary) Details() []string {
	secs := max(s.Elapsed.Seconds(), 1e-9)
	lines := []string{
		fmt.Sprintf("fills: submitted=%d applied=%d replayed=%d refused=%d failed_calls=%d lost=%d (%.1f fills/s)",
			s.Submitted, s.Signals, s.Replayed, s.Refused, s.CallErrors, s.Activity.Lost, float64(s.Signals)/secs),
		fmt.Sprintf("copier orders: %d decisions = %d placed + %d rejected + %d skipped + %d pending (%.0f orders/s)",
			s.CopierOrders, s.Placed, s.Rejected, s.Skipped, s.Pending, float64(s.Placed+s.Rejected)/secs),
		fmt.Sprintf("latency per fill (submit → all copier orders acknowledged): p50=%.2fms p99=%.2fms p999=%.2fms max=%.2fms",
			ms(s.P50), ms(s.P99), ms(s.P999), ms(s.Max)),
	}
	if len(s.Errors) > 0 {
		keys := make([]string, 0, len(s.Errors))
		for k := range s.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, s.Errors[k])
		}
		lines = append(lines, "not copied: "+strings.Join(parts, " "))
	}
	return lines
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Progress is a workload's state while it runs.
type Progress struct {
	Elapsed time.Duration
	Counts
	P99 time.Duration
}

// WorkloadOptions configures RunWorkload.
type WorkloadOptions struct {
	// Traders are the lead traders whose activity is simulated (Population.Traders).
	Traders []int64
	// Duration is how long lead traders act; fills made by then are still submitted.
	Duration time.Duration
	// Rate is the mean number of lead-trader actions (≈ fills) per second, Poisson.
	Rate float64
	// Seed seeds the activity's choices.
	Seed uint64
	// TraderBalance is each trader's exchsim wallet (SeedOptions.TraderBalance).
	TraderBalance fixed.Dec
	// CallTimeout is each SubmitFills call's budget.
	CallTimeout time.Duration
	// Kafka, when set, is the fill path: the activity's fills reach copytrade as the
	// venue's fill stream through Kafka and the ingest (the sink only counts the
	// ingest's answers); the workload ends once the ingest has caught up.
	Kafka *Kafka
	// Progress, when set, is called every ProgressInterval while the workload runs.
	Progress         func(Progress)
	ProgressInterval time.Duration
}

// summarize computes a Summary from a sink.
func summarize(sink *RouterSink, elapsed time.Duration, act exchsim.ActivityStats) Summary {
	counts, errs, samples := sink.Snapshot()
	slices.Sort(samples)
	s := Summary{Counts: counts, Elapsed: elapsed, Errors: errs, Activity: act}
	if n := len(samples); n > 0 {
		s.P50, s.P99, s.P999, s.Max = Percentile(samples, 0.50), Percentile(samples, 0.99), Percentile(samples, 0.999), samples[n-1]
	}
	return s
}

// RunWorkload drives exchsim lead-trader activity for opts.Duration, publishing every
// fill through the router with the trading-system token, and returns the totals.
func (c *Cluster) RunWorkload(ctx context.Context, opts WorkloadOptions) (Summary, error) {
	return RunWorkload(ctx, c.Sim(), NewRouterSink(c.cli, c.tradeToken, opts.CallTimeout), opts)
}

// RunWorkload drives exchsim activity on sim for opts.Duration into sink.
func RunWorkload(ctx context.Context, sim *exchsim.Sim, sink *RouterSink, opts WorkloadOptions) (Summary, error) {
	if len(opts.Traders) == 0 || opts.Duration <= 0 || opts.Rate <= 0 {
		return Summary{}, errors.New("devcluster: a workload needs traders, a duration > 0 and a rate > 0")
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 5 * time.Second
	}
	acfg := exchsim.DefaultActivityConfig()
	acfg.Traders = opts.Traders
	acfg.RatePerSecond = opts.Rate
	acfg.Seed = opts.Seed
	if opts.TraderBalance > 0 {
		acfg.TraderBalance = opts.TraderBalance
	}
	acfg.FlushTimeout = opts.CallTimeout + 2*time.Second
	var publish exchsim.FillSink = sink
	if opts.Kafka != nil {
		publish = nopSink{}
		opts.Kafka.SetOnFinal(func(_ *ct.Fill, o *ct.FillOutcome, produced time.Time) { sink.Record(o, time.Since(produced)) })
		defer opts.Kafka.SetOnFinal(nil)
	}
	act, err := exchsim.NewActivity(sim, publish, acfg)
	if err != nil {
		return Summary{}, fmt.Errorf("devcluster: %w", err)
	}
	start := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, opts.Duration)
	defer cancel()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if opts.Progress != nil {
		every := opts.ProgressInterval
		if every <= 0 {
			every = 500 * time.Millisecond
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					counts, _, samples := sink.Snapshot()
					slices.Sort(samples)
					opts.Progress(Progress{Elapsed: time.Since(start), Counts: counts, P99: Percentile(samples, 0.99)})
				}
			}
		}()
	}
	err = act.Run(runCtx)
	if err == nil && opts.Kafka != nil {
		dctx, dcancel := context.WithTimeout(ctx, opts.CallTimeout+10*time.Second)
		err = opts.Kafka.Drain(dctx)
		dcancel()
	}
	close(stop)
	wg.Wait()
	if err != nil {
		return Summary{}, fmt.Errorf("devcluster: workload: %w", err)
	}
	return summarize(sink, time.Since(start), act.Stats()), nil
}
