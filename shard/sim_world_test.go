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
	groups [2]*simGroup // group 1 starts with the lower half of the slots, group 2 the upper
	migr   raftfsm.MigrationID

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

// simGroup is one shard group: three replicas of the machine, its leader and its log.
type simGroup struct {
	id     raftfsm.GroupID
	nodes  [3]*Node
	leader int
	term   uint64
	index  uint64
}

func (g *simGroup) lead() *Node { return g.nodes[g.leader] }

func (g *simGroup) machine() *raftfsm.Machine { return g.lead().fsm.m }

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
			for _, g := range w.groups {
				g.lead().fsm.read(func(m *raftfsm.Machine) {
					od, ok := m.Order(o.ClientOrderID)
					close = close || ok && od.Effect == raftfsm.EffectClose
				})
			}
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
	for gi := range w.groups {
		g := &simGroup{id: raftfsm.GroupID(gi + 1)}
		cfg := w.cfg
		cfg.Group = g.id
		half := uint16(raftfsm.NumSlots / 2)
		cfg.BootstrapSlots = []raftfsm.SlotRange{{From: uint16(gi) * half, To: uint16(gi)*half + half - 1}}
		for i := range g.nodes {
			n := &Node{cfg: cfg, log: discardLogger(), fsm: newFSM(), gw: w.gw, metrics: newMetrics(), clock: w.clock}
			n.propose = w.proposer(g, n)
			n.confirm = func(ls *leaderState) error {
				if g.lead() != n || g.term != ls.term {
					return errSimNotLeader
				}
				return nil
			}
			g.nodes[i] = n
		}
		w.groups[gi] = g
	}
	return w, nil
}

func (w *simWorld) close() { w.venue.Close() }

func (w *simWorld) clock() time.Time { return w.now }

func (w *simWorld) elapsed() time.Duration { return w.now.Sub(w.start) }

// groupOf is the group that serves trader t's slot now (owned, or frozen by a move).
func (w *simWorld) groupOf(t raftfsm.AccountID) *simGroup {
	slot := raftfsm.SlotOf(t)
	for _, g := range w.groups {
		if st := g.machine().SlotInfo(slot).State; st == raftfsm.SlotOwned || st == raftfsm.SlotFrozen {
			return g
		}
	}
	panic(fmt.Sprintf("sim: no group serves slot %d", slot))
}

// group draws a group.
func (w *simWorld) group() *simGroup { return w.groups[w.rng.IntN(len(w.groups))] }

// proposer is Node.propose for node n: the in-process log. A command commits only if n
// leads; it is applied to every replica at the next index and the orders it planned
// are handed to the leader's term as production's dispatch does (marked in flight,
// split into requests) — sent by later dispatch steps.
func (w *simWorld) proposer(g *simGroup, n *Node) func(context.Context, raftfsm.Command) outcome {
	return func(_ context.Context, cmd raftfsm.Command) outcome {
		ls := n.ls.Load()
		if g.lead() != n || ls == nil || ls.ctx.Err() != nil {
			return outcome{err: errSimNotLeader}
		}
		g.index++
		t0 := w.now
		w.now = w.now.Add(time.Microsecond)
		data := raftfsm.Encode(raftfsm.Envelope{TimeUnixNano: w.now.UnixNano(), Cmd: cmd})
		ls.renewLease(t0) // committed: production's apply renews the term's lease
		var res *raftfsm.Result
		for i, node := range g.nodes {
			node.fsm.mu.Lock()
			r := node.fsm.m.Apply(g.index, data)
			node.fsm.mu.Unlock()
			if i == g.leader {
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

// must proposes a command to group g; a refusal is an error.
func (w *simWorld) must(g *simGroup, cmd raftfsm.Command) error {
	o := g.lead().propose(context.Background(), cmd)
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
func (w *simWorld) becomeLeader(g *simGroup, i int) raftfsm.GroupID {
	g.term++
	g.leader = i
	n := g.nodes[i]
	ls := n.newLeaderState(g.term)
	n.ls.Store(ls)
	ls.renewLease(w.now) // production's takeover Barrier
	return n.recoverPending(ls)
}

func (w *simWorld) setup() error {
	for _, g := range w.groups {
		if id := w.becomeLeader(g, 0); id == 0 {
			g.lead().bootstrapMachine(g.lead().ls.Load())
		}
	}
	for _, in := range w.venue.Instruments() {
		w.syms = append(w.syms, in.Symbol)
		for _, g := range w.groups {
			if err := w.must(g, &raftfsm.InstrumentUpsert{Instrument: raftfsm.Instrument{Symbol: in.Symbol, LotStep: in.LotStep,
				TickSize: in.TickSize, MinQty: in.MinQty, MinNotional: in.MinNotional, MaxLeverage: in.MaxLeverage}}); err != nil {
				return err
			}
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
		if err := w.must(w.groupOf(id), &raftfsm.TraderApply{Trader: id, Stats: raftfsm.ApplicantStats{Equity: fixed.MustParse("100000")},
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
	o := w.groupOf(t).lead().propose(context.Background(), &raftfsm.Follow{Copier: c.id, Trader: t, Settings: s})
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
	g := w.group()
	n := g.lead()
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
		w.period++ // every group settles every period
		for _, g := range w.groups {
			if _, err := g.lead().settle(ctx, w.period); err != nil {
				return fmt.Errorf("group %d: settle %d: %w", g.id, w.period, err)
			}
			g.lead().payUnpaid(g.lead().ls.Load())
		}
	case r < 92:
		n.payUnpaid(ls)
	case r < 94:
		w.changeLeader(g)
	case r < 95:
		return w.exitOrReapply()
	case r < 96:
		return w.resolveOne(g)
	case r < 97:
		return w.moveSlot()
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
	o := w.groupOf(t).lead().propose(ctx, f)
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
	for _, g := range w.groups {
		w.drainResultsOf(g)
	}
}

func (w *simWorld) drainResultsOf(g *simGroup) {
	n := g.lead()
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
	g := w.groupOf(t)
	f, ok := g.machine().Follow(c.id, t)
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
	g.lead().propose(context.Background(), cmd)
}

// changeLeader: the leader is deposed (some of its planned requests still leave, onto
// the wire, as a deposed leader's last sends; the rest never do) and another node
// takes over from its replica.
func (w *simWorld) changeLeader(g *simGroup) {
	w.wake() // a leader paused by an earlier change wakes first
	old := g.lead()
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
	next := (g.leader + 1 + w.rng.IntN(len(g.nodes)-1)) % len(g.nodes)
	w.becomeLeader(g, next)
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
		return w.must(w.groupOf(t), &raftfsm.TraderApply{Trader: t, Stats: raftfsm.ApplicantStats{Equity: fixed.MustParse("100000")},
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
	return w.must(w.groupOf(t), &raftfsm.TraderExit{Trader: t, Policy: pol})
}

// moveSlot moves one trader's slot to the other group, as the rebalancer does: freeze
// on the source, let the copy loop finish the slot's pending orders (export is refused
// until then), export, import on the target (the commit point), release on the source
// — with the source's or the target's leader changing mid-move at times. When the
// slot will not drain, the move is aborted (the target first, then the source
// unfrozen). No fill interleaves: a frozen slot's fills are refused and the router
// would resend them to the new owner, which the simulation does by not trading then.
func (w *simWorld) moveSlot() error {
	w.wake()
	ctx := context.Background()
	t := w.traders[w.rng.IntN(len(w.traders))]
	src := w.groupOf(t)
	dst := w.groups[0]
	if dst == src {
		dst = w.groups[1]
	}
	slot := raftfsm.SlotOf(t)
	epoch := max(src.machine().SlotInfo(slot).Epoch, dst.machine().SlotInfo(slot).Epoch) + 1
	w.migr++
	id := w.migr
	if err := w.must(src, &raftfsm.SlotFreeze{Migration: id, Slots: []uint16{slot}, Target: dst.id, Epoch: epoch}); err != nil {
		return fmt.Errorf("freeze slot %d: %w", slot, err)
	}
	if w.rng.IntN(3) == 0 {
		w.changeLeader(src)
	}
	var exp *raftfsm.SlotExportData
	for round := 0; round < 20; round++ {
		o := src.lead().propose(ctx, &raftfsm.SlotExport{Migration: id})
		if o.err != nil {
			return fmt.Errorf("export slot %d: %w", slot, o.err)
		}
		if o.res.Refusal == nil {
			exp = o.res.Export
			break
		}
		if o.res.Refusal.Code != raftfsm.CodeMigrationState {
			return fmt.Errorf("export slot %d: %w", slot, o.res.Refusal)
		}
		// Its orders are pending: the copy loop finishes them while the mover waits.
		w.wake()
		w.advance(w.cfg.fence() + time.Second)
		w.gw.deliver(true)
		for len(w.dispatchQ) > 0 {
			w.dispatchOne()
		}
		w.drainResults()
		src.lead().reconcileOnce(src.lead().ls.Load())
		w.drainResults()
		for len(src.machine().QuarantinedOrders()) > 0 {
			if err := w.resolveOne(src); err != nil {
				return err
			}
		}
	}
	if exp == nil {
		if err := w.must(dst, &raftfsm.SlotAbort{Migration: id}); err != nil {
			return fmt.Errorf("abort move of slot %d: %w", slot, err)
		}
		w.stats.slotAborts++
		return w.must(src, &raftfsm.SlotUnfreeze{Migration: id})
	}
	if w.rng.IntN(3) == 0 {
		w.changeLeader(dst)
	}
	if err := w.must(dst, &raftfsm.SlotImport{Migration: id, Source: src.id, Slots: exp.Slots, Epoch: exp.Epoch,
		Data: exp.Data, Checksum: exp.Checksum}); err != nil {
		return fmt.Errorf("import slot %d: %w", slot, err)
	}
	if err := w.must(src, &raftfsm.SlotRelease{Migration: id}); err != nil {
		return fmt.Errorf("release slot %d: %w", slot, err)
	}
	w.stats.slotMoves++
	return nil
}

// resolveOne: an admin resolves one quarantined order with the venue's true figures.
func (w *simWorld) resolveOne(g *simGroup) error {
	q := g.machine().QuarantinedOrders()
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
	o := g.lead().propose(context.Background(), &raftfsm.OrderResolve{Result: raftfsm.OrderResult{ClientOrderID: id,
		Status: raftfsm.OrderStatus(r.Status + 1), FilledQty: r.FilledQty, AvgPrice: r.AvgPrice, Fee: r.Fee, Reason: r.Reason.String()}})
	if o.err == nil && o.res.Refusal != nil {
		return fmt.Errorf("resolve %s: %w", id, o.res.Refusal)
	}
	return nil
}

// leaderMachineCheck: every invariant of the leader's replica.
func (w *simWorld) leaderMachineCheck() error {
	for _, g := range w.groups {
		if err := g.machine().CheckInvariants(); err != nil {
			return fmt.Errorf("group %d: %w", g.id, err)
		}
	}
	return nil
}

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
		for _, g := range w.groups {
			n := g.lead()
			ls := n.ls.Load()
			n.reconcileOnce(ls)
			w.drainResultsOf(g)
			for len(g.machine().QuarantinedOrders()) > 0 {
				if err := w.resolveOne(g); err != nil {
					return err
				}
			}
			n.payUnpaid(ls)
		}
		if w.quiet() {
			return nil
		}
	}
	for _, g := range w.groups {
		w.strandedIn(g)
	}
	return nil
}

// strandedIn counts and describes what group g still holds after quiescence.
func (w *simWorld) strandedIn(g *simGroup) {
	m := g.machine()
	n := len(m.PendingOrders()) + len(m.QuarantinedOrders()) + len(m.PayableSettlements())
	if n == 0 {
		return
	}
	w.stats.stranded += n
	w.stats.notes = append(w.stats.notes, fmt.Sprintf("seed %d: group %d not quiet after 40 rounds: %d pending, %d quarantined, %d payable",
		w.seed, g.id, len(m.PendingOrders()), len(m.QuarantinedOrders()), len(m.PayableSettlements())))
	ls := g.lead().ls.Load()
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
}

func (w *simWorld) quiet() bool {
	if len(w.gw.wire) != 0 || len(w.dispatchQ) != 0 {
		return false
	}
	for _, g := range w.groups {
		m := g.machine()
		ls := g.lead().ls.Load()
		ls.mu.Lock()
		tracked := len(ls.track)
		ls.mu.Unlock()
		if len(m.PendingOrders()) != 0 || len(m.QuarantinedOrders()) != 0 || len(m.PayableSettlements()) != 0 ||
			len(ls.results) != 0 || tracked != 0 {
			return false
		}
	}
	return true
}
