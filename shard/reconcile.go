package shard

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

// runReconciler finds the term's orders that nobody is sending — pending from an earlier
// term, or carried by a request that failed — and settles each exactly once: it asks the
// gateway by client order ID; a known order's result goes to the batcher, an unknown
// one is placed. It only queries an order once every earlier request that carried it
// has landed or failed (the fence; see DESIGN.md). It backs off while the gateway fails.
func (n *Node) runReconciler(ls *leaderState) {
	defer ls.wg.Done()
	backoff := n.cfg.ReconcileInterval
	timer := time.NewTimer(time.Until(ls.fenceUntil))
	defer timer.Stop()
	for {
		select {
		case <-ls.ctx.Done():
			return
		case <-ls.kick:
			continue // failed orders are not due yet; the timer wakes us when they are
		case <-timer.C:
		}
		if n.reconcileOnce(ls) {
			backoff = n.cfg.ReconcileInterval
		} else {
			backoff = min(2*backoff, n.cfg.ReconcileMaxBackoff)
		}
		timer.Reset(backoff)
	}
}

// reconcileOnce handles every due order once; false if the gateway failed.
func (n *Node) reconcileOnce(ls *leaderState) bool {
	now := n.clock()
	var query []raftfsm.OrderIntent
	var refeed []raftfsm.OrderResult
	ls.mu.Lock()
	for _, t := range ls.track {
		if now.Before(t.due) {
			continue
		}
		switch t.state {
		case trackRecover, trackFailed:
			t.state = trackInflight
			query = append(query, t.intent)
		case trackAnswered:
			t.due = now.Add(n.refeedAfter())
			refeed = append(refeed, t.res)
		}
	}
	ls.mu.Unlock()
	// In ID order, not the table's: the same pending set gives the same requests (the
	// simulation replays a seed exactly).
	slices.SortFunc(query, func(a, b raftfsm.OrderIntent) int { return strings.Compare(a.ClientOrderID, b.ClientOrderID) })
	slices.SortFunc(refeed, func(a, b raftfsm.OrderResult) int { return strings.Compare(a.ClientOrderID, b.ClientOrderID) })
	n.metrics.reconcileDue.Set(float64(len(query)))

	if len(refeed) > 0 {
		still := n.stillPending(refeed)
		again := refeed[:0]
		for i, r := range refeed {
			if !still[i] {
				ls.mu.Lock()
				delete(ls.track, r.ClientOrderID)
				ls.mu.Unlock()
				continue
			}
			again = append(again, r)
		}
		if len(again) > 0 && !ls.answer(again, now.Add(n.refeedAfter())) {
			return true
		}
	}
	ok := true
	size := n.cfg.DispatchBatchSize
	for i := 0; i < len(query); i += size {
		if ls.ctx.Err() != nil {
			return true
		}
		if !n.queryThenPlace(ls, query[i:min(i+size, len(query))]) {
			ok = false
		}
	}
	if len(query) > 0 {
		n.log.Info("reconciled pending orders", "orders", len(query), "gateway_ok", ok)
	}
	return ok
}

// queryThenPlace asks the gateway about orders; known ones are answered, unknown ones
// placed. On a query failure the orders become due again at once (a query creates
// nothing, so nothing needs to land first).
func (n *Node) queryThenPlace(ls *leaderState, batch []raftfsm.OrderIntent) bool {
	ids := make([]string, len(batch))
	for i := range batch {
		ids[i] = batch[i].ClientOrderID
	}
	ctx, cancel := context.WithTimeout(ls.ctx, n.cfg.DispatchTimeout)
	t := time.Now()
	resp, err := n.gw.QueryOrders(ctx, &gateway.QueryOrdersRequest{ClientOrderIds: ids})
	cancel()
	n.metrics.gateway.WithLabelValues("query").Observe(time.Since(t).Seconds())
	if err == nil && len(resp.GetOrders()) != len(ids) {
		err = errShortAnswer
	}
	if err != nil {
		n.metrics.gatewayErrors.WithLabelValues("query").Inc()
		ls.markFailed(ids, n.clock())
		if ls.ctx.Err() == nil {
			n.log.Warn("QueryOrders failed; will retry with backoff", "orders", len(ids), "err", err)
		}
		return false
	}
	var unknown []raftfsm.OrderIntent
	var known []raftfsm.OrderResult
	for i, l := range resp.Orders {
		if l.ClientOrderId != ids[i] {
			ls.markFailed(ids[i:i+1], n.clock())
			continue
		}
		if l.Status == gateway.LookupStatus_FOUND && l.Order != nil {
			r, perr := orderResult(l.Order)
			if perr != nil {
				n.log.Warn("unusable gateway lookup; will query again", "err", perr)
				ls.markFailed(ids[i:i+1], n.clock().Add(n.cfg.ReconcileMaxBackoff))
				continue
			}
			known = append(known, r)
			continue
		}
		unknown = append(unknown, batch[i])
	}
	if len(known) > 0 {
		ls.answer(known, n.clock().Add(n.refeedAfter()))
	}
	if len(unknown) > 0 {
		n.metrics.replaced.Add(float64(len(unknown)))
		n.place(ls, unknown, nil)
	}
	return true
}
