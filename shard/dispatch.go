package shard

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

// fanout tracks the dispatch of one command's orders.
type fanout struct {
	planned  int
	placed   atomic.Int32 // FILLED or PARTIALLY_FILLED
	rejected atomic.Int32 // REJECTED by the gateway
	failed   atomic.Int32 // no answer (request failed or timed out): left pending for the reconciler
	start    time.Time
	dur      time.Duration // set before done is closed
	done     chan struct{}
}

func (f *fanout) pending() int32 { return f.failed.Load() }

// dispatch sends orders to the gateway in parallel batches and returns at once; the
// fanout's done closes when every batch has been answered or has failed. Orders are
// marked in flight before the first byte leaves, so the reconciler never sends them too.
func (n *Node) dispatch(ls *leaderState, orders []raftfsm.OrderIntent) *fanout {
	fo := &fanout{planned: len(orders), start: time.Now(), done: make(chan struct{})}
	ls.markInflight(orders)
	size := n.cfg.DispatchBatchSize
	nb := (len(orders) + size - 1) / size
	n.metrics.fanoutOrders.Observe(float64(len(orders)))
	if nb == 1 {
		go func() {
			n.place(ls, orders, fo)
			n.finish(fo)
		}()
		return fo
	}
	go func() {
		sem := make(chan struct{}, n.cfg.DispatchParallelism)
		var wg sync.WaitGroup
		for i := 0; i < len(orders); i += size {
			b := orders[i:min(i+size, len(orders))]
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				n.place(ls, b, fo)
			}()
		}
		wg.Wait()
		n.finish(fo)
	}()
	return fo
}

func (n *Node) finish(fo *fanout) {
	fo.dur = time.Since(fo.start)
	n.metrics.stage.WithLabelValues("dispatch").Observe(fo.dur.Seconds())
	close(fo.done)
}

// place sends one PlaceOrders request. Every answered order's result goes to the
// batcher; on a failure or timeout the orders are marked failed and the reconciler
// will query them (never resend them blindly) once any copy of the request in flight
// has landed or failed. fo may be nil (reconciler).
func (n *Node) place(ls *leaderState, batch []raftfsm.OrderIntent, fo *fanout) {
	ids := make([]string, len(batch))
	for i := range batch {
		ids[i] = batch[i].ClientOrderID
	}
	sent := n.clock()
	due := sent.Add(n.cfg.DispatchTimeout + n.cfg.FenceMargin)
	// Design §4.6: the venue refuses (EXPIRED) an order that would execute after the
	// request's expiry. The expiry counts from the term's lease, not from now: a leader
	// paused after its last commit wakes up with an old lease, cannot renew it once
	// deposed, and so sends nothing that could execute after a later leader's fence.
	base, err := n.leaseBase(ls, sent)
	if ls.ctx.Err() != nil || err != nil { // the term ended: the next leader owns these orders
		ls.markFailed(ids, due)
		if fo != nil {
			fo.failed.Add(int32(len(batch)))
		}
		return
	}
	req := &gateway.PlaceOrdersRequest{Orders: orderRequests(batch)}
	expiry := base.Add(n.cfg.DispatchTimeout).UnixNano()
	for i := range req.Orders {
		req.Orders[i].ExpiryUnixNano, req.Orders[i].SenderTerm = expiry, int64(ls.term)
	}
	ctx, cancel := context.WithTimeout(ls.ctx, n.cfg.DispatchTimeout)
	resp, err := n.gw.PlaceOrders(ctx, req)
	cancel()
	n.metrics.gateway.WithLabelValues("place").Observe(time.Since(sent).Seconds())
	n.metrics.dispatchBatch.Observe(float64(len(batch)))
	if err == nil && len(resp.GetResults()) != len(batch) {
		err = fmt.Errorf("gateway answered %d results for %d orders", len(resp.GetResults()), len(batch))
	}
	if err != nil {
		ls.markFailed(ids, due)
		if fo != nil {
			fo.failed.Add(int32(len(batch)))
		}
		n.metrics.gatewayErrors.WithLabelValues("place").Inc()
		if ls.ctx.Err() == nil {
			n.log.Warn("PlaceOrders failed; orders stay pending and will be queried", "orders", len(batch), "err", err)
		}
		ls.kickReconciler()
		return
	}
	// The answered results go to the batcher together: one lock of the tracking table
	// and one channel send for the whole request, not one per order.
	results := make([]raftfsm.OrderResult, 0, len(batch))
	var placed, rejected int32
	for i, rep := range resp.Results {
		r, perr := orderResult(rep)
		if perr == nil && rep.ClientOrderId != ids[i] {
			perr = fmt.Errorf("result %d is for %q, not %q", i, rep.ClientOrderId, ids[i])
		}
		if perr == nil && rep.Status == gateway.OrderStatus_REJECTED && rep.RejectReason == gateway.RejectReason_EXPIRED {
			// Not executed and not recorded: query it (it will be unknown) and place it
			// again with a fresh expiry.
			ls.markFailed(ids[i:i+1], n.clock())
			if fo != nil {
				fo.failed.Add(1)
			}
			continue
		}
		if perr != nil {
			ls.markFailed(ids[i:i+1], due)
			if fo != nil {
				fo.failed.Add(1)
			}
			n.log.Warn("unusable gateway result; the order will be queried", "err", perr)
			continue
		}
		if r.Status == raftfsm.OrderRejected {
			rejected++
		} else {
			placed++
		}
		results = append(results, r)
	}
	if fo != nil {
		fo.rejected.Add(rejected)
		fo.placed.Add(placed)
	}
	if len(results) > 0 {
		ls.answer(results, n.clock().Add(n.refeedAfter()))
	}
}

// refeedAfter is how long an answered result may wait for its OrderResults command to
// commit before the reconciler queues it again.
func (n *Node) refeedAfter() time.Duration { return 2*n.cfg.RequestTimeout/5 + time.Second }

// wait blocks until the fan-out is acknowledged or ctx is done.
func (fo *fanout) wait(ctx context.Context) bool {
	select {
	case <-fo.done:
		return true
	case <-ctx.Done():
		return false
	}
}
