package shard

import (
	"context"

	"github.com/copytrade/copytrade/raftfsm"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// ListLeadTraders answers a page of this group's lead traders (see
// raftfsm.Machine.LeadTraders): what a Kafka ingest filters fills by.
func (h *Handler) ListLeadTraders(ctx context.Context, req *ct.ListLeadTradersRequest) (*ct.ListLeadTradersResponse, error) {
	limit := int(req.GetLimit())
	if limit <= 0 || limit > int(ct.MAX_LEAD_TRADERS_PAGE) {
		limit = int(ct.MAX_LEAD_TRADERS_PAGE)
	}
	out := &ct.ListLeadTradersResponse{}
	if err := h.read(ctx, req.GetReadOpts(), func(m *raftfsm.Machine) {
		ids := m.LeadTraders(raftfsm.AccountID(max(req.GetAfterTrader(), 0)), limit+1)
		if len(ids) > limit {
			ids = ids[:limit]
			out.NextAfterTrader = int64(ids[limit-1])
		}
		out.Traders = make([]int64, len(ids))
		for i, id := range ids {
			out.Traders[i] = int64(id)
		}
		out.Group = int32(m.Group())
		out.AppliedIndex = int64(m.AppliedIndex())
	}); err != nil {
		return nil, err
	}
	return out, nil
}
