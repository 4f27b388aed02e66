package router

import (
	"context"

	"github.com/cloudwego/kitex/client/callopt"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
)

// Handler serves the CopyTrade service at the router: every request is validated here
// (the same rpc/convert validators the node runs) and then forwarded. Serve it as a
// pointer (Kitex requires it for pointer receivers).
type Handler struct{ r *Router }

var _ ct.CopyTrade = (*Handler)(nil)

func slotOf(trader int64) uint16 { return raftfsm.SlotOf(raftfsm.AccountID(trader)) }

// invalid refuses a request at the edge before anything is forwarded.
func (h *Handler) invalid(err error) error {
	h.r.metrics.refusals.WithLabelValues(ct.ErrorCode_INVALID_ARGUMENT.String()).Inc()
	return bizErr(err)
}

// command validates with verr and forwards a trader-scoped command once.
func (h *Handler) command(ctx context.Context, method string, trader int64, timeoutMs int32, verr error,
	call func(ctx context.Context, c copytrade.Client, opts ...callopt.Option) (*ct.CommandResponse, error)) (*ct.CommandResponse, error) {
	if verr != nil {
		return nil, h.invalid(verr)
	}
	ctx, cancel := h.r.bounded(ctx, timeoutMs)
	defer cancel()
	var resp *ct.CommandResponse
	_, err := h.r.bySlot(ctx, method, trader, once, func(ctx context.Context, c copytrade.Client, opts ...callopt.Option) (err error) {
		resp, err = call(ctx, c, opts...)
		return err
	})
	return resp, err
}

// ── traders ──

func (h *Handler) ApplyTrader(ctx context.Context, req *ct.ApplyTraderRequest) (*ct.CommandResponse, error) {
	_, verr := convert.ApplyTrader(req)
	return h.command(ctx, "ApplyTrader", req.GetTrader(), 0, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.ApplyTrader(ctx, req, o...)
	})
}

func (h *Handler) UpdateTrader(ctx context.Context, req *ct.UpdateTraderRequest) (*ct.CommandResponse, error) {
	_, verr := convert.UpdateTrader(req)
	return h.command(ctx, "UpdateTrader", req.GetTrader(), 0, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.UpdateTrader(ctx, req, o...)
	})
}

func (h *Handler) PauseTrader(ctx context.Context, req *ct.PauseTraderRequest) (*ct.CommandResponse, error) {
	_, verr := convert.TraderID(req.GetTrader())
	return h.command(ctx, "PauseTrader", req.GetTrader(), 0, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.PauseTrader(ctx, req, o...)
	})
}

func (h *Handler) ResumeTrader(ctx context.Context, req *ct.ResumeTraderRequest) (*ct.CommandResponse, error) {
	_, verr := convert.TraderID(req.GetTrader())
	return h.command(ctx, "ResumeTrader", req.GetTrader(), 0, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.ResumeTrader(ctx, req, o...)
	})
}

func (h *Handler) ExitTrader(ctx context.Context, req *ct.ExitTraderRequest) (*ct.CommandResponse, error) {
	_, verr := convert.ExitTrader(req)
	return h.command(ctx, "ExitTrader", req.GetTrader(), req.GetTimeoutMs(), verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.ExitTrader(ctx, req, o...)
	})
}

// ── follows ──

func (h *Handler) Follow(ctx context.Context, req *ct.FollowRequest) (*ct.CommandResponse, error) {
	_, verr := convert.FollowEx(req)
	return h.command(ctx, "Follow", req.GetTrader(), 0, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.Follow(ctx, req, o...)
	})
}

func (h *Handler) UpdateFollow(ctx context.Context, req *ct.UpdateFollowRequest) (*ct.CommandResponse, error) {
	_, verr := convert.UpdateFollow(req)
	return h.command(ctx, "UpdateFollow", req.GetTrader(), 0, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.UpdateFollow(ctx, req, o...)
	})
}

func (h *Handler) PauseFollow(ctx context.Context, req *ct.PauseFollowRequest) (*ct.CommandResponse, error) {
	_, verr := convert.FollowPause(req.GetTrader(), req.GetCopier())
	return h.command(ctx, "PauseFollow", req.GetTrader(), 0, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.PauseFollow(ctx, req, o...)
	})
}

func (h *Handler) ResumeFollow(ctx context.Context, req *ct.ResumeFollowRequest) (*ct.CommandResponse, error) {
	_, verr := convert.FollowResume(req.GetTrader(), req.GetCopier())
	return h.command(ctx, "ResumeFollow", req.GetTrader(), 0, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.ResumeFollow(ctx, req, o...)
	})
}

func (h *Handler) Unfollow(ctx context.Context, req *ct.UnfollowRequest) (*ct.CommandResponse, error) {
	_, verr := convert.Unfollow(req)
	return h.command(ctx, "Unfollow", req.GetTrader(), req.GetTimeoutMs(), verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.Unfollow(ctx, req, o...)
	})
}

// ── queries about one trader ──

func (h *Handler) GetTrader(ctx context.Context, req *ct.GetTraderRequest) (*ct.GetTraderResponse, error) {
	if _, err := convert.TraderID(req.GetTrader()); err != nil {
		return nil, h.invalid(err)
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	var resp *ct.GetTraderResponse
	_, err := h.r.bySlot(ctx, "GetTrader", req.GetTrader(), safe, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (err error) {
		resp, err = c.GetTrader(ctx, req, o...)
		return err
	})
	return resp, err
}

func (h *Handler) ListFollowers(ctx context.Context, req *ct.ListFollowersRequest) (*ct.ListFollowersResponse, error) {
	if err := validateListFollowers(req); err != nil {
		return nil, h.invalid(err)
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	var resp *ct.ListFollowersResponse
	_, err := h.r.bySlot(ctx, "ListFollowers", req.GetTrader(), safe, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (err error) {
		resp, err = c.ListFollowers(ctx, req, o...)
		return err
	})
	return resp, err
}

// ResolveOrder goes to the group of the order's trader.
func (h *Handler) ResolveOrder(ctx context.Context, req *ct.ResolveOrderRequest) (*ct.CommandResponse, error) {
	_, verr := convert.ResolveOrder(req)
	return h.command(ctx, "ResolveOrder", req.GetTrader(), 0, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.ResolveOrder(ctx, req, o...)
	})
}
