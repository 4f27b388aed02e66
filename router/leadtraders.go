package router

import (
	"context"

	"github.com/cloudwego/kitex/client/callopt"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
)

// ListLeadTraders is a group call (router.WithGroup names the group): a page of the
// group's lead traders, from its leader unless the caller allows stale reads.
func (h *Handler) ListLeadTraders(ctx context.Context, req *ct.ListLeadTradersRequest) (*ct.ListLeadTradersResponse, error) {
	var verr error
	if l := req.GetLimit(); l < 0 || l > ct.MAX_LEAD_TRADERS_PAGE {
		verr = invalidField("limit", "must be 0..MAX_LEAD_TRADERS_PAGE")
	}
	return group(h, ctx, "ListLeadTraders", safe, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.ListLeadTradersResponse, error) {
		return c.ListLeadTraders(ctx, req, o...)
	})
}
