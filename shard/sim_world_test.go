package shard

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/tools/exchsim"
)

// simWorld is one seed's world: the venue, the network, three nodes (each with its own
// replica of the machine), the log, and the virtual clock.
type simWorld struct {
	seed   uint64
	rng    *rand.Rand
	start  time.Time
	now    time.Time
	cfg    Config
	venue  *exchsim.Sim
	gw     *simGateway
	nodes  [3]*Node
	leader int
	term   uint64
	index  uint64

	dispatchQ []simBatch // committed orders a leader has yet to send, per PlaceOrders request
	paused    *simPause  // a deposed leader that has not noticed yet (SIGSTOP), or nil

	traders  []raftfsm.AccountID
	exited   map[raftfsm.AccountID]bool // traders that exited and have not re-applied
	copiers  []simCopier
	syms     []string
	base     map[string]fixed.Dec // lead order size unit per instrument
	planned  map[string]bool      // every client order ID the machine planned
	settled  map[string]raftfsm.SettlementEntry
	period   uint64
	initial  fixed.Dec // Σ initial balances at the venue
	accounts []int64
	sa       int64 // settlement account, 0 = none
	stats    simStats
}

type simBatch struct {
	n      *Node
	ls     *leaderState
	orders []raftfsm.OrderIntent
}

// simPause is a leader stopped (SIGSTOP, a long GC pause, a frozen VM) with requests
// it had yet to send: another node takes over, and at wake it resumes exactly where it
// stopped — its term state still live, its dispatch and reconciler still running —
// until it learns it was deposed.
type simPause struct {
	n       *Node
	ls      *leaderState
	batches [][]raftfsm.OrderIntent
	wake    time.Time
}

type simCopier struct {
	id   raftfsm.AccountID
	mode raftfsm.PositionMode
}

var errSimNotLeader = errors.New("sim: not the leader")

func newSimWorld(seed uint64) (*simWorld, error) {
	w := &simWorld{
		seed: seed, rng: rand.New(rand.NewPCG(seed, 0x51a11)), start: time.Unix(1_800_000_000, 0),
		planned: map[string]bool{}, exited: map[raftfsm.AccountID]bool{}, settled: map[string]raftfsm.SettlementEntry{},
		base: map[string]fixed.Dec{"BTCUSDT": fixed.MustParse("0.01"), "ETHUSDT": fixed.MustParse("0.2"), "SOLUSDT": fixed.MustParse("3")},
	}
	w.now = w.start
	scheme, err := exchsim.ParseTradeIDScheme(*simTradeIDs)
	if err != nil {
		return nil, err
	}
	vc := exchsim.DefaultConfig()
	vc.ListenAddr, vc.Mode, vc.Seed, vc.MarkStepInterval = "", exchsim.NoDedup, seed, 0
	vc.AutoCreateAccounts = false
	vc.Logger = discardLogger()
	vc.Clock = func() time.Time { return w.now }
	vc.Faults = exchsim.Faults{Seed: seed, TradeIDs: scheme, PartialRate: *simPartial, RejectRate: 0.05,
		ReorderRate: 0.05, DuplicateRate: 0.03, BadReportRate: 0.01}
	if !*simCloseFaults {
		// -sim.close-faults=false: closes are spared injected rejects and partial
		// fills, to tell a divergence in owed closes from one elsewhere.
		vc.Faults.Spare = func(o *exchsim.Order) bool {
			var close bool
			w.lead().fsm.read(func(m *raftfsm.Machine) {
				od, ok := m.Order(o.ClientOrderID)
				close = ok && od.Effect == raftfsm.EffectClose
			})
			return close
		}
	}
	if w.venue, err = exchsim.New(vc); err != nil {
		return nil, err
	}
	w.gw = &simGateway{w: w, h: exchsim.NewHandler(w.venue)}

	w.cfg = DefaultConfig()
	w.cfg.Group, w.cfg.DispatchBatchSize = 1, 4
	if seed%2 == 0 {
		w.sa = 9_000_001
		w.cfg.SettlementAccount = w.sa
	}
	for i := range w.nodes {
		n := &Node{cfg: w.cfg, log: discardLogger(), fsm: newFSM(), gw: w.gw, metrics: newMetrics(), clock: w.clock}
		n.propose = w.proposer(n)
		n.confirm = func(ls *leaderState) error {
			if w.lead() != n || w.term != ls.term {
				return errSimNotLeader
			}
			return nil
		}
		w.nodes[i] = n
	}
	return w, nil
}

func (w *simWorld) close() { w.venue.Close() }

func (w *simWorld) clock() time.Time { return w.now }

func (w *simWorld) elapsed() time.Duration { return w.now.Sub(w.start) }

func (w *simWorld) lead() *Node { return w.nodes[w.leader] }

func (w *simWorld) machine() *raftfsm.Machine { return w.lead().fsm.m }

// proposer is Node.propose for node n: the in-process log. A command commits only if n
// leads; it is applied to every replica at the next index and the orders it planned
// are handed to the leader's term as production's dispatch does (marked in flight,
// split into requests) — sent by later dispatch steps.
func (w *simWorld) proposer(n *Node) func(context.Context, raftfsm.Command) outcome {
	return func(_ context.Context, cmd raftfsm.Command) outcome {
		ls := n.ls.Load()
		if w.lead() != n || ls == nil || ls.ctx.Err() != nil {
			return outcome{err: errSimNotLeader}
		}
		w.index++
		t0 := w.now
		w.now = w.now.Add(time.Microsecond)
		data := raftfsm.Encode(raftfsm.Envelope{TimeUnixNano: w.now.UnixNano(), Cmd: cmd})
		ls.renewLease(t0) // committed: production's apply renews the term's lease
		var res *raftfsm.Result
		for i, node := range w.nodes {
			node.fsm.mu.Lock()
			r := node.fsm.m.Apply(w.index, data)
			node.fsm.mu.Unlock()
			if i == w.leader {
				res = r
			}
		}
		for _, o := range res.Orders {
			w.planned[o.ClientOrderID] = true
		}
		for _, e := range res.Settlements {
			w.settled[e.SettlementID] = e
		}
		w.stats.quarantined += len(res.Quarantined)
		if len(res.Orders) > 0 {
			ls.markInflight(res.Orders)
			for i := 0; i < len(res.Orders); i += w.cfg.DispatchBatchSize {
				b := res.Orders[i:min(i+w.cfg.DispatchBatchSize, len(res.Orders))]
				w.dispatchQ = append(w.dispatchQ, simBatch{n: n, ls: ls, orders: b})
			}
		}
		return outcome{res: res}
	}
}

// must proposes a setup command; a refusal is an error.
func (w *simWorld) must(cmd raftfsm.Command) error {
	o := w.lead().propose(context.Background(), cmd)
	if o.err != nil {
		return o.err
	}
	if o.res.Refusal != nil {
		return fmt.Errorf("%T: %w", cmd, o.res.Refusal)
	}
	return nil
}

// becomeLeader makes node i lead a new term: a term state, then takeover recovery from
// its replica (production's newLeaderState and recoverPending).
func (w *simWorld) becomeLeader(i int) raftfsm.GroupID {
	w.term++
	w.leader = i
	n := w.nodes[i]
	ls := n.newLeaderState(w.term)
	n.ls.Store(ls)
	ls.renewLease(w.now) // production's takeover Barrier
	return n.recoverPending(ls)
}

func (w *simWorld) setup() error {
	if g := w.becomeLeader(0); g == 0 {
		w.lead().bootstrapMachine(w.lead().ls.Load())
	}
	for _, in := range w.venue.Instruments() {
		w.syms = append(w.syms, in.Symbol)
		if err := w.must(&raftfsm.InstrumentUpsert{Instrument: raftfsm.Instrument{Symbol: in.Symbol, LotStep: in.LotStep,
			TickSize: in.TickSize, MinQty: in.MinQty, MinNotional: in.MinNotional, MaxLeverage: in.MaxLeverage}}); err != nil {
			return err
		}
	}
	fund := func(id int64, bal string, mode exchsim.PositionMode) error {
		if _, _, err := w.venue.CreateAccount(id, fixed.MustParse(bal), mode); err != nil {
			return err
		}
		w.initial += fixed.MustParse(bal)
		w.accounts = append(w.accounts, id)
		return nil
	}
	if w.sa != 0 {
		if err := fund(w.sa, "0", exchsim.Hedge); err != nil {
			return err
		}
	}
	for i := range 3 {
		id := raftfsm.AccountID(100 + i)
		w.traders = append(w.traders, id)
		if err := fund(int64(id), "10000000", exchsim.Hedge); err != nil {
			return err
		}
		if err := w.must(&raftfsm.TraderApply{Trader: id, Stats: raftfsm.ApplicantStats{Equity: fixed.MustParse("100000")},
			Config: raftfsm.TraderConfig{ProfitShareBps: 1000, MaxCopiers: 100}}); err != nil {
			return err
		}
	}
	for i := range 12 {
		c := simCopier{id: raftfsm.AccountID(1000 + i), mode: raftfsm.Hedge}
		vm := exchsim.Hedge
		if i%3 == 2 {
			c.mode, vm = raftfsm.OneWay, exchsim.OneWay
		}
		w.copiers = append(w.copiers, c)
		if err := fund(int64(c.id), "1000000", vm); err != nil {
			return err
		}
		for k, t := range w.traders {
			if k == i%3 || (w.rng.IntN(3) == 0 && (*simNetting || c.mode == raftfsm.Hedge)) {
				if o := w.follow(c, t); o != nil && o.Code != raftfsm.CodeFollowExists {
					return o
				}
			}
		}
	}
	return nil
}

// follow proposes a follow with seed-drawn settings.
func (w *simWorld) follow(c simCopier, t raftfsm.AccountID) *raftfsm.Refusal {
	s := raftfsm.FollowSettings{Allocation: fixed.MustParse("50000"), LeveragePolicy: raftfsm.LeverageFollowTrader,
		MarginPolicy: raftfsm.MarginFollowTrader, PositionMode: c.mode}
	switch w.rng.IntN(3) {
	case 0:
		s.Mode, s.FixedMargin = raftfsm.FixedAmount, fixed.MustParse("200")
	case 1:
		s.Mode, s.Multiplier = raftfsm.Multiplier, fixed.MustParse("0.5")
	default:
		s.Mode = raftfsm.Proportional
	}
	if w.rng.IntN(4) == 0 {
		s.StopLossBps = int64(500 + w.rng.IntN(2000))
	}
	o := w.lead().propose(context.Background(), &raftfsm.Follow{Copier: c.id, Trader: t, Settings: s})
	if o.err != nil {
		return nil
	}
	return o.res.Refusal
}

// step draws one step.
func (w *simWorld) step() error {
	if w.paused != nil && !w.now.Before(w.paused.wake) {
		w.wake()
	}
	n := w.lead()
	ls := n.ls.Load()
	ctx := context.Background()
	switch r := w.rng.IntN(100); {
	case r < 25:
		return w.leadFill()
	case r < 45:
		w.dispatchOne()
	case r < 57:
		w.drainResults()
	case r < 67:
		w.advance(time.Duration(1+w.rng.IntN(800)) * time.Millisecond)
	case r < 75:
		n.reconcileOnce(ls)
	case r < 80:
		sym := w.syms[w.rng.IntN(len(w.syms))]
		in, _ := w.venue.Instrument(sym)
		bps := int64(w.rng.IntN(601) - 300) // ±3 %
		p, _ := fixed.MulBps(in.MarkPrice, 10000+bps, fixed.HalfEven)
		if err := w.venue.SetMark(sym, p); err != nil {
			return err
		}
		_ = n.proposeMarks(ls)
	case r < 85:
		w.followOp()
	case r < 88:
		w.period++
		if _, err := n.settle(ctx, w.period); err != nil {
			return fmt.Errorf("settle %d: %w", w.period, err)
		}
		n.payUnpaid(ls)
	case r < 92:
		n.payUnpaid(ls)
	case r < 94:
		w.changeLeader()
	case r < 95:
		return w.exitOrReapply()
	case r < 97:
		return w.resolveOne()
	default:
		w.advance(time.Duration(1+w.rng.IntN(50)) * time.Millisecond)
	}
	return nil
}

// advance moves the clock and lands the wire requests that are due.
func (w *simWorld) advance(d time.Duration) {
	w.now = w.now.Add(d)
	w.gw.deliver(false)
}

// leadFill: a lead trader trades on the venue; its fill is proposed as production's
// SubmitFill would (the leader stamps the mark).
func (w *simWorld) leadFill() error {
	t := w.traders[w.rng.IntN(len(w.traders))]
	sym := w.syms[w.rng.IntN(len(w.syms))]
	side := exchsim.Long
	if *simNetting && w.rng.IntN(2) == 0 || !*simNetting && (int(t)+len(sym))%2 == 0 {
		side = exchsim.Short
	}
	pos, _ := w.venue.PositionOf(int64(t), sym, side)
	ctx := context.Background()
	var lf exchsim.LeadFill
	var err error
	switch r := w.rng.Float64(); {
	case pos.Qty == 0 || r < 0.5:
		o := exchsim.Order{Account: int64(t), Instrument: sym, PositionSide: side, Side: exchsim.Buy, Type: exchsim.Market,
			Qty: w.base[sym] * fixed.Dec(1+w.rng.IntN(5)), Leverage: 10, MarginMode: exchsim.Cross}
		if side == exchsim.Short {
			o.Side = exchsim.Sell
		}
		_, lf, err = w.venue.PlaceLeadOrder(ctx, o)
	case r < 0.53:
		_, lf, err = w.venue.LiquidateLead(ctx, int64(t), sym, side)
	default:
		in, _ := w.venue.Instrument(sym)
		q := pos.Qty
		if r < 0.8 {
			q = (q * fixed.Dec(1+w.rng.IntN(9)) / 10).RoundDownTo(in.LotStep)
		}
		if q <= 0 {
			q = pos.Qty
		}
		o := exchsim.Order{Account: int64(t), Instrument: sym, PositionSide: side, Side: exchsim.Sell, Type: exchsim.Market,
			Qty: q, ReduceOnly: true, Leverage: 10, MarginMode: exchsim.Cross}
		if side == exchsim.Short {
			o.Side = exchsim.Buy
		}
		_, lf, err = w.venue.PlaceLeadOrder(ctx, o)
	}
	if err != nil {
		return nil // the venue refused the trader's own order: no fill, no signal
	}
	if w.exited[t] {
		return nil // not a lead trader now: its fills are no signals
	}
	in, _ := w.venue.Instrument(sym)
	f := &raftfsm.TradeFill{Trader: t, TradeID: lf.TradeID, Instrument: sym, Side: raftfsm.Side(lf.Side),
		PosSide: raftfsm.PosSide(lf.PositionSide), Qty: lf.Qty, Price: lf.Price, Leverage: lf.Leverage,
		MarginMode: raftfsm.MarginMode(lf.MarginMode), Equity: lf.Equity, Liquidation: lf.Liquidation, MarkPrice: in.MarkPrice,
		PositionAfter: lf.PositionAfter, Fee: lf.Fee, EventTimeUnixNano: w.now.UnixNano()} // fill contract v2: the venue's figures
	o := w.lead().propose(ctx, f)
	if o.err == nil && o.res.Refusal != nil {
		// The machine refused a real fill: the copy loop diverges from the trader.
		w.stats.divergences++
		if len(w.stats.notes) < 12 {
			w.stats.notes = append(w.stats.notes, fmt.Sprintf("seed %d: fill %d of trader %d refused: %v", w.seed, lf.TradeID, t, o.res.Refusal))
		}
	}
	return nil
}

// dispatchOne sends one planned request (production's place), usually the oldest, at
// times a later one first.
func (w *simWorld) dispatchOne() {
	if len(w.dispatchQ) == 0 {
		return
	}
	k := 0
	if w.rng.IntN(4) == 0 {
		k = w.rng.IntN(len(w.dispatchQ))
	}
	b := w.dispatchQ[k]
	w.dispatchQ = append(w.dispatchQ[:k], w.dispatchQ[k+1:]...)
	b.n.place(b.ls, b.orders, nil)
	if len(b.ls.results) > 256 {
		w.drainResults()
	}
}

// drainResults is production's batcher without its timer: everything answered goes
// into OrderResults commands of at most maxResultsPerCommand (takeResults,
// proposeResults).
func (w *simWorld) drainResults() {
	n := w.lead()
	ls := n.ls.Load()
	var carry []raftfsm.OrderResult
	for {
		var batch []raftfsm.OrderResult
		if len(carry) > 0 {
			batch, carry = takeResults(nil, carry)
		}
	collect:
		for len(batch) < maxResultsPerCommand {
			select {
			case rs := <-ls.results:
				batch, carry = takeResults(batch, rs)
			default:
				break collect
			}
		}
		if len(batch) == 0 {
			return
		}
		n.proposeResults(ls, batch)
	}
}

// followOp: a copier pauses, resumes, unfollows (closing) or follows.
func (w *simWorld) followOp() {
	ci := w.rng.IntN(len(w.copiers))
	c := w.copiers[ci]
	t := w.traders[w.rng.IntN(len(w.traders))]
	if !*simNetting && c.mode == raftfsm.OneWay {
		t = w.traders[ci%3]
	}
	f, ok := w.machine().Follow(c.id, t)
	var cmd raftfsm.Command
	switch {
	case !ok:
		w.follow(c, t)
		return
	case f.Status == raftfsm.FollowPaused:
		cmd = &raftfsm.FollowResume{Copier: c.id, Trader: t}
	case f.Status == raftfsm.FollowActive && w.rng.IntN(2) == 0:
		cmd = &raftfsm.FollowPause{Copier: c.id, Trader: t}
	case f.Status == raftfsm.FollowActive:
		cmd = &raftfsm.Unfollow{Copier: c.id, Trader: t, ClosePositions: true}
	default:
		return
	}
	w.lead().propose(context.Background(), cmd)
}

// changeLeader: the leader is deposed (some of its planned requests still leave, onto
// the wire, as a deposed leader's last sends; the rest never do) and another node
// takes over from its replica.
func (w *simWorld) changeLeader() {
	w.wake() // a leader paused by an earlier change wakes first
	old := w.lead()
	ols := old.ls.Load()
	var pause *simPause
	if w.rng.IntN(3) == 0 {
		// Paused: it wakes before, around or well after the next leader's fence.
		pause = &simPause{n: old, ls: ols, wake: w.now.Add(time.Duration(w.rng.Int64N(int64(3 * w.cfg.fence()))))}
	}
	kept := w.dispatchQ[:0]
	for _, b := range w.dispatchQ {
		if b.n != old {
			kept = append(kept, b)
			continue
		}
		if pause != nil {
			pause.batches = append(pause.batches, b.orders)
			continue
		}
		if w.rng.IntN(2) == 0 {
			w.gw.forceWire = true
			old.place(ols, b.orders, nil)
			w.gw.forceWire = false
		}
	}
	w.dispatchQ = kept
	if pause != nil {
		w.paused = pause // it still believes it leads: no step-down until it wakes
		w.stats.pauses++
	} else {
		old.stepDown("sim: deposed")
	}
	next := (w.leader + 1 + w.rng.IntN(len(w.nodes)-1)) % len(w.nodes)
	w.becomeLeader(next)
	w.stats.leaderChanges++
}

// wake resumes the paused leader, if any: its dispatcher sends what it had planned and
// its reconciler runs once, with its term state still live, before it learns that it
// was deposed. Whatever of that reaches the venue after the new leader's fence would
// execute a second time at the no-dedup venue (dup_executions).
func (w *simWorld) wake() {
	p := w.paused
	if p == nil {
		return
	}
	w.paused = nil
	for _, b := range p.batches {
		p.n.place(p.ls, b, nil)
	}
	p.n.reconcileOnce(p.ls)
	p.n.stepDown("sim: woke up deposed")
}

// exitOrReapply: a lead trader exits (its follows end: positions closed or detached by
// the exit's policy) or an exited one re-applies. An exited trader keeps trading at the
// venue; its fills are not signals (production drops them before raft) until it leads
// again, and the first one after that carries the venue's position.
func (w *simWorld) exitOrReapply() error {
	t := w.traders[w.rng.IntN(len(w.traders))]
	if w.exited[t] {
		delete(w.exited, t)
		return w.must(&raftfsm.TraderApply{Trader: t, Stats: raftfsm.ApplicantStats{Equity: fixed.MustParse("100000")},
			Config: raftfsm.TraderConfig{ProfitShareBps: int64(500 + 500*w.rng.IntN(3)), MaxCopiers: 100}})
	}
	if len(w.exited)+1 >= len(w.traders) {
		return nil // one trader always leads
	}
	pol := raftfsm.LiqClose
	if w.rng.IntN(3) == 0 {
		pol = raftfsm.LiqDetach
	}
	w.exited[t] = true
	w.stats.exits++
	return w.must(&raftfsm.TraderExit{Trader: t, Policy: pol})
}

// resolveOne: an admin resolves one quarantined order with the venue's true figures.
func (w *simWorld) resolveOne() error {
	q := w.machine().QuarantinedOrders()
	if len(q) == 0 {
		return nil
	}
	id := q[0].ClientOrderID
	r, ok := w.venue.TrueResult(id)
	if !ok {
		ls, err := w.venue.QueryOrders(context.Background(), []string{id})
		if err != nil || !ls[0].Found {
			return fmt.Errorf("quarantined %s (%s) unknown at the venue", id, q[0].Reason)
		}
		r = ls[0].Result
	}
	o := w.lead().propose(context.Background(), &raftfsm.OrderResolve{Result: raftfsm.OrderResult{ClientOrderID: id,
		Status: raftfsm.OrderStatus(r.Status + 1), FilledQty: r.FilledQty, AvgPrice: r.AvgPrice, Fee: r.Fee, Reason: r.Reason.String()}})
	if o.err == nil && o.res.Refusal != nil {
		return fmt.Errorf("resolve %s: %w", id, o.res.Refusal)
	}
	return nil
}

// leaderMachineCheck: every invariant of the leader's replica.
func (w *simWorld) leaderMachineCheck() error { return w.machine().CheckInvariants() }

// quiesce stops new work and lets the leader finish: the wire drains, the fence
// passes, every pending order is reconciled, every quarantined order resolved, every
// settlement paid. What is left is stranded.
func (w *simWorld) quiesce() error {
	w.wake()
	for round := 0; round < 40; round++ {
		w.advance(w.cfg.fence() + time.Second)
		w.gw.deliver(true)
		for len(w.dispatchQ) > 0 {
			w.dispatchOne()
		}
		w.drainResults()
		n := w.lead()
		ls := n.ls.Load()
		n.reconcileOnce(ls)
		w.drainResults()
		for len(w.machine().QuarantinedOrders()) > 0 {
			if err := w.resolveOne(); err != nil {
				return err
			}
		}
		n.payUnpaid(ls)
		if w.quiet() {
			return nil
		}
	}
	m := w.machine()
	w.stats.stranded = len(m.PendingOrders()) + len(m.QuarantinedOrders()) + len(m.PayableSettlements())
	w.stats.notes = append(w.stats.notes, fmt.Sprintf("seed %d: not quiet after 40 rounds: %d pending, %d quarantined, %d payable",
		w.seed, len(m.PendingOrders()), len(m.QuarantinedOrders()), len(m.PayableSettlements())))
	ls := w.lead().ls.Load()
	for i, o := range m.PendingOrders() {
		if i == 3 {
			break
		}
		ls.mu.Lock()
		t := ls.track[o.ClientOrderID]
		st := "untracked"
		if t != nil {
			st = fmt.Sprintf("state %d due %s", t.state, t.due.Sub(w.now))
		}
		ls.mu.Unlock()
		l, _ := w.venue.QueryOrders(context.Background(), []string{o.ClientOrderID})
		w.stats.notes = append(w.stats.notes, fmt.Sprintf("seed %d: pending %s (%s): %s; venue found=%v %+v", w.seed,
			o.ClientOrderID, map[raftfsm.OrderEffect]string{raftfsm.EffectOpen: "open", raftfsm.EffectClose: "close"}[o.Effect], st, l[0].Found, l[0].Result))
	}
	return nil
}

func (w *simWorld) quiet() bool {
	m := w.machine()
	ls := w.lead().ls.Load()
	ls.mu.Lock()
	tracked := len(ls.track)
	ls.mu.Unlock()
	return len(m.PendingOrders()) == 0 && len(m.QuarantinedOrders()) == 0 && len(m.PayableSettlements()) == 0 &&
		len(w.gw.wire) == 0 && len(w.dispatchQ) == 0 && len(ls.results) == 0 && tracked == 0
}
