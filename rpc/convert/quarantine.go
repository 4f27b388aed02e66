package convert

import (
	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/raftfsm/fixed"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// ResolveOrder validates an admin's corrected result for a quarantined order.
func ResolveOrder(req *ct.ResolveOrderRequest) (raftfsm.OrderResolve, error) {
	var out raftfsm.OrderResolve
	if req == nil {
		return out, fieldErr("req", "is required")
	}
	if _, err := account("trader", req.Trader); err != nil {
		return out, err
	}
	if n := len(req.ClientOrderId); n == 0 || n > raftfsm.MaxClientOrderIDLen {
		return out, fieldErr("client_order_id", "want 1..36 characters")
	}
	r := &out.Result
	r.ClientOrderID = req.ClientOrderId
	switch req.Status {
	case ct.OrderStatus_FILLED:
		r.Status = raftfsm.OrderFilled
	case ct.OrderStatus_PARTIALLY_FILLED:
		r.Status = raftfsm.OrderPartiallyFilled
	case ct.OrderStatus_REJECTED:
		r.Status = raftfsm.OrderRejected
	default:
		return out, fieldErr("status", "want FILLED, PARTIALLY_FILLED or REJECTED")
	}
	var err error
	if r.FilledQty, err = optDecimal("filled_qty", req.FilledQty); err != nil {
		return out, err
	}
	if r.AvgPrice, err = optDecimal("avg_price", req.AvgPrice); err != nil {
		return out, err
	}
	if r.Fee, err = optDecimal("fee", req.Fee); err != nil {
		return out, err
	}
	if len(req.Reason) > raftfsm.MaxReasonLen {
		return out, fieldErr("reason", "too long")
	}
	r.Reason = req.Reason
	return out, nil
}

func optDecimal(field, s string) (fixed.Dec, error) {
	if s == "" {
		return 0, nil
	}
	return decimal(field, s)
}

// QuarantinedView is the Thrift form of a quarantined order.
func QuarantinedView(q *raftfsm.QuarantinedOrder) *ct.Order {
	o := OrderView(&q.OrderState)
	o.Status, o.QuarantineReason = ct.OrderStatus_QUARANTINED, q.Reason
	return o
}
