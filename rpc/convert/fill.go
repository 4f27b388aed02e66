package convert

import (
	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Fill validates one fill and returns the command. field prefixes error field names
// ("fill", "fills[3]"). MarkPrice is left 0: the leader stamps it.
func Fill(field string, f *ct.Fill) (raftfsm.TradeFill, error) {
	var out raftfsm.TradeFill
	if f == nil {
		return out, fieldErr(field, "is required")
	}
	var err error
	if out.Trader, err = account(field+".trader", f.Trader); err != nil {
		return out, err
	}
	if f.TradeId <= 0 {
		return out, fieldErr(field+".trade_id", "must be > 0, got %d", f.TradeId)
	}
	out.TradeID = f.TradeId
	if err = symbol(field+".instrument", f.Instrument); err != nil {
		return out, err
	}
	out.Instrument = f.Instrument
	if err = enum(field+".side", f.Side, int64(raftfsm.Buy), int64(raftfsm.Sell)); err != nil {
		return out, err
	}
	out.Side = raftfsm.Side(f.Side)
	if err = enum(field+".position_side", f.PositionSide, int64(raftfsm.Long), int64(raftfsm.Both)); err != nil {
		return out, err
	}
	out.PosSide = raftfsm.PosSide(f.PositionSide)
	if out.Qty, err = positive(field+".qty", f.Qty); err != nil {
		return out, err
	}
	if out.Price, err = positive(field+".price", f.Price); err != nil {
		return out, err
	}
	if err = intRange(field+".leverage", int64(f.Leverage), 1, raftfsm.MaxLeverage); err != nil {
		return out, err
	}
	out.Leverage = f.Leverage
	if err = enum(field+".margin_mode", f.MarginMode, int64(raftfsm.Cross), int64(raftfsm.Isolated)); err != nil {
		return out, err
	}
	out.MarginMode = raftfsm.MarginMode(f.MarginMode)
	if out.Equity, err = optNonNegative(field+".equity", f.Equity); err != nil {
		return out, err
	}
	out.Liquidation = f.Liquidation
	// Fill contract v2: the venue's position after the fill is required;
	// the close fraction comes from it.
	if f.PositionAfter == "" {
		return out, fieldErr(field+".position_after", "is required (fill contract v2: the trader's position after the fill)")
	}
	if out.PositionAfter, err = decimal(field+".position_after", f.PositionAfter); err != nil {
		return out, err
	}
	if out.PosSide != raftfsm.Both && out.PositionAfter < 0 {
		return out, fieldErr(field+".position_after", "must be >= 0 for a LONG or SHORT position, got %s", f.PositionAfter)
	}
	if out.Fee, err = optNonNegative(field+".fee", f.Fee); err != nil {
		return out, err
	}
	if len(f.VenueOrderId) > raftfsm.MaxVenueOrderIDLen {
		return out, fieldErr(field+".venue_order_id", "must be at most %d bytes, got %d", raftfsm.MaxVenueOrderIDLen, len(f.VenueOrderId))
	}
	out.VenueOrderID = f.VenueOrderId
	if len(f.ClientOrderId) > raftfsm.MaxClientOrderIDLen {
		return out, fieldErr(field+".client_order_id", "must be at most %d bytes, got %d", raftfsm.MaxClientOrderIDLen, len(f.ClientOrderId))
	}
	out.ClientOrderID = f.ClientOrderId
	if f.EventTimeNs <= 0 {
		return out, fieldErr(field+".event_time_ns", "is required: the venue's event time in Unix nanoseconds, got %d", f.EventTimeNs)
	}
	out.EventTimeUnixNano = f.EventTimeNs
	return out, nil
}

// SubmitFill validates a single-fill request: the routing key must match the fill's trader
// (0 means "the fill's").
func SubmitFill(req *ct.SubmitFillRequest) (raftfsm.TradeFill, error) {
	if req == nil {
		return raftfsm.TradeFill{}, fieldErr("req", "is required")
	}
	f, err := Fill("fill", req.Fill)
	if err != nil {
		return f, err
	}
	if req.Trader != 0 && req.Trader != int64(f.Trader) {
		return f, fieldErr("trader", "must equal fill.trader (%d), got %d", f.Trader, req.Trader)
	}
	if err := Wait("wait", req.Wait); err != nil {
		return f, err
	}
	if err := TimeoutMs("timeout_ms", req.TimeoutMs); err != nil {
		return f, err
	}
	return f, nil
}

// SubmitFills validates a batch. Fills that fail validation are reported per index in
// errs (nil where valid) so a batch answers every fill; a request-level problem (size,
// wait, timeout) is returned as err.
func SubmitFills(req *ct.SubmitFillsRequest) (fills []raftfsm.TradeFill, errs []error, err error) {
	if req == nil {
		return nil, nil, fieldErr("req", "is required")
	}
	if n := len(req.Fills); n == 0 || n > MaxFillsPerRequest {
		return nil, nil, fieldErr("fills", "must hold 1..%d fills, got %d", MaxFillsPerRequest, n)
	}
	if err := Wait("wait", req.Wait); err != nil {
		return nil, nil, err
	}
	if err := TimeoutMs("timeout_ms", req.TimeoutMs); err != nil {
		return nil, nil, err
	}
	fills = make([]raftfsm.TradeFill, len(req.Fills))
	errs = make([]error, len(req.Fills))
	for i, f := range req.Fills {
		fills[i], errs[i] = Fill("fills["+itoa(i)+"]", f)
	}
	return fills, errs, nil
}

// Wait validates a WaitFor; 0 is allowed and means COMMIT.
func Wait(field string, w ct.WaitFor) error {
	if w != 0 && w != ct.WaitFor_COMMIT && w != ct.WaitFor_ACKED {
		return fieldErr(field, "is not a valid value: %d", int64(w))
	}
	return nil
}

// MaxTimeoutMs bounds a request's timeout_ms (one minute).
const MaxTimeoutMs = 60_000

// TimeoutMs validates a timeout: 0 (the node's default) or 1..MaxTimeoutMs.
func TimeoutMs(field string, ms int32) error {
	return intRange(field, int64(ms), 0, MaxTimeoutMs)
}

// Outcome is the FillOutcome of a fill the machine refused or that failed before Raft.
func Outcome(f *ct.Fill, code ct.ErrorCode, msg string) *ct.FillOutcome {
	o := &ct.FillOutcome{Code: code, Message: msg, Timings: &ct.Timings{}}
	if f != nil {
		o.Trader, o.TradeId = f.Trader, f.TradeId
	}
	return o
}

// RefusalOutcome fills in code, message and the MOVED extras of a machine refusal.
func RefusalOutcome(o *ct.FillOutcome, r *raftfsm.Refusal) {
	o.Code = RefusalCode(r.Code)
	o.Message = RefusalMessage(r)
	if r.Code == raftfsm.CodeMoved {
		o.Group = int32(r.Group)
		o.Epoch = int64(r.Epoch)
	}
}
