package raftfsm

import (
	"strconv"
	"strings"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// Fan-out: turning one signal into copier orders, in a rotating,
// deterministic order, each with a deterministic client order ID.

// signal is one TradeFill decomposed into at most two legs: a shrink of the
// trader's position on shrinkSide (by shrinkQ of shrinkBefore) and a growth
// on growSide by growQ. A one-way flip has both legs; a hedge fill one.
type signal struct {
	fill *TradeFill
	inst *Instrument

	shrinkSide   PosSide // 0: no shrink leg
	shrinkQ      fixed.Dec
	shrinkBefore fixed.Dec // the trader's position before: shrinkQ >= it closes all

	growSide PosSide // 0: no growth leg
	growQ    fixed.Dec

	gain     fixed.Dec // the trader's realised PnL of the shrink leg, gross (legs)
	stale    bool      // older than the trader's signal age limit: no opens
	flatOnly bool      // the shrink leg is a side the venue says is flat, not a trade of this fill

	slab orderSlab // the fan-out's OrderStates
}

// orderSlab hands out the OrderStates of one fan-out from one allocation instead of
// one each. Allocation only: the pointers and values are the same as new()'s, so no
// state, output or byte depends on it. A slab is freed when its last order is final.
type orderSlab struct {
	free []OrderState
	want int // size of the next slab (the orders the fan-out can still plan)
}

func (s *orderSlab) get() *OrderState {
	if len(s.free) == 0 {
		if s.want <= 1 {
			return new(OrderState)
		}
		s.free, s.want = make([]OrderState, s.want), 0
	}
	o := &s.free[0]
	s.free = s.free[1:]
	return o
}

// mix64 is the SplitMix64 finalizer: a fixed, well-spread 64-bit hash.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// rotation is the index in a list of n follows where dispatch of the signal
// (trader, tradeID) starts. It depends only on the signal, so every replica
// computes the same order, and it differs from signal to signal, so no
// copier is always last.
func rotation(trader AccountID, tradeID int64, n int) int {
	if n <= 1 {
		return 0
	}
	h := mix64(uint64(trader)*0x9e3779b97f4a7c15 ^ mix64(uint64(tradeID)))
	return int(h % uint64(n))
}

// nextClientOrderID returns the trader's next client order ID:
// "c" + base36(trader) + "-" + base36(seq). At most 1+13+1+13 = 28 bytes.
// The sequence lives in the trader's state, which moves with its slot, so
// IDs are unique forever per trader and never reused after a slot move.
func (t *TraderState) nextClientOrderID() string {
	t.OrderSeq++
	var buf [MaxClientOrderIDLen]byte
	b := append(buf[:0], 'c')
	b = strconv.AppendUint(b, uint64(t.ID), 36)
	b = append(b, '-')
	b = strconv.AppendUint(b, t.OrderSeq, 36)
	return string(b)
}

// IsCopiedOrderID reports whether id has exactly the form nextClientOrderID
// generates: "c", a base-36 trader ID, "-", a base-36 sequence (lower-case
// digits, no leading zero, both > 0). A fill of such an order is one of
// copytrade's own copies and is never a signal (CodeCopiedOrder): no
// cascades through a copier who also leads.
func IsCopiedOrderID(id string) bool {
	if len(id) < 4 || len(id) > 28 || id[0] != 'c' {
		return false
	}
	dash := strings.IndexByte(id, '-')
	if dash < 0 {
		return false
	}
	return base36Positive(id[1:dash]) && base36Positive(id[dash+1:])
}

// base36Positive: 1..13 lower-case base-36 digits without a leading zero,
// fitting a uint64.
func base36Positive(s string) bool {
	if len(s) == 0 || len(s) > 13 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	_, err := strconv.ParseUint(s, 36, 64)
	return err == nil
}

// closeSideOf is the order side that reduces attributed side s.
func closeSideOf(s PosSide) Side {
	if s == Short {
		return Buy
	}
	return Sell
}

// openSideOf is the order side that grows attributed side s.
func openSideOf(s PosSide) Side {
	if s == Short {
		return Sell
	}
	return Buy
}

// marginModeFor resolves the follow's margin policy against the trader's
// mode (Cross when the trader's is unknown).
func marginModeFor(p MarginPolicy, trader MarginMode) MarginMode {
	switch p {
	case MarginForceCross:
		return Cross
	case MarginForceIsolated:
		return Isolated
	}
	if trader == Isolated {
		return Isolated
	}
	return Cross
}

// record registers a planned order as pending and appends it to the result.
func (m *Machine) record(f *FollowState, o *OrderState, res *Result) {
	m.orders[o.ClientOrderID] = o
	f.Pending++
	res.Orders = append(res.Orders, o.OrderIntent)
	res.planned = append(res.planned, plannedOrder{o, f})
}

// newIntent fills the parts of an order common to opens and closes.
func newIntent(t *TraderState, f *FollowState, inst string, attr PosSide) OrderIntent {
	o := OrderIntent{
		ClientOrderID: t.nextClientOrderID(),
		Copier:        f.Copier,
		Trader:        t.ID,
		Instrument:    inst,
		AccountMode:   f.Settings.AccountMode,
		AttrSide:      attr,
		PosSide:       Both,
	}
	if f.Settings.PositionMode == Hedge {
		o.PosSide = attr
	}
	return o
}

// planClose plans a market order closing q (<= Qty − PendingClose) of the
// follow's position p, in the position's own margin mode (design §3:
// positions remember their margin mode, and every close uses it). Hedge
// copiers get a reduce-only order on the position's side; one-way copiers a
// plain buy/sell, so the venue's net position stays the sum of the copier's
// attributions.
func (m *Machine) planClose(t *TraderState, f *FollowState, p *Position, q fixed.Dec, signal int64, res *Result) *OrderState {
	return m.planCloseFrom(nil, t, f, p, q, signal, res)
}

// planCloseFrom is planClose with the OrderState from slab (nil: allocated alone).
func (m *Machine) planCloseFrom(slab *orderSlab, t *TraderState, f *FollowState, p *Position, q fixed.Dec, signal int64, res *Result) *OrderState {
	var o *OrderState
	if slab != nil {
		o = slab.get()
	} else {
		o = new(OrderState)
	}
	*o = OrderState{OrderIntent: newIntent(t, f, p.Instrument, p.Side), Signal: signal}
	o.Side = closeSideOf(p.Side)
	o.Qty = q
	o.ReduceOnly = f.Settings.PositionMode == Hedge
	o.Leverage = p.Leverage
	o.MarginMode = p.MarginMode
	if o.MarginMode == MarginInvalid { // nothing opened through the copy set it
		o.MarginMode = marginModeFor(f.Settings.MarginPolicy, MarginInvalid)
	}
	o.Effect = EffectClose
	p.PendingClose += q // <= Qty: cannot overflow
	m.record(f, o, res)
	return o
}

// shrinkFollow copies a shrink of the trader's position to one follow:
// it closes the same fraction of the follow's closable attributed position.
// Paused and stopped follows still copy closes.
func (m *Machine) shrinkFollow(t *TraderState, f *FollowState, s *signal, res *Result) {
	i := posIndex(f.Positions, s.inst.Symbol, s.shrinkSide)
	if i < 0 {
		res.Skips = append(res.Skips, Skip{Copier: f.Copier, Reason: SkipNoPosition, Effect: EffectClose, AttrSide: s.shrinkSide})
		return
	}
	p := &f.Positions[i]
	owed := p.PendingOpen > 0
	if owed {
		p.owePendingOpens(s.shrinkQ, s.shrinkBefore) // owed.go
	}
	p.shrinkTarget(s.shrinkQ, s.shrinkBefore)
	closable := p.Qty - p.PendingClose
	if closable <= 0 {
		why := SkipNoPosition
		if owed {
			why = SkipCloseOwed
		}
		res.Skips = append(res.Skips, Skip{Copier: f.Copier, Reason: why, Effect: EffectClose, AttrSide: s.shrinkSide})
		return
	}
	// What the position holds beyond its scaled target (owed.go); the
	// trader flat closes everything.
	q := closable
	if s.shrinkQ < s.shrinkBefore {
		q = min(excess(p, s.inst), closable)
	}
	// A partial close below the venue's minimum is skipped (the next close
	// catches up); closing everything is always allowed.
	if q <= 0 || (q < s.inst.MinQty && q < closable) {
		res.Skips = append(res.Skips, Skip{Copier: f.Copier, Reason: SkipBelowMinQty, Effect: EffectClose, AttrSide: s.shrinkSide})
		return
	}
	m.planCloseFrom(&s.slab, t, f, p, q, s.fill.TradeID, res)
}

// liquidateFollow applies the liquidation policy to one follow: close copies
// the shrink at market like any close; detach moves every closable position
// of the follow to Detached and stops it.
func (m *Machine) liquidateFollow(t *TraderState, f *FollowState, s *signal, res *Result) {
	if m.followLiqPolicy(t, f) != LiqDetach {
		m.shrinkFollow(t, f, s, res)
		return
	}
	if f.Status != FollowStopped || f.StopReason != reasonLiquidation+detachSuffix {
		f.Status = FollowStopped
		f.StopReason = reasonLiquidation + detachSuffix
	}
	m.dispose(t, f, LiqDetach, s.fill.TradeID, res)
	res.Skips = append(res.Skips, Skip{Copier: f.Copier, Reason: SkipDetached, Effect: EffectClose, AttrSide: s.shrinkSide})
}

// growFollow sizes and plans an open for one follow, or records why not.
func (m *Machine) growFollow(t *TraderState, f *FollowState, s *signal, res *Result) {
	if f.Status != FollowActive {
		res.Skips = append(res.Skips, Skip{Copier: f.Copier, Reason: SkipPaused, Effect: EffectOpen, AttrSide: s.growSide})
		return
	}
	if s.stale {
		res.Skips = append(res.Skips, Skip{Copier: f.Copier, Reason: SkipSignalStale, Effect: EffectOpen, AttrSide: s.growSide})
		return
	}
	op, why, bound := m.sizeOpen(t, f, s)
	if why != SkipNone {
		res.Skips = append(res.Skips, Skip{Copier: f.Copier, Reason: why, Effect: EffectOpen, AttrSide: s.growSide, Cap: bound})
		return
	}
	o := s.slab.get()
	*o = OrderState{OrderIntent: newIntent(t, f, s.inst.Symbol, s.growSide), Signal: s.fill.TradeID}
	o.Side = openSideOf(s.growSide)
	o.Qty = op.qty
	o.LimitPrice = op.limit
	o.Leverage = op.lev
	o.MarginMode = op.mode
	o.Effect = EffectOpen
	o.ReservedMargin = op.reserve
	p := f.ensurePos(s.inst.Symbol, s.growSide)
	if p.PendingOpen == 0 {
		p.OpenKeep = fixed.One // no open refers to the old fraction
	}
	o.Keep, o.Gen = p.OpenKeep, p.OpenGen
	p.PendingOpen = op.pendingOpen
	f.MarginInUse = op.marginInUse
	m.record(f, o, res)
}

// fanOut copies signal s to every follow of t, starting at the signal's
// rotation. Each follow gets its shrink leg, then its growth leg; ended
// follows get nothing.
func (m *Machine) fanOut(t *TraderState, s *signal, res *Result) {
	n := len(t.Follows)
	if n == 0 {
		return
	}
	legs := 0
	if s.shrinkSide != 0 {
		legs++
	}
	if s.growSide != 0 {
		legs++
	}
	res.Orders = make([]OrderIntent, 0, n*legs)
	res.planned = make([]plannedOrder, 0, n*legs)
	s.slab = orderSlab{}
	start := rotation(t.ID, s.fill.TradeID, n)
	// The list is not modified during the loop: follows are only removed by
	// results, unfollow and exit.
	for k := 0; k < n; k++ {
		i := start + k
		if i >= n {
			i -= n
		}
		f := t.Follows[i]
		if f.Status == FollowEnded {
			continue
		}
		if len(s.slab.free) == 0 {
			s.slab.want = (n - k) * legs // at most what the rest of the fan-out plans
		}
		if s.shrinkSide != 0 {
			if s.fill.Liquidation {
				m.liquidateFollow(t, f, s, res)
			} else if f.ClosePolicy == CloseLeaveToCopier {
				res.Skips = append(res.Skips, Skip{Copier: f.Copier, Reason: SkipLeftToCopier, Effect: EffectClose, AttrSide: s.shrinkSide})
			} else {
				m.shrinkFollow(t, f, s, res)
			}
		}
		if s.growSide != 0 {
			m.growFollow(t, f, s, res)
		}
	}
}
