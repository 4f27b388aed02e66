package shard

import (
	"context"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
)

// maxResultsPerCommand bounds one OrderResults command.
const maxResultsPerCommand = 5000

// runBatcher gathers gateway results for ResultsBatchWindow after the first one and
// proposes them as ONE OrderResults command; proposals are pipelined (up to 64 in
// flight). On success the orders leave the term's tracking; on failure they stay
// answered and the reconciler queues them again.
func (n *Node) runBatcher(ls *leaderState) {
	defer ls.wg.Done()
	inflight := make(chan struct{}, 64)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var carry []raftfsm.OrderResult // received beyond the last command's bound
	for {
		var batch []raftfsm.OrderResult
		if len(carry) > 0 {
			batch, carry = takeResults(nil, carry)
		} else {
			select {
			case rs := <-ls.results:
				batch, carry = takeResults(nil, rs)
			case <-ls.ctx.Done():
				return
			}
		}
		timer.Reset(n.cfg.ResultsBatchWindow)
	collect:
		for len(batch) < maxResultsPerCommand {
			select {
			case rs := <-ls.results:
				batch, carry = takeResults(batch, rs)
			case <-timer.C:
				break collect
			case <-ls.ctx.Done():
				timer.Stop()
				return
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		select {
		case inflight <- struct{}{}:
		case <-ls.ctx.Done():
			return
		}
		go func() {
			defer func() { <-inflight }()
			n.proposeResults(ls, batch)
		}()
	}
}

// takeResults appends rs to batch up to maxResultsPerCommand and returns the rest.
// A first slice is taken as it is (the sender gave it up).
func takeResults(batch, rs []raftfsm.OrderResult) (_, rest []raftfsm.OrderResult) {
	k := min(len(rs), maxResultsPerCommand-len(batch))
	if batch == nil && k == len(rs) {
		return rs, nil
	}
	if batch == nil {
		batch = make([]raftfsm.OrderResult, 0, min(maxResultsPerCommand, 2*len(rs)))
	}
	return append(batch, rs[:k]...), rs[k:]
}

func (n *Node) proposeResults(ls *leaderState, batch []raftfsm.OrderResult) {
	n.metrics.resultsBatch.Observe(float64(len(batch)))
	ctx, cancel := context.WithTimeout(ls.ctx, n.cfg.RequestTimeout)
	defer cancel()
	var cmd raftfsm.Command = &raftfsm.OrderResults{Results: batch}
	for i := range batch {
		if batch[i].VenueTimeUnixNano > 0 { // the copy latency needs the venue's times (raftfsm/quality.go)
			cmd = &raftfsm.OrderResultsTimed{Results: batch}
			break
		}
	}
	o := n.propose(ctx, cmd)
	if o.err != nil {
		if ls.ctx.Err() == nil {
			n.log.Warn("OrderResults not committed; the reconciler will queue them again", "results", len(batch), "err", o.err)
		}
		return
	}
	if o.res.Refusal != nil {
		n.log.Error("OrderResults refused", "results", len(batch), "refusal", o.res.Refusal)
		return
	}
	n.metrics.countResults(batch)
	for _, q := range o.res.Quarantined {
		n.metrics.quarantined.Inc()
		n.log.Error("order quarantined: the venue's report breaks the gateway contract; resolve it with ctl orders resolve",
			"client_order_id", q.ClientOrderID, "reason", q.Reason, "index", o.res.Index)
	}
	ls.resultsCommitted(batch)
}

// resultsCommitted: the batch's OrderResults committed, so its answered orders leave
// the term's tracking.
func (ls *leaderState) resultsCommitted(batch []raftfsm.OrderResult) {
	ls.mu.Lock()
	for i := range batch {
		if t := ls.track[batch[i].ClientOrderID]; t != nil && t.state == trackAnswered {
			delete(ls.track, batch[i].ClientOrderID)
		}
	}
	ls.mu.Unlock()
}
