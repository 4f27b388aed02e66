package bench

import (
	"sync"
	"time"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Stage names of the timings the answers carry.
const (
	StageRouter   = "router"   // client send → answer, less the leader's total: router hops and the network
	StageQueue    = "queue"    // leader: received → proposed (validation, leader check, stamping)
	StageCommit   = "commit"   // leader: proposed → committed by a quorum and applied (raft commit + FSM apply)
	StageDispatch = "dispatch" // leader: applied → every planned order answered by the gateway
	StageTotal    = "total"    // leader: received → answered
)

var stageNames = []string{StageRouter, StageQueue, StageCommit, StageDispatch, StageTotal}

// collector accumulates one load phase's measurements. Safe for concurrent use.
type collector struct {
	mu      sync.Mutex
	from    time.Time // measured window: sends at or after from …
	to      time.Time // … and before to
	latency *Histogram
	stages  map[string]*Histogram
	fills   FillCounts
	copier  CopierCounts
	errs    map[string]int // fill errors by code / kind

	noop       *Histogram // client round trip of a no-op through the router
	noopCommit *Histogram // the node's own commit time of that no-op
	gateway    *Histogram // one 500-order PlaceOrders round trip to the gateway
	floorErrs  int
}

// floor is the floor probes' figures the collector holds.
func (c *collector) floor() Floor {
	return Floor{Noop: distOf(c.noop, true), NoopCommit: distOf(c.noopCommit, false),
		Gateway500: distOf(c.gateway, true), Errors: c.floorErrs}
}

func newCollector(from, to time.Time) *collector {
	c := &collector{from: from, to: to, latency: NewHistogram(), stages: map[string]*Histogram{},
		errs: map[string]int{}, noop: NewHistogram(), noopCommit: NewHistogram(), gateway: NewHistogram()}
	for _, s := range stageNames {
		c.stages[s] = NewHistogram()
	}
	return c
}

// in reports whether a send at t is in the measured window.
func (c *collector) in(t time.Time) bool { return !t.Before(c.from) && t.Before(c.to) }

// fillResult is the final answer (after retries) to one fill.
type fillResult struct {
	sent      time.Time // first attempt
	answered  time.Time
	followers int
	outcome   *ct.FillOutcome // nil on error
	code      ct.ErrorCode    // outcome code, or the error's code
	err       error           // the last attempt's error when the fill failed
	attempts  int
	tradeID   int64
}

// record counts one fill. Copier level: an OK fill addresses orders_planned + skipped
// follows, and each planned order is placed, rejected or still pending (counted with
// errors); a fill that failed, or whose outcome is unknown (DUPLICATE_FILL after an
// ambiguous attempt), counts each of its trader's followers as an error.
func (c *collector) record(r *fillResult) {
	if !c.in(r.sent) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fills.Sent++
	c.fills.Retries += int64(r.attempts - 1)
	o := r.outcome
	switch {
	case o != nil && r.code == ct.ErrorCode_OK:
		c.fills.OK++
		c.copier.Sent += int64(o.OrdersPlanned + o.Skipped)
		c.copier.Placed += int64(o.Placed)
		c.copier.Rejected += int64(o.Rejected)
		c.copier.Skipped += int64(o.Skipped)
		c.copier.Pending += int64(o.Pending)
		c.copier.Errors += int64(o.Pending)
		c.copier.Unaccounted += int64(o.OrdersPlanned - o.Placed - o.Rejected - o.Pending)
		if n := int(o.OrdersPlanned + o.Skipped); n != r.followers {
			c.copier.FollowersMismatch++
		}
		lat := r.answered.Sub(r.sent)
		c.latency.Record(lat)
		if t := o.Timings; t != nil {
			c.stages[StageRouter].Record(lat - us(t.TotalUs))
			c.stages[StageQueue].Record(us(t.QueueUs))
			c.stages[StageCommit].Record(us(t.CommitUs))
			c.stages[StageDispatch].Record(us(t.DispatchUs))
			c.stages[StageTotal].Record(us(t.TotalUs))
		}
	case r.code == ct.ErrorCode_DUPLICATE_FILL:
		c.fills.Ambiguous++
		c.copier.Sent += int64(r.followers)
		c.copier.Errors += int64(r.followers)
	default:
		c.fills.Errors++
		c.copier.Sent += int64(r.followers)
		c.copier.Errors += int64(r.followers)
		k := r.code.String()
		if r.code == 0 {
			k = "transport"
		}
		c.errs[k]++
	}
}

func us(v int64) time.Duration { return time.Duration(v) * time.Microsecond }

func (c *collector) recordNoop(sent time.Time, rtt, commit time.Duration, err error) {
	if !c.in(sent) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.floorErrs++
		return
	}
	c.noop.Record(rtt)
	c.noopCommit.Record(commit)
}

func (c *collector) recordGateway(sent time.Time, rtt time.Duration, err error) {
	if !c.in(sent) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.floorErrs++
		return
	}
	c.gateway.Record(rtt)
}

// snapshot is a progress view: fills sent and OK, P99 so far (ms), orders acknowledged.
func (c *collector) snapshot() (sent, ok, errs int64, p99 float64, orders int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fills.Sent, c.fills.OK, c.fills.Errors + c.fills.Ambiguous, Millis(c.latency.Quantile(0.99)),
		c.copier.Placed + c.copier.Rejected
}
