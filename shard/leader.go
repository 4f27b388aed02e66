package shard

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
)

// leaderState lives for one leadership term of this node. Its context is cancelled when
// the term ends: every dispatch, query and timer of the term stops, and waiters fail
// with ErrNotLeader.
type leaderState struct {
	ctx    context.Context
	cancel context.CancelFunc
	since  time.Time
	term   uint64 // the raft term this state was created in; stamped on order requests
	// fenceUntil: before it, an order pending from an earlier term may still be in
	// flight from a deposed leader, so the reconciler does not query it yet.
	fenceUntil time.Time
	// lease (unix nanos, this node's clock) is the latest instant t0 such that a quorum
	// acknowledged this term after t0: a command proposed at t0 committed, or a
	// Barrier started at t0 committed. No later term's leader was elected before
	// it, so an order request whose expiry is at most lease + DispatchTimeout cannot
	// execute after a later leader's fence — however long this process was paused
	// between deciding to send and sending (design §4.6, DESIGN.md "The fence").
	lease      atomic.Int64
	ready      chan struct{}              // closed once Barrier has applied every earlier entry
	results    chan []raftfsm.OrderResult // answered results, a request's worth at a time
	kick       chan struct{}
	settleKick chan struct{} // an admin Settle created entries: pay them now
	wg         sync.WaitGroup

	mu    sync.Mutex
	track map[string]*track // orders this term is responsible for, by client order ID
}

type trackState uint8

const (
	// trackRecover: pending at takeover; query the gateway once due (the fence).
	trackRecover trackState = iota + 1
	// trackInflight: a PlaceOrders or QueryOrders carrying it is in flight.
	trackInflight
	// trackFailed: a request carrying it failed or timed out; query once due.
	trackFailed
	// trackAnswered: the gateway's final result is queued for an OrderResults command.
	trackAnswered
)

type track struct {
	state  trackState
	due    time.Time // recover/failed: when the reconciler may query; answered: when to re-feed
	intent raftfsm.OrderIntent
	res    raftfsm.OrderResult
}

// newLeaderState is the state of a term starting now, in term (stamped on requests).
func (n *Node) newLeaderState(term uint64) *leaderState {
	ctx, cancel := context.WithCancel(context.Background())
	now := n.clock()
	return &leaderState{
		ctx: ctx, cancel: cancel, since: now, fenceUntil: now.Add(n.cfg.fence()), term: term,
		ready:      make(chan struct{}),
		results:    make(chan []raftfsm.OrderResult, 1024),
		kick:       make(chan struct{}, 1),
		settleKick: make(chan struct{}, 1),
		track:      make(map[string]*track),
	}
}

func (n *Node) becomeLeader() {
	ls := n.newLeaderState(n.raft.CurrentTerm())
	if old := n.ls.Swap(ls); old != nil {
		old.cancel()
	}
	n.metrics.leaderChanges.Inc()
	n.metrics.isLeader.Set(1)
	n.log.Info("gained leadership", "fence", n.cfg.fence())
	ls.wg.Add(1)
	go n.takeOver(ls)
}

func (n *Node) stepDown(why string) {
	ls := n.ls.Swap(nil)
	if ls == nil {
		return
	}
	ls.cancel()
	n.metrics.isLeader.Set(0)
	n.log.Info("leadership ended", "why", why)
}

// takeOver runs once per term: Barrier so the machine holds every committed entry,
// bootstrap a new group, record the orders left pending by earlier terms, then start
// the term's background work.
func (n *Node) takeOver(ls *leaderState) {
	defer ls.wg.Done()
	for {
		t0 := n.clock()
		err := n.raft.Barrier(n.cfg.RequestTimeout).Error()
		if err == nil {
			ls.renewLease(t0)
			break
		}
		if ls.ctx.Err() != nil {
			return
		}
		n.log.Warn("barrier after election failed; retrying", "err", err)
		select {
		case <-ls.ctx.Done():
			return
		case <-time.After(n.cfg.ReconcileInterval):
		}
	}
	if group := n.recoverPending(ls); group == 0 {
		n.bootstrapMachine(ls)
	}
	ls.wg.Add(4)
	go n.storeMembership(ls) // membership.go
	go n.runFrozenWatch(ls)  // observe.go
	go n.runBatcher(ls)
	go n.runReconciler(ls)
	n.startTimers(ls)
}

// recoverPending runs once the machine holds every committed entry: every pending
// order becomes this term's to recover, queried once the fence has passed. It makes
// the term ready and returns the machine's group.
func (n *Node) recoverPending(ls *leaderState) raftfsm.GroupID {
	var pending []raftfsm.OrderIntent
	var group raftfsm.GroupID
	n.fsm.read(func(m *raftfsm.Machine) {
		group = m.Group()
		pending = pendingOrders(m)
		n.raiseStamp(m.Now())
	})
	ls.mu.Lock()
	for _, o := range pending {
		ls.track[o.ClientOrderID] = &track{state: trackRecover, due: ls.fenceUntil, intent: o}
	}
	ls.mu.Unlock()
	n.metrics.pendingOrders.Set(float64(len(pending)))
	n.recovered.Add(int64(len(pending)))
	close(ls.ready)
	n.log.Info("leader ready", "pending_orders", len(pending), "recover_after", ls.fenceUntil.Sub(n.clock()).Round(time.Millisecond))
	return group
}

// bootstrapMachine proposes the group's first command when the machine has none.
func (n *Node) bootstrapMachine(ls *leaderState) {
	slots := n.cfg.BootstrapSlots
	if len(slots) == 0 {
		slots = []raftfsm.SlotRange{{From: 0, To: raftfsm.NumSlots - 1}}
	}
	ctx, cancel := context.WithTimeout(ls.ctx, n.cfg.RequestTimeout)
	defer cancel()
	o := n.propose(ctx, &raftfsm.Bootstrap{Group: n.cfg.Group, Slots: slots, Epoch: 1})
	switch {
	case o.err != nil:
		n.log.Error("bootstrap command failed", "err", o.err)
	case o.res.Refusal != nil && o.res.Refusal.Code != raftfsm.CodeBootstrapped:
		n.log.Error("bootstrap command refused", "refusal", o.res.Refusal)
	default:
		n.log.Info("group bootstrapped", "index", o.res.Index, "slot_ranges", len(slots))
	}
}

// leader returns the current term's state once it is ready, or a NotLeader error.
func (n *Node) leader(ctx context.Context) (*leaderState, error) {
	ls := n.ls.Load()
	if ls == nil {
		return nil, n.leaderHint()
	}
	select {
	case <-ls.ready:
	case <-ls.ctx.Done():
		return nil, n.leaderHint()
	case <-ctx.Done():
		return nil, fmt.Errorf("shard: waiting for the new leader's barrier: %w", ErrDeadline)
	}
	if ls.ctx.Err() != nil {
		return nil, n.leaderHint()
	}
	return ls, nil
}

// outcome is what applying one command produced.
type outcome struct {
	res    *raftfsm.Result
	fo     *fanout // non-nil when the result planned orders
	commit time.Duration
	err    error
}

// apply stamps cmd with the leader's clock, appends it to the log and waits for it to be
// committed and applied (or for ctx). Orders in the result are dispatched by the
// goroutine that waits for the commit, whether or not the caller still waits.
func (n *Node) apply(ctx context.Context, cmd raftfsm.Command) outcome {
	ls, err := n.leader(ctx)
	if err != nil {
		return outcome{err: err}
	}
	// Stamp and enqueue under one lock, so the log's order is the stamps' order and
	// the machine's clock never goes back between two entries of this leader.
	start := time.Now()
	t0 := n.clock() // the lease this commit renews starts before the proposal exists
	n.stampMu.Lock()
	data := raftfsm.Encode(raftfsm.Envelope{TimeUnixNano: n.now(), Cmd: cmd})
	if n.testBeforeApply != nil {
		n.testBeforeApply(cmd)
	}
	f := n.raft.Apply(data, timeLeft(ctx, n.cfg.RequestTimeout))
	n.stampMu.Unlock()
	ch := make(chan outcome, 1)
	go func() {
		err := f.Error()
		o := outcome{commit: time.Since(start)}
		n.metrics.commit.Observe(o.commit.Seconds())
		if err != nil {
			o.err = n.raftErr("apply "+opName(cmd.Op()), err)
		} else {
			ls.renewLease(t0)
			res, ok := f.Response().(*raftfsm.Result)
			if !ok || res == nil {
				o.err = fmt.Errorf("shard: apply %s: no result from the machine", opName(cmd.Op()))
			} else {
				o.res = res
				if len(res.Orders) > 0 {
					o.fo = n.dispatchCommitted(ls, res.Orders)
				}
			}
		}
		ch <- o
	}()
	select {
	case o := <-ch:
		return o
	case <-ctx.Done():
		return outcome{err: fmt.Errorf("shard: apply %s: %w (it may still commit)", opName(cmd.Op()), ErrDeadline)}
	}
}

// now stamps commands: wall clock, strictly increasing on this node.
func (n *Node) now() int64 {
	t := n.wall().UnixNano()
	for {
		last := n.stamp.Load()
		if t <= last {
			t = last + 1
		}
		if n.stamp.CompareAndSwap(last, t) {
			return t
		}
	}
}

// markInflight records orders this term is about to send. New entries come from one
// slab per call (one allocation, not one per order); it is freed once every entry
// has left the table.
func (ls *leaderState) markInflight(orders []raftfsm.OrderIntent) {
	var slab []track
	ls.mu.Lock()
	for i := range orders {
		o := &orders[i]
		if t := ls.track[o.ClientOrderID]; t != nil {
			t.state = trackInflight
			continue
		}
		if slab == nil {
			slab = make([]track, len(orders)-i)
		}
		t := &slab[0]
		slab = slab[1:]
		t.state, t.intent = trackInflight, *o
		ls.track[o.ClientOrderID] = t
	}
	ls.mu.Unlock()
}

// markFailed records that a request carrying orders failed; they are queried, never
// resent blindly, once due.
func (ls *leaderState) markFailed(ids []string, due time.Time) {
	ls.mu.Lock()
	for _, id := range ids {
		if t := ls.track[id]; t != nil {
			t.state, t.due = trackFailed, due
		}
	}
	ls.mu.Unlock()
}

// answer records final gateway results and queues them for the batcher; due is when
// the reconciler queues a result again if its command has not committed. rs then
// belongs to the batcher.
func (ls *leaderState) answer(rs []raftfsm.OrderResult, due time.Time) bool {
	ls.mu.Lock()
	for i := range rs {
		if t := ls.track[rs[i].ClientOrderID]; t != nil {
			t.state, t.res, t.due = trackAnswered, rs[i], due
		}
	}
	ls.mu.Unlock()
	select {
	case ls.results <- rs:
		return true
	case <-ls.ctx.Done():
		return false
	}
}

// renewLease records that a quorum acknowledged this term after t0.
func (ls *leaderState) renewLease(t0 time.Time) {
	v := t0.UnixNano()
	for {
		old := ls.lease.Load()
		if v <= old || ls.lease.CompareAndSwap(old, v) {
			return
		}
	}
}

// leaseBase is the instant an order request sent at now counts its expiry from: the
// term's lease when it is recent (a commit within DispatchTimeout/2, the common case
// under load), else a fresh one from a Barrier started now (confirmRaft). A deposed
// leader — one that was paused, or partitioned, since its last commit — cannot renew
// it, so it sends nothing a later leader's fence does not cover.
func (n *Node) leaseBase(ls *leaderState, now time.Time) (time.Time, error) {
	base := time.Unix(0, ls.lease.Load())
	if now.Sub(base) < n.cfg.DispatchTimeout/2 {
		return minTime(base, now), nil
	}
	t0 := n.clock()
	if err := n.confirm(ls); err != nil {
		return time.Time{}, err
	}
	ls.renewLease(t0)
	return minTime(t0, now), nil
}

// confirmRaft is production's Node.confirm: a Barrier — an entry of this term
// committed by a quorum — bounded by DispatchTimeout and by the term's end.
//
// Not VerifyLeader: hashicorp/raft counts any AppendEntries success that arrives
// while a verification is open as a vote, including the answer to an RPC sent before
// it started. A leader paused mid-RPC (SIGSTOP, a long GC or VM stall) wakes with
// such answers in its sockets, and its VerifyLeader could succeed after a newer term
// had elected another leader — renewing the lease of a deposed leader, whose fresh
// expiry let a venue execute an order the new leader had already placed (make chaos,
// pause-leader, about 1 in 40). A stale answer can only acknowledge the entries its
// request carried, never an entry appended after the wake, so a committed Barrier
// proves that a quorum accepted this term after t0.
func (n *Node) confirmRaft(ls *leaderState) error {
	done := make(chan error, 1)
	go func() { done <- n.raft.Barrier(n.cfg.DispatchTimeout).Error() }()
	t := time.NewTimer(n.cfg.DispatchTimeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return n.raftErr("renew the leader lease", err)
		}
		return nil
	case <-ls.ctx.Done():
		return fmt.Errorf("shard: renew the leader lease: %w", ErrNotLeader)
	case <-t.C:
		return fmt.Errorf("shard: renew the leader lease: %w", ErrDeadline)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (ls *leaderState) kickSettlement() {
	select {
	case ls.settleKick <- struct{}{}:
	default:
	}
}

func (ls *leaderState) kickReconciler() {
	select {
	case ls.kick <- struct{}{}:
	default:
	}
}
