package shard

import (
	"context"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// ResolveOrder applies an admin's corrected result to a quarantined order (design §4
// item 7).
func (h *Handler) ResolveOrder(ctx context.Context, req *ct.ResolveOrderRequest) (*ct.CommandResponse, error) {
	c, err := convert.ResolveOrder(req)
	return h.command(ctx, &c, err, 0, 0)
}

// listQuarantined answers ListOrders with quarantined_only: this group's quarantined
// orders, optionally of one trader and/or copier.
func (h *Handler) listQuarantined(ctx context.Context, req *ct.ListOrdersRequest, limit int) (*ct.ListOrdersResponse, error) {
	out := &ct.ListOrdersResponse{}
	err := h.read(ctx, req.GetReadOpts(), func(m *raftfsm.Machine) {
		for _, q := range m.QuarantinedOrders() {
			if len(out.Orders) == limit {
				break
			}
			if req.GetTrader() > 0 && int64(q.Trader) != req.GetTrader() || req.GetCopier() > 0 && int64(q.Copier) != req.GetCopier() ||
				req.GetTradeId() > 0 && q.Signal != req.GetTradeId() {
				continue
			}
			out.Orders = append(out.Orders, convert.QuarantinedView(&q))
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
