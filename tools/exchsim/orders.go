package exchsim

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// PlaceOrders executes a batch of orders and returns one final result per order, in
// input order. Per-order refusals are REJECTED results; the error is for the batch:
// ErrInvalidArgument when empty, ErrBatchTooLarge, or ctx's error when ctx has already
// ended (then nothing is executed). A started batch runs to the end: it never blocks
// for long, since executing an order never waits on anything but short locks.
func (s *Sim) PlaceOrders(ctx context.Context, orders []Order) ([]OrderResult, error) {
	if len(orders) == 0 {
		return nil, fmt.Errorf("%w: empty order batch", ErrInvalidArgument)
	}
	if len(orders) > s.cfg.MaxBatch {
		return nil, fmt.Errorf("%w: %d orders, at most %d", ErrBatchTooLarge, len(orders), s.cfg.MaxBatch)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f := &s.cfg.Faults
	if f.LatencyMean > 0 || f.LatencyTailRate > 0 {
		// The venue is slow: the request waits, and the caller's deadline does not
		// stop it (a real venue cannot know the caller gave up).
		if d := f.latency(orders[0].ClientOrderID, uint32(s.requests.Add(1))); d > 0 {
			time.Sleep(d)
		}
	}
	out := make([]OrderResult, len(orders))
	now := s.now()
	for i := range orders {
		o := &orders[i]
		if o.ExpiryUnixNano != 0 && now > o.ExpiryUnixNano && !f.IgnoreExpiry {
			out[i] = expired(o, now)
			s.nExpired.Add(1)
		} else {
			out[i] = s.place(o, now, execOpts{})
		}
		if s.cfg.OnPlace != nil {
			s.cfg.OnPlace(o, &out[i])
		}
	}
	return out, nil
}

// expired is the refusal of an order that reached the venue after its expiry: nothing
// executes and nothing is recorded, so a later placement under the same client order
// ID (a new leader's, after it found the ID unknown) is a first placement.
func expired(o *Order, now int64) OrderResult {
	return OrderResult{
		ClientOrderID: o.ClientOrderID, Account: o.Account, Instrument: o.Instrument,
		Side: o.Side, PositionSide: o.PositionSide, Status: Rejected, Reason: ReasonExpired,
		Message:      fmt.Sprintf("request expired %s before it reached the venue", time.Duration(now-o.ExpiryUnixNano)),
		TimeUnixNano: now,
	}
}

// execOpts marks the orders the simulator places for itself.
type execOpts struct {
	lead        *LeadFill // non-nil: a lead trader's order; a fill is written here
	atMark      bool      // fill at the mark, without the spread (liquidations)
	liquidation bool
	attempt     uint32 // placements of this client order ID so far, this one included
}

// place applies the client-order-ID rules of the mode, then executes the order.
func (s *Sim) place(o *Order, now int64, opts execOpts) OrderResult {
	if n := len(o.ClientOrderID); n == 0 || n > MaxClientOrderIDLen {
		return OrderResult{
			ClientOrderID: o.ClientOrderID, Account: o.Account, Instrument: o.Instrument,
			Side: o.Side, PositionSide: o.PositionSide, Status: Rejected, Reason: ReasonInvalidOrder,
			Message:      fmt.Sprintf("client order ID must have 1 to %d characters, got %d", MaxClientOrderIDLen, n),
			TimeUnixNano: now,
		}
	}
	sh, h := s.orderShardFor(o.ClientOrderID)
	sh.mu.Lock()
	n, seen := sh.findOrInsert(h, o.ClientOrderID)
	if seen {
		if s.cfg.Mode == Strict {
			sh.wait(n)
			r := s.result(sh, n, o.ClientOrderID)
			sh.mu.Unlock()
			s.nDuplicates.Add(1)
			r.Duplicate = true
			return r
		}
		sh.rec(n).count++ // NoDedup: a second, independent order; QueryOrders keeps the first
		opts.attempt = sh.rec(n).count
		sh.mu.Unlock()
		return s.execute(o, now, opts)
	}
	sh.mu.Unlock()
	opts.attempt = 1
	r := s.execute(o, now, opts)
	s.complete(sh, n, &r)
	return r
}

// execute creates one order: it gets an order ID, is filled or rejected, and counts.
func (s *Sim) execute(o *Order, now int64, opts execOpts) OrderResult {
	seq := s.executed.Add(1)
	partial := s.cfg.PartialFillEveryN > 0 && seq%s.cfg.PartialFillEveryN == 0
	r := OrderResult{
		ClientOrderID: o.ClientOrderID, OrderID: s.nextOrderID.Add(1), Account: o.Account,
		Instrument: o.Instrument, Side: o.Side, PositionSide: o.PositionSide, TimeUnixNano: now,
	}
	f := &s.cfg.Faults
	reason, msg := ReasonNone, ""
	if opts.lead == nil && f.Enabled() {
		if reason, msg = f.injectedReject(o, opts.attempt); reason != ReasonNone {
			s.nFaults.Add(1)
		}
		if f.PartialRate > 0 && (f.Spare == nil || !f.Spare(o)) && f.roll(rollPartial, o.ClientOrderID, opts.attempt) < f.PartialRate {
			partial = true
		}
	}
	if reason == ReasonNone {
		reason, msg = s.fill(o, &r, partial, opts)
	}
	if reason != ReasonNone {
		r.Status, r.Reason, r.Message = Rejected, reason, msg
		s.nRejected.Add(1)
		return r
	}
	if r.FilledQty < o.Qty {
		r.Status = PartiallyFilled
		s.nPartial.Add(1)
	} else {
		r.Status = Filled
		s.nFilled.Add(1)
	}
	if opts.lead == nil && f.BadReportRate > 0 {
		var lot fixed.Dec
		if in := s.instrument(o.Instrument); in != nil {
			lot = in.spec.Load().LotStep
		}
		if f.corrupt(&r, o.Qty, lot, opts.attempt) {
			s.nFaults.Add(1)
			s.nBadReports.Add(1)
		}
	}
	return r
}

// fillPrice is the taker's price: the mark plus (buy) or minus (sell) half the
// spread, rounded to the tick against the taker, never below one tick.
func (s *Sim) fillPrice(mark, tick fixed.Dec, side Side) (fixed.Dec, error) {
	half, err := fixed.MulDiv(mark, fixed.FromUnits(s.cfg.SpreadBps), fixed.FromUnits(2*fixed.BpsDenominator), fixed.Up)
	if err != nil {
		return 0, err
	}
	if side == Buy {
		p, err := fixed.Add(mark, half)
		return p.RoundTo(tick, fixed.Ceil), err
	}
	p := (mark - half).RoundTo(tick, fixed.Floor) // mark, half >= 0: no overflow
	return max(p, tick), nil
}

// fill checks o and, if it passes, applies it to the account and fills r's fill
// fields. It returns ReasonNone or why the order is rejected.
func (s *Sim) fill(o *Order, r *OrderResult, partial bool, opts execOpts) (RejectReason, string) {
	in := s.instrument(o.Instrument)
	if in == nil {
		return ReasonUnknownInstrument, fmt.Sprintf("instrument %q is not listed", o.Instrument)
	}
	spec := in.spec.Load()
	if reason, msg := checkStatic(o, spec); reason != ReasonNone {
		return reason, msg
	}
	a := s.accountForOrder(o.Account)
	if a == nil {
		return ReasonUnknownAccount, fmt.Sprintf("account %d does not exist", o.Account)
	}
	mark := in.markPrice()
	price := mark
	if !opts.atMark {
		var err error
		if price, err = s.fillPrice(mark, spec.TickSize, o.Side); err != nil {
			return ReasonInvalidPrice, err.Error()
		}
	}
	if o.Type == IOCLimit {
		if o.Side == Buy && price > o.LimitPrice {
			return ReasonPriceOutOfBand, fmt.Sprintf("IOC expired: buy would fill at %s, above the limit %s", price, o.LimitPrice)
		}
		if o.Side == Sell && price < o.LimitPrice {
			return ReasonPriceOutOfBand, fmt.Sprintf("IOC expired: sell would fill at %s, below the limit %s", price, o.LimitPrice)
		}
	}

	a.mu.Lock()
	defer a.mu.Unlock()
	if (a.mode == Hedge) == (o.PositionSide == Both) {
		return ReasonPositionSideMismatch, fmt.Sprintf("position side %s on a %s account", o.PositionSide, a.mode)
	}
	key := posKey{o.Instrument, o.PositionSide}
	p := a.positions[key]
	var cur fixed.Dec // signed: < 0 only for a net-short Both position
	if p != nil {
		cur = p.qty
	}
	mag := max(cur, -cur)
	// long is the direction of the position being reduced (or of the one to open).
	long := cur > 0 || o.PositionSide == Long
	var reduceQty, openQty fixed.Dec
	switch o.PositionSide {
	case Long, Short:
		if (o.PositionSide == Long) == (o.Side == Buy) {
			if o.ReduceOnly {
				return ReasonReduceOnlyViolation, fmt.Sprintf("reduce-only %s would increase the %s position", o.Side, o.PositionSide)
			}
			openQty = o.Qty
		} else {
			if o.Qty > mag {
				return ReasonReduceOnlyViolation, fmt.Sprintf("%s %s exceeds the %s position %s", o.Side, o.Qty, o.PositionSide, mag)
			}
			reduceQty = o.Qty
		}
	case Both:
		if cur == 0 || (cur > 0) == (o.Side == Buy) {
			openQty = o.Qty
		} else {
			reduceQty = min(o.Qty, mag)
			openQty = o.Qty - reduceQty
		}
		if o.ReduceOnly && openQty > 0 {
			return ReasonReduceOnlyViolation, fmt.Sprintf("reduce-only %s %s would open %s against the net position %s", o.Side, o.Qty, openQty, cur)
		}
	}

	var c calc
	if openQty > 0 && !o.ReduceOnly && c.mul(o.Qty, price, fixed.Down) < spec.MinNotional && c.err == nil {
		return ReasonBelowMinNotional, fmt.Sprintf("notional %s × %s is below the minimum %s", o.Qty, price, spec.MinNotional)
	}
	fillQty := o.Qty
	if partial {
		if half := (o.Qty / 2).RoundDownTo(spec.LotStep); half > 0 {
			fillQty = half
		}
	}
	fillReduce := min(reduceQty, fillQty)
	fillOpen := fillQty - fillReduce
	fee := c.mulBps(c.mul(fillQty, price, fixed.Up), s.cfg.TakerFeeBps, fixed.Up)

	var realized, released fixed.Dec
	newMag, newEntry, newMargin := mag, fixed.Dec(0), fixed.Dec(0)
	if p != nil {
		newEntry, newMargin = p.entry, p.margin
	}
	if fillReduce > 0 {
		diff := c.sub(price, p.entry)
		if !long {
			diff = -diff
		}
		realized = c.mul(diff, fillReduce, fixed.Floor)
		released = p.margin
		if fillReduce < mag {
			released = c.mulDiv(p.margin, fillReduce, mag, fixed.Down)
		}
		newMag = mag - fillReduce
		newMargin -= released
		if newMag == 0 {
			newEntry, newMargin = 0, 0
		}
	}
	var im fixed.Dec
	if fillOpen > 0 {
		lev := c.keep(fixed.FromInt(int64(o.Leverage)))
		im = c.keep(fixed.Div(c.mul(fillOpen, price, fixed.Up), lev, fixed.Up))
		avail := c.add(c.sub(c.add(c.sub(a.balance, a.marginUsed), released), fee), realized)
		if c.err == nil && im > avail {
			return ReasonInsufficientMargin, fmt.Sprintf("initial margin %s + fee %s exceeds the available balance %s",
				im, fee, c.add(avail, fee))
		}
		if newMag == 0 {
			newEntry = price
		} else {
			total := c.add(newMag, fillOpen)
			newEntry = c.keep(fixed.Div(c.add(c.mul(newEntry, newMag, fixed.HalfEven), c.mul(price, fillOpen, fixed.HalfEven)), total, fixed.HalfEven))
		}
		newMag = c.add(newMag, fillOpen)
		newMargin = c.add(newMargin, im)
	}
	balance := c.sub(c.add(a.balance, realized), fee)
	marginUsed := c.add(c.sub(a.marginUsed, released), im)
	totalRealized := c.add(a.realized, realized)
	totalFees := c.add(a.fees, fee)
	if c.err != nil {
		return ReasonInvalidQty, fmt.Sprintf("order size out of range: %v", c.err)
	}

	// Commit: nothing below can fail.
	a.balance, a.marginUsed, a.realized, a.fees = balance, marginUsed, totalRealized, totalFees
	if newMag == 0 {
		delete(a.positions, key)
	} else {
		if p == nil {
			p = &position{}
			a.positions[key] = p
		}
		if fillOpen > 0 {
			long = o.PositionSide == Long || (o.PositionSide == Both && o.Side == Buy)
			p.leverage, p.marginMode = o.Leverage, o.MarginMode
		}
		p.qty, p.entry, p.margin = newMag, newEntry, newMargin
		if o.PositionSide == Both && !long {
			p.qty = -newMag
		}
	}
	r.FilledQty, r.AvgPrice, r.Fee, r.RealizedPnL = fillQty, price, fee, realized
	if opts.lead != nil {
		var ce calc
		eq := s.equity(a, &ce)
		var after fixed.Dec // the position on (instrument, side) after the fill; signed for BOTH
		if p := a.positions[key]; p != nil {
			after = p.qty
		}
		*opts.lead = LeadFill{
			Trader: o.Account, TradeID: s.tradeID(in), Instrument: o.Instrument,
			Side: o.Side, PositionSide: o.PositionSide, Qty: fillQty, Price: price,
			Leverage: o.Leverage, MarginMode: o.MarginMode, Equity: eq,
			Liquidation: opts.liquidation, TimeUnixNano: r.TimeUnixNano,
			PositionAfter: after, Fee: fee, ClientOrderID: o.ClientOrderID, VenueOrderID: strconv.FormatInt(r.OrderID, 10),
		}
	}
	s.publishFill(o, r, a, opts.lead, opts.liquidation) // publish.go
	return ReasonNone, ""
}

// checkStatic applies the rules that need only the order and the instrument.
func checkStatic(o *Order, spec *InstrumentSpec) (RejectReason, string) {
	switch {
	case o.Side != Buy && o.Side != Sell:
		return ReasonInvalidOrder, fmt.Sprintf("side %s is not BUY or SELL", o.Side)
	case o.Type != Market && o.Type != IOCLimit:
		return ReasonInvalidOrder, fmt.Sprintf("order type %s is not MARKET or IOC_LIMIT", o.Type)
	case o.PositionSide < Long || o.PositionSide > Both:
		return ReasonInvalidOrder, fmt.Sprintf("position side %s is not LONG, SHORT or BOTH", o.PositionSide)
	case o.Qty <= 0:
		return ReasonInvalidQty, fmt.Sprintf("qty must be positive, got %s", o.Qty)
	case o.Qty%spec.LotStep != 0:
		return ReasonQtyNotOnLotStep, fmt.Sprintf("qty %s is not a multiple of the lot step %s", o.Qty, spec.LotStep)
	case o.Type == IOCLimit && (o.LimitPrice <= 0 || o.LimitPrice%spec.TickSize != 0):
		return ReasonInvalidPrice, fmt.Sprintf("limit price %s must be positive and a multiple of the tick %s", o.LimitPrice, spec.TickSize)
	case o.Type == Market && o.LimitPrice != 0:
		return ReasonInvalidPrice, "a MARKET order takes no limit price"
	case o.Leverage < 0 || o.Leverage > spec.MaxLeverage || (o.Leverage == 0 && !o.ReduceOnly):
		return ReasonInvalidLeverage, fmt.Sprintf("leverage %d is outside 1..%d", o.Leverage, spec.MaxLeverage)
	case o.MarginMode != Cross && o.MarginMode != Isolated && !(o.MarginMode == 0 && o.ReduceOnly):
		return ReasonInvalidOrder, fmt.Sprintf("margin mode %s is not CROSS or ISOLATED", o.MarginMode)
	case !o.ReduceOnly && o.Qty < spec.MinQty:
		return ReasonBelowMinQty, fmt.Sprintf("qty %s is below the minimum %s", o.Qty, spec.MinQty)
	}
	return ReasonNone, ""
}

// QueryOrders looks client order IDs up; each found ID answers with the first order
// created for it. An order still executing is waited for (briefly: execution never
// blocks). ctx's error is returned if ctx has already ended.
func (s *Sim) QueryOrders(ctx context.Context, ids []string) ([]OrderLookup, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no client order IDs", ErrInvalidArgument)
	}
	if len(ids) > s.cfg.MaxBatch {
		return nil, fmt.Errorf("%w: %d IDs, at most %d", ErrBatchTooLarge, len(ids), s.cfg.MaxBatch)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]OrderLookup, len(ids))
	for i, id := range ids {
		out[i].ClientOrderID = id
		sh, h := s.orderShardFor(id)
		sh.mu.Lock()
		if n := sh.find(h, id); n >= 0 {
			sh.wait(n)
			out[i].Found, out[i].Result = true, s.result(sh, n, id)
		}
		sh.mu.Unlock()
	}
	return out, nil
}

// OrderCount returns how many orders were created for a client order ID: at most 1 in
// strict mode, one per placement in no-dedup mode. Rejected orders count (they were
// created and answered); refused-before-recording IDs (empty, too long) do not.
func (s *Sim) OrderCount(id string) int64 {
	sh, h := s.orderShardFor(id)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if n := sh.find(h, id); n >= 0 {
		return int64(sh.rec(n).count)
	}
	return 0
}
