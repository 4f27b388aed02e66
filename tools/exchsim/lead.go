package exchsim

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/copytrade/copytrade/raftfsm/fixed"
)

// LeadFill is one fill of a lead trader's own order, as the trading system streams it.
type LeadFill struct {
	Trader       int64
	TradeID      int64 // assigned by the venue, increasing across all fills
	Instrument   string
	Side         Side
	PositionSide PositionSide
	Qty, Price   fixed.Dec
	Leverage     int32
	MarginMode   MarginMode
	Equity       fixed.Dec // the trader's account equity after the fill
	Liquidation  bool
	TimeUnixNano int64 // the venue's event time of the fill

	// Fill contract v2 (design §3).
	PositionAfter fixed.Dec // the trader's position on (Instrument, PositionSide) after the fill; signed net for BOTH
	Fee           fixed.Dec // the trader's taker fee for the fill
	VenueOrderID  string    // the venue's order ID
	ClientOrderID string    // the trader's order's client ID ("sim-lead-<n>" unless given)
}

// FillSink receives the stream; the CopyTrade client adapter (router or node)
// implements it.
type FillSink interface {
	PublishFills(ctx context.Context, fills []LeadFill) error
}

// PlaceLeadOrder executes a lead trader's order on the trader's own account. It is a
// normal order (same rules, same counters); the venue assigns the trade ID, which
// increases with every fill, under the trader's account lock, so a trader's fills are
// numbered in the order they changed the position. An empty ClientOrderID gets a
// venue-made "sim-lead-<n>". A rejected or duplicate order returns ErrOrderRejected
// and no fill.
func (s *Sim) PlaceLeadOrder(ctx context.Context, o Order) (OrderResult, LeadFill, error) {
	return s.placeLead(ctx, o, execOpts{})
}

// LiquidateLead closes a lead trader's whole position on one instrument and side at
// the mark price (no spread; the taker fee applies) and returns the fill with
// Liquidation set. ErrNoPosition if the trader holds none.
func (s *Sim) LiquidateLead(ctx context.Context, trader int64, instrument string, side PositionSide) (OrderResult, LeadFill, error) {
	pos, ok := s.PositionOf(trader, instrument, side)
	if !ok {
		return OrderResult{}, LeadFill{}, fmt.Errorf("%w: %d", ErrUnknownAccount, trader)
	}
	if pos.Qty == 0 {
		return OrderResult{}, LeadFill{}, fmt.Errorf("%w: trader %d %s %s", ErrNoPosition, trader, instrument, side)
	}
	o := Order{
		Account: trader, Instrument: instrument, PositionSide: side, Type: Market,
		ReduceOnly: true, Leverage: pos.Leverage, MarginMode: pos.MarginMode,
		Side: Sell, Qty: pos.Qty,
	}
	if side == Short || pos.Qty < 0 {
		o.Side, o.Qty = Buy, max(pos.Qty, -pos.Qty)
	}
	return s.placeLead(ctx, o, execOpts{atMark: true, liquidation: true})
}

func (s *Sim) placeLead(ctx context.Context, o Order, opts execOpts) (OrderResult, LeadFill, error) {
	if o.ClientOrderID == "" {
		prefix := "sim-lead-"
		if opts.liquidation {
			prefix = "sim-liq-"
		}
		o.ClientOrderID = prefix + strconv.FormatInt(s.leadSeq.Add(1), 10)
	}
	if err := ctx.Err(); err != nil {
		return OrderResult{}, LeadFill{}, err
	}
	var fill LeadFill
	opts.lead = &fill
	r := s.place(&o, time.Now().UnixNano(), opts)
	if r.Duplicate {
		return r, LeadFill{}, fmt.Errorf("%w: client order ID %q was seen before", ErrOrderRejected, o.ClientOrderID)
	}
	if r.Status == Rejected {
		return r, LeadFill{}, fmt.Errorf("%w: %s: %s", ErrOrderRejected, r.Reason, r.Message)
	}
	fill.VenueOrderID = strconv.FormatInt(r.OrderID, 10)
	return r, fill, nil
}
