package shard

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

// marks is the leader's cache of the gateway's mark prices, stamped into fills.
type marks struct {
	mu sync.RWMutex
	m  map[string]fixed.Dec
}

func (c *marks) get(symbol string) fixed.Dec {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[symbol]
}

func (c *marks) set(ps []raftfsm.MarkPrice) {
	m := make(map[string]fixed.Dec, len(ps))
	for _, p := range ps {
		m[p.Instrument] = p.Price
	}
	c.mu.Lock()
	c.m = m
	c.mu.Unlock()
}

func (n *Node) startTimers(ls *leaderState) {
	if n.cfg.MarkPriceInterval > 0 {
		ls.wg.Add(1)
		go n.runMarks(ls)
	}
	// Always: even without automatic settlement (SettlementPeriod 0), a new leader pays
	// the entries an admin Settle or a deposed leader left unpaid.
	ls.wg.Add(1)
	go n.runSettlement(ls)
}

// runMarks fetches the gateway's marks every MarkPriceInterval and proposes them; the
// machine revalues positions and may plan stop-loss / take-profit closes, which apply
// dispatches like any other orders.
func (n *Node) runMarks(ls *leaderState) {
	defer ls.wg.Done()
	t := time.NewTicker(n.cfg.MarkPriceInterval)
	defer t.Stop()
	for {
		select {
		case <-ls.ctx.Done():
			return
		case <-t.C:
		}
		if err := n.proposeMarks(ls); err != nil && ls.ctx.Err() == nil {
			n.log.Warn("mark prices not proposed", "err", err)
		}
	}
}

func (n *Node) proposeMarks(ls *leaderState) error {
	ctx, cancel := context.WithTimeout(ls.ctx, n.cfg.DispatchTimeout)
	start := time.Now()
	resp, err := n.gw.MarkPrices(ctx, &gateway.MarkPricesRequest{})
	cancel()
	n.metrics.gateway.WithLabelValues("marks").Observe(time.Since(start).Seconds())
	if err != nil {
		n.metrics.gatewayErrors.WithLabelValues("marks").Inc()
		return err
	}
	ps := make([]raftfsm.MarkPrice, 0, len(resp.GetMarks()))
	for _, mk := range resp.GetMarks() {
		p, err := fixed.Parse(mk.Price)
		if err != nil || p <= 0 || len(mk.Instrument) == 0 || len(mk.Instrument) > raftfsm.MaxSymbolLen {
			continue
		}
		ps = append(ps, raftfsm.MarkPrice{Instrument: mk.Instrument, Price: p})
	}
	if len(ps) == 0 {
		return nil
	}
	n.marks.set(ps)
	ctx, cancel = context.WithTimeout(ls.ctx, n.cfg.RequestTimeout)
	defer cancel()
	o := n.propose(ctx, &raftfsm.MarkPrices{Prices: ps})
	if o.err != nil {
		return o.err
	}
	if o.res.Refusal != nil {
		return o.res.Refusal
	}
	return nil
}

// Settlement periods, UTC.
const (
	day  = 86400
	week = 7 * day
	// mondayOffset: 1970-01-01 was a Thursday; weeks start on Monday 1969-12-29.
	mondayOffset = 3 * day
)

// periodOf is the number of the period running at t.
func periodOf(p SettlementPeriod, t time.Time) uint64 {
	s := t.Unix()
	if p == SettleWeekly {
		return uint64((s + mondayOffset) / week)
	}
	return uint64(s / day)
}

// periodEnd is when period number q ends (the boundary at which it is settled).
func periodEnd(p SettlementPeriod, q uint64) time.Time {
	if p == SettleWeekly {
		return time.Unix(int64(q+1)*week-mondayOffset, 0).UTC()
	}
	return time.Unix(int64(q+1)*day, 0).UTC()
}

// runSettlement settles each period once it has ended — every unsettled one up to now,
// in order, so boundaries missed while no leader was up are caught up — and pays every
// payable entry, the traders' totals included, by an idempotent transfer (design §4
// item 8). It wakes at each boundary, when an admin Settle kicks it, and, while entries
// stay unpaid, on the reconciler's backoff (ReconcileInterval doubling up to
// ReconcileMaxBackoff), and at least every ReconcileMaxBackoff (a stepped wall clock).
func (n *Node) runSettlement(ls *leaderState) {
	defer ls.wg.Done()
	backoff := n.cfg.ReconcileInterval
	for {
		next := n.wall().Add(time.Hour)
		if n.cfg.SettlementPeriod != 0 {
			next = n.settleDue(ls)
		}
		unpaid := n.payUnpaid(ls)
		// Wake at least every ReconcileMaxBackoff: the wall clock may have been stepped
		// (NTP) past a boundary while this loop slept on a timer of the old clock.
		wait := min(next.Sub(n.wall()), n.cfg.ReconcileMaxBackoff)
		if unpaid > 0 {
			wait = min(wait, backoff)
			backoff = min(2*backoff, n.cfg.ReconcileMaxBackoff)
		} else {
			backoff = n.cfg.ReconcileInterval
		}
		t := time.NewTimer(max(wait, 10*time.Millisecond))
		select {
		case <-ls.ctx.Done():
			t.Stop()
			return
		case <-ls.settleKick:
			backoff = n.cfg.ReconcileInterval
		case <-t.C:
		}
		t.Stop()
	}
}

// settleDue proposes Settle for every ended, unsettled period; it returns the next
// boundary.
func (n *Node) settleDue(ls *leaderState) time.Time {
	p := n.cfg.SettlementPeriod
	cur := periodOf(p, n.wall())
	var last uint64
	n.fsm.read(func(m *raftfsm.Machine) { last = m.LastSettledPeriod() })
	from := last + 1
	if last == 0 {
		from = cur - 1
		if n.cfg.SettlementFrom != 0 {
			from = n.cfg.SettlementFrom
		}
	}
	for q := from; q < cur && ls.ctx.Err() == nil; q++ {
		if _, err := n.settle(ls.ctx, q); err != nil {
			n.log.Warn("settle failed; retrying later", "period", q, "err", err)
			break
		}
		// The entries are paid by payUnpaid, from the machine: totals only once
		// their copier entries are paid.
	}
	return periodEnd(p, cur)
}

// settle proposes Settle(period) and returns the entries it created. A period already
// settled is not an error.
func (n *Node) settle(ctx context.Context, period uint64) ([]raftfsm.SettlementEntry, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.RequestTimeout)
	defer cancel()
	o := n.propose(ctx, &raftfsm.Settle{Period: period})
	if o.err != nil {
		return nil, o.err
	}
	if r := o.res.Refusal; r != nil {
		if r.Code == raftfsm.CodePeriodSettled {
			return nil, nil
		}
		return nil, r
	}
	n.log.Info("settled period", "period", period, "entries", len(o.res.Settlements), "index", o.res.Index)
	return o.res.Settlements, nil
}

// payUnpaid pays every payable settlement entry the machine holds and records the
// outcomes with one SettlementPaid command per round; a round that completes a
// trader's copier entries makes the total payable, paid in the next round. It returns
// how many remain unpaid.
func (n *Node) payUnpaid(ls *leaderState) int {
	left := 0
	for round := 0; round < 3 && ls.ctx.Err() == nil; round++ {
		var payable []raftfsm.SettlementEntry
		n.fsm.read(func(m *raftfsm.Machine) { payable = m.PayableSettlements() })
		if len(payable) == 0 {
			return 0
		}
		if left = n.pay(ls, payable); left == len(payable) {
			break // no progress: wait for the backoff
		}
	}
	return left
}

// pay transfers each entry (idempotent by settlement ID at the gateway, so a repeat
// after a failover moves nothing) and records the outcomes; entries whose transfer got
// no answer are left for the next pass. It returns the entries still unpaid.
func (n *Node) pay(ls *leaderState, entries []raftfsm.SettlementEntry) int {
	var outcomes []raftfsm.SettlementOutcome
	left := 0
	for _, e := range entries {
		if ls.ctx.Err() != nil {
			return len(entries)
		}
		out, ok := n.transfer(ls.ctx, e)
		if !ok {
			left++
			continue
		}
		if !out.Paid {
			left++
		}
		outcomes = append(outcomes, out)
	}
	if len(outcomes) == 0 {
		return left
	}
	ctx, cancel := context.WithTimeout(ls.ctx, n.cfg.RequestTimeout)
	defer cancel()
	o := n.propose(ctx, &raftfsm.SettlementPaid{Outcomes: outcomes})
	switch {
	case o.err != nil:
		n.log.Warn("settlement outcomes not recorded; the transfers will be repeated (idempotent)", "err", o.err)
		return len(entries)
	case o.res.Refusal != nil:
		n.log.Error("settlement outcomes refused", "refusal", o.res.Refusal)
		return len(entries)
	}
	return left
}

// transfer pays one entry. ok is false when the gateway gave no answer.
func (n *Node) transfer(ctx context.Context, e raftfsm.SettlementEntry) (raftfsm.SettlementOutcome, bool) {
	out := raftfsm.SettlementOutcome{SettlementID: e.SettlementID}
	from, to := int64(e.Copier), int64(e.Trader)
	sa := n.cfg.SettlementAccount
	switch {
	case e.Copier == 0 && sa == 0:
		out.Paid = true // a trader's total needs no transfer without a settlement account
		return out, true
	case e.Copier == 0:
		from = sa
	case sa != 0:
		to = sa
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.DispatchTimeout)
	defer cancel()
	start := time.Now()
	resp, err := n.gw.Transfer(ctx, &gateway.TransferRequest{
		TransferId: e.SettlementID, FromAccount: from, ToAccount: to, Amount: e.Amount.String(),
		Memo: "copytrade profit share, period " + strconv.FormatUint(e.Period, 10),
	})
	n.metrics.gateway.WithLabelValues("transfer").Observe(time.Since(start).Seconds())
	if err != nil {
		n.metrics.gatewayErrors.WithLabelValues("transfer").Inc()
		n.log.Warn("settlement transfer got no answer; will retry", "settlement", e.SettlementID, "err", err)
		return out, false
	}
	if resp.Status == gateway.TransferStatus_TRANSFER_DONE {
		out.Paid = true
	} else {
		out.Reason = resp.RejectReason.String()
		n.log.Warn("settlement transfer rejected; will retry", "settlement", e.SettlementID, "reason", out.Reason, "message", resp.Message)
	}
	return out, true
}
