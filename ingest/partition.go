package ingest

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// The state of one record in its partition's queue.
const (
	stUndecided int32 = iota // trader not in the set, record newer than the set: wait for a newer set
	stSend                   // a lead fill to forward (again, after a transient answer, once notBefore passed)
	stInflight               // in a batch being forwarded
	stDLQ                    // malformed: being produced to the dead-letter topic
	stDone                   // applied, refused for good, filtered or dead-lettered
)

type item struct {
	rec       *kgo.Record
	fill      *ct.Fill
	st        atomic.Int32 // stDLQ → stDone from the producer's callback
	tries     int
	notBefore time.Time // stSend after a transient answer: not resent before
}

// batchResult is a forwarded batch's answers (or the error of the whole call).
type batchResult struct {
	items []*item
	outs  []*ct.FillOutcome
	err   error
}

// perPartitionBatches bounds the batches one partition has in flight: a later batch
// never holds a trader with a fill in an earlier one, so a group that answers slowly
// (or not at all) holds up only its own traders' fills.
const perPartitionBatches = 4

// partition consumes one topic-partition: records are decided in offset order, lead
// fills are forwarded in batches holding at most one fill per trader (so a trader's
// next fill is sent only after its previous one was answered for good), and the
// offset committed is always that of the first record not done.
//
// Invariant: committed ≤ offset of q[0] (everything before q[0] is done).
type partition struct {
	in    *Ingest
	topic string
	part  int32
	label string

	ctx    context.Context
	cancel context.CancelFunc
	stopc  chan struct{} // closed: finish the batch in flight, then return
	done   chan struct{}

	mu    sync.Mutex
	inbox []*kgo.Record
	wake  chan struct{}

	pauseMu sync.Mutex
	paused  bool // fetching paused (Ingest.pause / resume, under pauseMu)
	hwm     atomic.Int64
	next    atomic.Int64 // next offset to commit (−1 before the first record)
	queued  atomic.Int64 // len(inbox) + len(q)

	q         []*item // owned by run
	undecided int     // items of q in stUndecided (owned by run)
}

func newPartition(in *Ingest, topic string, part int32) *partition {
	p := &partition{in: in, topic: topic, part: part, label: strconv.Itoa(int(part)),
		stopc: make(chan struct{}), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	p.ctx, p.cancel = context.WithCancel(in.ctx)
	p.next.Store(-1)
	p.hwm.Store(-1)
	go p.run()
	return p
}

func (p *partition) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// push hands polled records to the partition; false when it should be paused.
func (p *partition) push(rs []*kgo.Record) bool {
	p.mu.Lock()
	p.inbox = append(p.inbox, rs...)
	p.mu.Unlock()
	n := p.queued.Add(int64(len(rs)))
	p.poke()
	return n < int64(p.in.cfg.MaxBuffered)
}

// stop ends the partition: the batch in flight may finish within grace, then it is
// cancelled. It returns once run has returned (its last mark made).
func (p *partition) stop(grace time.Duration) {
	close(p.stopc)
	t := time.AfterFunc(grace, p.cancel)
	<-p.done
	t.Stop()
	p.cancel()
}

func (p *partition) stopping() bool {
	select {
	case <-p.stopc:
		return true
	default:
		return p.ctx.Err() != nil
	}
}

func (p *partition) run() {
	defer close(p.done)
	results := make(chan batchResult, perPartitionBatches)
	inflight := 0
	for !p.stopping() {
		p.intake()
		p.advance()
		var retry <-chan time.Time
		for inflight < perPartitionBatches {
			b, wake := p.batch(time.Now())
			if len(b) == 0 {
				if !wake.IsZero() {
					retry = time.After(time.Until(wake))
				}
				break
			}
			inflight++
			go p.forward(b, results)
		}
		var newer <-chan struct{}
		if p.hasUndecided() {
			newer = p.in.filter.changes()
			p.reclassify() // the set may have changed before changes() was taken
			if !p.hasUndecided() {
				continue
			}
			p.in.filter.kick()
		}
		select {
		case <-p.stopc:
		case <-p.ctx.Done():
		case <-p.wake:
		case r := <-results:
			inflight--
			p.answered(r)
		case <-newer:
			p.reclassify()
		case <-retry:
		}
	}
	// Stopping: the batches in flight finish (or are cancelled after the grace); what
	// they applied is marked before the partition is given up.
	for ; inflight > 0; inflight-- {
		p.answered(<-results)
	}
	p.advance()
}

func (p *partition) hasUndecided() bool { return p.undecided > 0 }

// intake decodes and classifies the records pushed since the last call.
func (p *partition) intake() {
	p.mu.Lock()
	rs := p.inbox
	p.inbox = nil
	p.mu.Unlock()
	if len(rs) == 0 {
		return
	}
	m := p.in.metrics
	m.records.WithLabelValues(p.topic).Add(float64(len(rs)))
	m.stats.records.Add(int64(len(rs)))
	set := p.in.filter.set()
	for _, r := range rs {
		it := &item{rec: r}
		p.q = append(p.q, it)
		f, err := Decode(p.in.cfg.Format, r.Value)
		if err != nil {
			p.deadLetter(it, "decode", err)
			continue
		}
		it.fill = f
		p.undecided++ // a new item starts undecided (the zero state)
		p.classify(it, set)
	}
}

// reclassify decides undecided records against the set now in force, in order.
func (p *partition) reclassify() {
	if p.undecided == 0 {
		return
	}
	set := p.in.filter.set()
	for _, it := range p.q {
		if it.st.Load() == stUndecided {
			p.classify(it, set)
		}
	}
}

// classify decides an undecided item against set (it may stay undecided).
func (p *partition) classify(it *item, set *leadSet) {
	if it.st.Load() != stUndecided {
		return
	}
	p.undecided--
	switch {
	case set.has(it.fill.Trader):
		if err := Validate(it.fill); err != nil {
			p.deadLetter(it, "invalid", err)
			return
		}
		it.st.Store(stSend)
	case set.covers(it.rec.Timestamp, p.in.cfg.ClockSkew):
		it.st.Store(stDone)
		p.in.metrics.filtered.Inc()
		p.in.metrics.stats.filtered.Add(1)
	default:
		p.undecided++
	}
}

func (p *partition) deadLetter(it *item, reason string, err error) {
	it.st.Store(stDLQ)
	p.in.metrics.deadLetters.WithLabelValues(reason).Inc()
	p.in.metrics.stats.dead.Add(1)
	p.in.log.Warn("malformed fill record: sent to the dead-letter topic", "topic", it.rec.Topic,
		"partition", it.rec.Partition, "offset", it.rec.Offset, "reason", reason, "err", err)
	p.in.produceDLQ(p, it, err)
}

// advance drops the done prefix of the queue and marks the offset after it for commit.
func (p *partition) advance() {
	k := 0
	for k < len(p.q) && p.q[k].st.Load() == stDone {
		k++
	}
	if k > 0 {
		last := p.q[k-1].rec
		clear(p.q[:k])
		p.q = p.q[k:]
		p.queued.Add(-int64(k))
		p.next.Store(last.Offset + 1)
		p.in.mark(p.topic, p.part, last.LeaderEpoch, last.Offset+1)
	}
	p.updateLag()
	p.in.resume(p, false)
}

func (p *partition) updateLag() {
	hwm, next := p.hwm.Load(), p.next.Load()
	if hwm < 0 {
		return
	}
	if next < 0 { // nothing done yet: everything fetched and before is behind
		next = hwm - p.queued.Load()
	}
	p.in.metrics.lag.WithLabelValues(p.topic, p.label).Set(float64(max(hwm-next, 0)))
}

// batch picks the fills to forward now, marking them in flight: in offset order, at
// most one per trader, none of a trader with an earlier record undecided, in flight or
// waiting to be resent. wake is when the earliest fill waiting to be resent is due
// (zero: none).
func (p *partition) batch(now time.Time) (out []*item, wake time.Time) {
	blocked := map[int64]bool{}
	for _, it := range p.q {
		switch it.st.Load() {
		case stUndecided, stInflight:
			blocked[it.fill.Trader] = true
		case stSend:
			t := it.fill.Trader
			if blocked[t] {
				continue
			}
			blocked[t] = true
			if it.notBefore.After(now) {
				if wake.IsZero() || it.notBefore.Before(wake) {
					wake = it.notBefore
				}
				continue
			}
			it.st.Store(stInflight)
			out = append(out, it)
			if len(out) == p.in.cfg.MaxBatch {
				return out, wake
			}
		}
	}
	return out, wake
}

// forward sends one batch through the router's forwarding (at most MaxInFlight over
// every partition) and hands the answers back to the partition's goroutine.
func (p *partition) forward(batch []*item, results chan<- batchResult) {
	in := p.in
	r := batchResult{items: batch}
	defer func() { results <- r }()
	select {
	case in.sem <- struct{}{}:
	case <-p.ctx.Done():
		r.err = p.ctx.Err()
		return
	}
	defer func() { <-in.sem }()
	req := &ct.SubmitFillsRequest{Fills: make([]*ct.Fill, len(batch)), Wait: in.cfg.Wait,
		TimeoutMs: int32(in.cfg.ForwardTimeout.Milliseconds())}
	for i, it := range batch {
		req.Fills[i] = it.fill
	}
	in.metrics.batch.Observe(float64(len(batch)))
	ctx, cancel := context.WithTimeout(p.ctx, in.cfg.ForwardTimeout)
	r.outs, r.err = in.fwd.ForwardFills(ctx, req)
	cancel()
	if r.err == nil && len(r.outs) != len(batch) {
		r.err = errOutcomes
	}
}

// answered records a batch's answers: a final one makes its record done, a transient
// one schedules the fill to be resent after a backoff (its trader waits, nothing is
// skipped).
func (p *partition) answered(r batchResult) {
	in := p.in
	now := time.Now()
	retry := func(it *item) {
		it.tries++
		b := min(10*time.Millisecond<<min(it.tries-1, 16), in.cfg.RetryBackoffMax)
		it.notBefore = now.Add(b/2 + time.Duration(rand.Int64N(int64(b/2)+1)))
		it.st.Store(stSend)
	}
	if r.err != nil {
		if p.ctx.Err() == nil {
			in.log.Warn("forwarding a batch failed; resending", "topic", p.topic, "partition", p.part, "fills", len(r.items), "err", r.err)
		}
		in.metrics.retries.WithLabelValues("error").Add(float64(len(r.items)))
		for _, it := range r.items {
			retry(it)
		}
		return
	}
	for i, o := range r.outs {
		it := r.items[i]
		code := o.GetCode()
		switch {
		case code == ct.ErrorCode_OK:
			in.metrics.forwarded.WithLabelValues("applied").Inc()
			in.metrics.latency.Observe(now.Sub(it.rec.Timestamp).Seconds())
		case code == ct.ErrorCode_DUPLICATE_FILL:
			in.metrics.forwarded.WithLabelValues("duplicate").Inc()
		case o.GetIndex() > 0 && transient(code):
			// Committed at that index, its fan-out not finished in time (DEADLINE,
			// UNAVAILABLE: gateway down, NOT_LEADER: deposed during the fan-out): applied;
			// the group's leader places the pending orders exactly once. A resend could
			// only be answered DUPLICATE_FILL.
			in.metrics.forwarded.WithLabelValues("applied").Inc()
			in.metrics.latency.Observe(now.Sub(it.rec.Timestamp).Seconds())
		case transient(code):
			in.metrics.retries.WithLabelValues(code.String()).Inc()
			retry(it)
			if it.tries == 1 || it.tries%50 == 0 {
				in.log.Info("fill answered transiently; its trader waits and it is resent", "topic", p.topic,
					"partition", p.part, "offset", it.rec.Offset, "trader", it.fill.Trader, "trade_id", it.fill.TradeId,
					"code", code.String(), "msg", o.GetMessage(), "tries", it.tries)
			}
			continue
		default:
			in.metrics.forwarded.WithLabelValues("refused").Inc()
			if code == ct.ErrorCode_NOT_LEAD_TRADER || code == ct.ErrorCode_UNKNOWN_TRADER {
				in.filter.kick() // the set still has a trader who exited: relearn it now
			}
			in.log.Debug("fill refused for good", "topic", p.topic, "partition", p.part, "offset", it.rec.Offset,
				"trader", it.fill.Trader, "trade_id", it.fill.TradeId, "code", code.String(), "msg", o.GetMessage())
		}
		in.metrics.stats.forwarded.Add(1)
		if in.onFinal != nil {
			in.onFinal(it.fill, o, it.rec.Timestamp)
		}
		it.st.Store(stDone)
	}
}

// transient codes, on an outcome without a raft index, leave a fill to be resent: the
// group may still apply it (no leader, down, moving, overloaded), or the ingest is
// misconfigured (token) and must not drop fills meanwhile. Every other code is final: OK and DUPLICATE_FILL mean applied,
// the rest a refusal for good (NOT_LEAD_TRADER, UNKNOWN_TRADER, FILL_TOO_OLD, ...).
func transient(c ct.ErrorCode) bool {
	switch c {
	case ct.ErrorCode_NOT_LEADER, ct.ErrorCode_UNAVAILABLE, ct.ErrorCode_DEADLINE, ct.ErrorCode_MOVED,
		ct.ErrorCode_NOT_OWNED, ct.ErrorCode_MOVING, ct.ErrorCode_RATE_LIMITED, ct.ErrorCode_UNAUTHENTICATED,
		ct.ErrorCode_FORBIDDEN, ct.ErrorCode_INTERNAL:
		return true
	}
	return false
}
