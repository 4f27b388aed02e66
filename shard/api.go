package shard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/hashicorp/raft"
)

// The node's Go API: what the Kitex handler calls, and what tests and benchmarks drive
// directly.

// requestCtx bounds a request: the smallest of the caller's deadline, timeoutMs and
// RequestTimeout, less a margin so the answer reaches the caller before its deadline.
func (n *Node) requestCtx(ctx context.Context, timeoutMs int32) (context.Context, context.CancelFunc) {
	d := n.cfg.RequestTimeout
	if timeoutMs > 0 {
		d = time.Duration(timeoutMs) * time.Millisecond
	}
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	margin := max(2*time.Millisecond, d/20)
	return context.WithTimeout(ctx, max(d-margin, time.Millisecond))
}

// SubmitFill copies one lead-trader fill: checks the trader leads (no log entry if not),
// stamps the mark price, applies it and, with acked, waits for every planned order's
// gateway answer. It never returns before a refusal, a commit or the deadline; the
// outcome's Code says which (OK, a refusal, NOT_LEADER, UNAVAILABLE, DEADLINE).
func (n *Node) SubmitFill(ctx context.Context, f raftfsm.TradeFill, acked bool, received time.Time) *ct.FillOutcome {
	out := &ct.FillOutcome{Trader: int64(f.Trader), TradeId: f.TradeID, Timings: &ct.Timings{}}
	defer func() {
		out.Timings.TotalUs = time.Since(received).Microseconds()
		n.metrics.stage.WithLabelValues("total").Observe(time.Since(received).Seconds())
		n.metrics.fills.WithLabelValues(out.Code.String()).Inc()
	}()
	if _, err := n.leader(ctx); err != nil {
		n.fillError(out, err)
		return out
	}
	// Stamped before the check: the price band is judged around the mark the
	// entry will carry, the venue time against the leader's clock.
	f.MarkPrice = n.marks.get(f.Instrument)
	var ref *raftfsm.Refusal
	now := time.Now().UnixNano()
	// A refused fill (copied order, implausible, stale, duplicate, ...) never becomes a log entry.
	n.fsm.read(func(m *raftfsm.Machine) { ref = m.CheckFillAt(&f, now) })
	if ref != nil {
		convert.RefusalOutcome(out, ref)
		return out
	}
	queued := time.Now()
	out.Timings.QueueUs = queued.Sub(received).Microseconds()
	n.metrics.stage.WithLabelValues("queue").Observe(queued.Sub(received).Seconds())
	o := n.apply(ctx, &f)
	out.Timings.CommitUs = time.Since(queued).Microseconds()
	n.metrics.stage.WithLabelValues("commit").Observe(time.Since(queued).Seconds())
	if o.err != nil {
		n.fillError(out, o.err)
		return out
	}
	out.Index = int64(o.res.Index)
	if o.res.Refusal != nil {
		convert.RefusalOutcome(out, o.res.Refusal)
		return out
	}
	if o.res.PositionMismatch {
		n.metrics.mismatches.Inc()
		n.log.Warn("venue position differs from the tracked one; the venue's figure was used",
			"trader", f.Trader, "trade-id", f.TradeID, "instrument", f.Instrument, "position-after", f.PositionAfter.String())
	}
	out.OrdersPlanned = int32(len(o.res.Orders))
	out.Skipped = int32(len(o.res.Skips))
	n.metrics.copierOrders.WithLabelValues("planned").Add(float64(len(o.res.Orders)))
	n.metrics.copierOrders.WithLabelValues("skipped").Add(float64(len(o.res.Skips)))
	if acked && o.fo != nil {
		n.waitFanout(ctx, o.fo, out)
	}
	return out
}

// waitFanout waits for the gateway's answers to every planned order, up to ctx.
func (n *Node) waitFanout(ctx context.Context, fo *fanout, out *ct.FillOutcome) {
	done := fo.wait(ctx)
	out.Placed, out.Rejected = fo.placed.Load(), fo.rejected.Load()
	if done {
		out.Timings.DispatchUs = fo.dur.Microseconds()
		out.Pending = fo.pending()
	} else {
		out.Pending = int32(fo.planned) - out.Placed - out.Rejected
	}
	if out.Pending == 0 {
		return
	}
	switch {
	case n.ls.Load() == nil:
		h := n.leaderHint()
		out.Code, out.LeaderAddr = ct.ErrorCode_NOT_LEADER, h.LeaderAddr
		out.Message = fmt.Sprintf("leadership lost during the fan-out of index %d: %d of %d orders pending; the next leader places them exactly once", out.Index, out.Pending, fo.planned)
	case fo.failed.Load() > 0:
		out.Code = ct.ErrorCode_UNAVAILABLE
		out.Message = fmt.Sprintf("gateway unavailable: fill committed at index %d, %d of %d orders pending; they will be placed exactly once when the gateway answers", out.Index, out.Pending, fo.planned)
	default:
		out.Code = ct.ErrorCode_DEADLINE
		out.Message = fmt.Sprintf("deadline before the gateway answered: fill committed at index %d, %d of %d orders pending", out.Index, out.Pending, fo.planned)
	}
}

// fillError sets the outcome for an error that is not a machine refusal.
func (n *Node) fillError(out *ct.FillOutcome, err error) {
	out.Message = err.Error()
	var nl *NotLeaderError
	switch {
	case errors.As(err, &nl):
		out.Code, out.LeaderAddr = ct.ErrorCode_NOT_LEADER, nl.LeaderAddr
	case errors.Is(err, ErrDeadline):
		out.Code = ct.ErrorCode_DEADLINE
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrShutdown), errors.Is(err, ErrGatewayDown):
		out.Code = ct.ErrorCode_UNAVAILABLE
	default:
		out.Code = ct.ErrorCode_INTERNAL
	}
}

// Command applies an admin, trader, follow or settlement command. With acked, orders it
// plans (exit, unfollow with close) are waited for like a fill's. A refusal is returned
// as the *raftfsm.Refusal error.
func (n *Node) Command(ctx context.Context, cmd raftfsm.Command, acked bool) (*raftfsm.Result, *ct.CommandResponse, error) {
	received := time.Now()
	if _, err := n.leader(ctx); err != nil {
		return nil, nil, err
	}
	queued := time.Now()
	o := n.apply(ctx, cmd)
	if o.err != nil {
		return nil, nil, o.err
	}
	resp := &ct.CommandResponse{
		Index: int64(o.res.Index), OrdersPlanned: int32(len(o.res.Orders)),
		Timings: &ct.Timings{QueueUs: queued.Sub(received).Microseconds(), CommitUs: time.Since(queued).Microseconds()},
	}
	if o.res.Refusal != nil {
		return o.res, resp, o.res.Refusal
	}
	if acked && o.fo != nil {
		fo := &ct.FillOutcome{Timings: resp.Timings, Index: resp.Index}
		n.waitFanout(ctx, o.fo, fo)
		resp.Placed, resp.Rejected, resp.Pending = fo.Placed, fo.Rejected, fo.Pending
	}
	resp.Timings.TotalUs = time.Since(received).Microseconds()
	return o.res, resp, nil
}

// Noop commits a no-op and returns its index and commit time: the floor.
func (n *Node) Noop(ctx context.Context) (uint64, time.Duration, error) {
	if _, err := n.leader(ctx); err != nil {
		return 0, 0, err
	}
	o := n.apply(ctx, raftfsm.Noop{})
	if o.err != nil {
		return 0, 0, o.err
	}
	return o.res.Index, o.commit, nil
}

// Settle settles a period now (admin) and pays its entries in the background.
func (n *Node) Settle(ctx context.Context, period uint64) (uint64, []raftfsm.SettlementEntry, error) {
	ls, err := n.leader(ctx)
	if err != nil {
		return 0, nil, err
	}
	o := n.apply(ctx, &raftfsm.Settle{Period: period})
	if o.err != nil {
		return 0, nil, o.err
	}
	if o.res.Refusal != nil {
		return o.res.Index, nil, o.res.Refusal
	}
	if len(o.res.Settlements) > 0 {
		ls.kickSettlement() // paid by the term's settlement loop, retried on its backoff
	}
	return o.res.Index, o.res.Settlements, nil
}

// VerifyLeader confirms this node still leads before a read: the term's lease (a
// quorum acknowledged the term after it) is younger than LeaderLeaseTimeout — no
// follower of that quorum votes for anyone else within HeartbeatTimeout of hearing
// from this leader — or a Barrier renews it. Not raft's VerifyLeader, which a leader
// woken from a pause can pass with answers to requests it sent before (confirmRaft).
func (n *Node) VerifyLeader(ctx context.Context) error {
	ls, err := n.leader(ctx)
	if err != nil {
		return err
	}
	if n.transferring.Load() == 0 && n.raft.State() == raft.Leader &&
		n.clock().Sub(time.Unix(0, ls.lease.Load())) < n.cfg.LeaderLeaseTimeout {
		return nil
	}
	t0 := n.clock()
	done := make(chan error, 1)
	go func() { done <- n.confirm(ls) }()
	select {
	case err := <-done:
		if err != nil {
			return err
		}
		ls.renewLease(t0)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shard: verify leader: %w", ErrDeadline)
	}
}
