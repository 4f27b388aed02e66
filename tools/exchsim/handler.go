package exchsim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudwego/kitex/pkg/kerrors"

	"github.com/copytrade/copytrade/raftfsm/fixed"
	"github.com/copytrade/copytrade/rpc/kitex_gen/gateway"
)

// Business status codes of the TradingGateway service, as documented in
// rpc/idl/gateway.thrift. Stable: clients switch on them.
const (
	CodeInvalidRequest    int32 = 4000
	CodeBatchTooLarge     int32 = 4001
	CodeUnknownAccount    int32 = 4004
	CodeUnknownInstrument int32 = 4005
	CodeConflict          int32 = 4009
	CodeInternal          int32 = 5000
)

// Handler serves the TradingGateway Kitex service from a Sim. It converts decimal
// strings and enums at the edge and maps the package's errors to business status
// errors; all logic is in Sim.
type Handler struct {
	sim *Sim
}

var _ gateway.TradingGateway = (*Handler)(nil)

// NewHandler returns a Handler for sim. Pass the pointer to tradinggateway.NewServer.
func NewHandler(sim *Sim) *Handler { return &Handler{sim: sim} }

// bizError maps an error of this package to a Kitex business status error.
func bizError(err error) error {
	code := CodeInternal
	switch {
	case errors.Is(err, ErrInvalidArgument):
		code = CodeInvalidRequest
	case errors.Is(err, ErrBatchTooLarge):
		code = CodeBatchTooLarge
	case errors.Is(err, ErrUnknownAccount):
		code = CodeUnknownAccount
	case errors.Is(err, ErrUnknownInstrument):
		code = CodeUnknownInstrument
	case errors.Is(err, ErrAccountConflict):
		code = CodeConflict
	}
	return kerrors.NewBizStatusError(code, err.Error())
}

func invalid(format string, args ...any) error {
	return bizError(fmt.Errorf("%w: "+format, append([]any{ErrInvalidArgument}, args...)...))
}

func (h *Handler) checkBatch(n int, what string) error {
	if n == 0 {
		return invalid("no %s", what)
	}
	if n > h.sim.cfg.MaxBatch {
		return bizError(fmt.Errorf("%w: %d %s, at most %d", ErrBatchTooLarge, n, what, h.sim.cfg.MaxBatch))
	}
	return nil
}

// parseField parses an optional decimal field: "" is 0.
func parseField(s string) (fixed.Dec, error) {
	if s == "" {
		return 0, nil
	}
	return fixed.Parse(s)
}

// PlaceOrders implements gateway.TradingGateway. An order whose qty or limit price is
// not a decimal is REJECTED (INVALID_QTY / INVALID_PRICE) without reaching the venue,
// like any other per-order refusal; the rest of the batch proceeds.
func (h *Handler) PlaceOrders(ctx context.Context, req *gateway.PlaceOrdersRequest) (*gateway.PlaceOrdersResponse, error) {
	if err := h.checkBatch(len(req.GetOrders()), "orders"); err != nil {
		return nil, err
	}
	orders := make([]Order, len(req.Orders))
	bad := map[int]OrderResult(nil)
	for i, in := range req.Orders {
		if in == nil {
			return nil, invalid("order %d is null", i)
		}
		o := Order{
			ClientOrderID: in.ClientOrderId, Account: in.Account, Instrument: in.Instrument,
			Side: Side(in.Side), PositionSide: PositionSide(in.PositionSide), Type: OrderType(in.OrderType),
			ReduceOnly: in.ReduceOnly, Leverage: in.Leverage, MarginMode: MarginMode(in.MarginMode),
			ExpiryUnixNano: in.ExpiryUnixNano, SenderTerm: in.SenderTerm,
		}
		var err error
		reason := ReasonNone
		if o.Qty, err = fixed.Parse(in.Qty); err != nil {
			reason = ReasonInvalidQty
		} else if o.LimitPrice, err = parseField(in.LimitPrice); err != nil {
			reason = ReasonInvalidPrice
		}
		if reason != ReasonNone {
			if bad == nil {
				bad = make(map[int]OrderResult)
			}
			bad[i] = OrderResult{ClientOrderID: o.ClientOrderID, Account: o.Account, Instrument: o.Instrument,
				Side: o.Side, PositionSide: o.PositionSide, Status: Rejected, Reason: reason, Message: err.Error(),
				TimeUnixNano: time.Now().UnixNano()} // refused at the edge: never recorded, not counted
		}
		orders[i] = o
	}
	results, err := h.placeValid(ctx, orders, bad)
	if err != nil {
		return nil, bizError(err)
	}
	results = h.sim.respond(results)
	return &gateway.PlaceOrdersResponse{Results: toReports(results)}, nil
}

// placeValid places the parseable orders and merges in the unparseable ones' refusals.
func (h *Handler) placeValid(ctx context.Context, orders []Order, bad map[int]OrderResult) ([]OrderResult, error) {
	if len(bad) == 0 {
		return h.sim.PlaceOrders(ctx, orders)
	}
	valid := make([]Order, 0, len(orders)-len(bad))
	for i := range orders {
		if _, ok := bad[i]; !ok {
			valid = append(valid, orders[i])
		}
	}
	var placed []OrderResult
	if len(valid) > 0 {
		var err error
		if placed, err = h.sim.PlaceOrders(ctx, valid); err != nil {
			return nil, err
		}
	}
	out := make([]OrderResult, len(orders))
	for i := range orders {
		if r, ok := bad[i]; ok {
			out[i] = r
			continue
		}
		out[i], placed = placed[0], placed[1:]
	}
	return out, nil
}

// toReports converts a batch of results: the reports come from one slab and their
// decimal strings from one buffer, so a batch costs a few allocations, not five
// per order.
func toReports(results []OrderResult) []*gateway.OrderReport {
	slab := make([]gateway.OrderReport, len(results))
	out := make([]*gateway.OrderReport, len(results))
	buf := make([]byte, 0, 32*len(results))
	ends := make([]int, 0, 4*len(results))
	for i := range results {
		r := &results[i]
		for _, d := range [4]fixed.Dec{r.FilledQty, r.AvgPrice, r.Fee, r.RealizedPnL} {
			buf = d.AppendTo(buf)
			ends = append(ends, len(buf))
		}
	}
	text := string(buf) // every decimal field is a substring of it
	start := 0
	for i := range results {
		var f [4]string
		for k := range f {
			f[k] = text[start:ends[4*i+k]]
			start = ends[4*i+k]
		}
		rep := &slab[i]
		fillReport(rep, &results[i])
		rep.FilledQty, rep.AvgPrice, rep.Fee, rep.RealizedPnl = f[0], f[1], f[2], f[3]
		out[i] = rep
	}
	return out
}

// fillReport sets every field of rep but the decimal strings.
func fillReport(rep *gateway.OrderReport, r *OrderResult) {
	*rep = gateway.OrderReport{
		ClientOrderId: r.ClientOrderID, OrderId: r.OrderID, Status: gateway.OrderStatus(r.Status),
		RejectReason: gateway.RejectReason(r.Reason),
		Message:      r.Message, Duplicate: r.Duplicate, Account: r.Account, Instrument: r.Instrument,
		Side: gateway.Side(r.Side), PositionSide: gateway.PositionSide(r.PositionSide),
		TimeUnixNano: r.TimeUnixNano,
	}
}

func toReport(r *OrderResult) *gateway.OrderReport {
	rep := &gateway.OrderReport{}
	fillReport(rep, r)
	rep.FilledQty, rep.AvgPrice, rep.Fee, rep.RealizedPnl = r.FilledQty.String(), r.AvgPrice.String(), r.Fee.String(), r.RealizedPnL.String()
	return rep
}

// QueryOrders implements gateway.TradingGateway.
func (h *Handler) QueryOrders(ctx context.Context, req *gateway.QueryOrdersRequest) (*gateway.QueryOrdersResponse, error) {
	if err := h.checkBatch(len(req.GetClientOrderIds()), "client order IDs"); err != nil {
		return nil, err
	}
	found, err := h.sim.QueryOrders(ctx, req.ClientOrderIds)
	if err != nil {
		return nil, bizError(err)
	}
	resp := &gateway.QueryOrdersResponse{Orders: make([]*gateway.OrderLookup, len(found))}
	for i := range found {
		l := &gateway.OrderLookup{ClientOrderId: found[i].ClientOrderID, Status: gateway.LookupStatus_NOT_FOUND}
		if found[i].Found {
			l.Status, l.Order = gateway.LookupStatus_FOUND, toReport(&found[i].Result)
		}
		resp.Orders[i] = l
	}
	return resp, nil
}

// MarkPrices implements gateway.TradingGateway.
func (h *Handler) MarkPrices(ctx context.Context, req *gateway.MarkPricesRequest) (*gateway.MarkPricesResponse, error) {
	marks, err := h.sim.MarkPrices(req.GetInstruments())
	if err != nil {
		return nil, bizError(err)
	}
	resp := &gateway.MarkPricesResponse{Marks: make([]*gateway.MarkPrice, len(marks))}
	for i, m := range marks {
		resp.Marks[i] = &gateway.MarkPrice{Instrument: m.Instrument, Price: m.Price.String(), TimeUnixNano: m.TimeUnixNano}
	}
	return resp, nil
}

// Transfer implements gateway.TradingGateway. An amount that is not a decimal is a
// REJECTED transfer with INVALID_AMOUNT, like a non-positive one.
func (h *Handler) Transfer(ctx context.Context, req *gateway.TransferRequest) (*gateway.TransferResponse, error) {
	t := Transfer{ID: req.TransferId, From: req.FromAccount, To: req.ToAccount, Memo: req.Memo}
	amount, perr := fixed.Parse(req.Amount)
	t.Amount = amount
	if perr != nil {
		t.Amount = 0 // refused as INVALID_AMOUNT below, after the request checks
	}
	res, err := h.sim.Transfer(t)
	if err != nil {
		return nil, bizError(err)
	}
	if perr != nil && res.Reason == ReasonInvalidAmount {
		res.Message = perr.Error()
	}
	return &gateway.TransferResponse{
		TransferId: res.ID, Status: gateway.TransferStatus(res.Status), RejectReason: gateway.RejectReason(res.Reason),
		Message: res.Message, Duplicate: res.Duplicate, TimeUnixNano: res.TimeUnixNano,
	}, nil
}

// AccountSnapshot implements gateway.TradingGateway.
func (h *Handler) AccountSnapshot(ctx context.Context, req *gateway.AccountSnapshotRequest) (*gateway.AccountSnapshotResponse, error) {
	snap, err := h.sim.AccountSnapshot(req.GetAccount())
	if err != nil {
		return nil, bizError(err)
	}
	return toSnapshot(&snap), nil
}

func toSnapshot(s *AccountSnapshot) *gateway.AccountSnapshotResponse {
	resp := &gateway.AccountSnapshotResponse{
		Account: s.Account, PositionMode: gateway.PositionMode(s.PositionMode),
		Balance: s.Balance.String(), Equity: s.Equity.String(), MarginUsed: s.MarginUsed.String(),
		Available: s.Available.String(), RealizedPnl: s.RealizedPnL.String(), FeesPaid: s.FeesPaid.String(),
		Positions: make([]*gateway.Position, len(s.Positions)),
	}
	for i, p := range s.Positions {
		resp.Positions[i] = &gateway.Position{
			Instrument: p.Instrument, PositionSide: gateway.PositionSide(p.PositionSide),
			Qty: p.Qty.String(), EntryPrice: p.EntryPrice.String(), Margin: p.Margin.String(),
			Leverage: p.Leverage, MarginMode: gateway.MarginMode(p.MarginMode),
			MarkPrice: p.MarkPrice.String(), UnrealizedPnl: p.UnrealizedPnL.String(),
		}
	}
	return resp
}

// CreateAccount implements gateway.TradingGateway (simulator-only).
func (h *Handler) CreateAccount(ctx context.Context, req *gateway.CreateAccountRequest) (*gateway.CreateAccountResponse, error) {
	balance, err := parseField(req.GetBalance())
	if err != nil {
		return nil, invalid("balance: %v", err)
	}
	created, snap, err := h.sim.CreateAccount(req.GetAccount(), balance, PositionMode(req.GetPositionMode()))
	if err != nil {
		return nil, bizError(err)
	}
	return &gateway.CreateAccountResponse{Created: created, Snapshot: toSnapshot(&snap)}, nil
}

// SetInstrument implements gateway.TradingGateway (simulator-only).
func (h *Handler) SetInstrument(ctx context.Context, req *gateway.SetInstrumentRequest) (*gateway.SetInstrumentResponse, error) {
	in := req.GetInstrument()
	if in == nil {
		return nil, invalid("no instrument")
	}
	spec := InstrumentSpec{Symbol: in.Symbol, MaxLeverage: in.MaxLeverage}
	for _, f := range []struct {
		name string
		text string
		dst  *fixed.Dec
	}{
		{"lot_step", in.LotStep, &spec.LotStep}, {"tick_size", in.TickSize, &spec.TickSize},
		{"min_qty", in.MinQty, &spec.MinQty}, {"min_notional", in.MinNotional, &spec.MinNotional},
		{"mark_price", in.MarkPrice, &spec.MarkPrice},
	} {
		d, err := parseField(f.text)
		if err != nil {
			return nil, invalid("%s: %v", f.name, err)
		}
		*f.dst = d
	}
	if spec.MarkPrice == 0 { // an update may leave the mark alone
		if cur, ok := h.sim.Instrument(spec.Symbol); ok {
			spec.MarkPrice = cur.MarkPrice
		}
	}
	created, err := h.sim.SetInstrument(spec)
	if err != nil {
		return nil, bizError(err)
	}
	return &gateway.SetInstrumentResponse{Created: created}, nil
}

// Stats implements gateway.TradingGateway (simulator-only).
func (h *Handler) Stats(ctx context.Context, req *gateway.StatsRequest) (*gateway.StatsResponse, error) {
	st := h.sim.Stats()
	return &gateway.StatsResponse{
		Mode: st.Mode.String(), OrdersCreated: st.OrdersCreated, OrdersFilled: st.OrdersFilled,
		OrdersPartiallyFilled: st.OrdersPartiallyFilled, OrdersRejected: st.OrdersRejected,
		DuplicatesReturned: st.DuplicatesReturned, TransfersDone: st.TransfersDone,
		Accounts: st.Accounts, Instruments: st.Instruments, MarkSteps: st.MarkSteps,
	}, nil
}

// OrderCounts implements gateway.TradingGateway (simulator-only).
func (h *Handler) OrderCounts(ctx context.Context, req *gateway.OrderCountsRequest) (*gateway.OrderCountsResponse, error) {
	if err := h.checkBatch(len(req.GetClientOrderIds()), "client order IDs"); err != nil {
		return nil, err
	}
	resp := &gateway.OrderCountsResponse{Counts: make([]int64, len(req.ClientOrderIds))}
	for i, id := range req.ClientOrderIds {
		resp.Counts[i] = h.sim.OrderCount(id)
	}
	return resp, nil
}

// TransferCounts implements gateway.TradingGateway (simulator-only).
func (h *Handler) TransferCounts(ctx context.Context, req *gateway.TransferCountsRequest) (*gateway.TransferCountsResponse, error) {
	if err := h.checkBatch(len(req.GetTransferIds()), "transfer IDs"); err != nil {
		return nil, err
	}
	resp := &gateway.TransferCountsResponse{Counts: make([]int64, len(req.TransferIds))}
	for i, id := range req.TransferIds {
		resp.Counts[i] = h.sim.TransferCount(id)
	}
	return resp, nil
}
