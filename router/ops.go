package router

import (
	"context"

	"github.com/cloudwego/kitex/client/callopt"

	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
)

// SetDrain goes to the leader of the group named with WithGroup.
func (h *Handler) SetDrain(ctx context.Context, req *ct.SetDrainRequest) (*ct.MembershipResponse, error) {
	var verr error
	if req.GetId() == "" {
		verr = invalidField("id", "is required")
	}
	return group(h, ctx, "SetDrain", once, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.MembershipResponse, error) {
		return c.SetDrain(ctx, req, o...)
	})
}
