package router

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"github.com/cloudwego/kitex/client/callopt"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
	"github.com/copytrade/copytrade/rpc/kitex_gen/copytrade/copytrade"
)

// ListActivity of one trader goes to its group; a copier's across every trader is
// gathered from every group and merged in (time, trader, id) order, a page at a time:
// each group answers its first limit records after the cursor, so the merged first
// limit are exact, and the cursor of the last one continues in every group.
func (h *Handler) ListActivity(ctx context.Context, req *ct.ListActivityRequest) (*ct.ListActivityResponse, error) {
	q, err := convert.ActivityQuery(req)
	if err != nil {
		return nil, h.invalid(err)
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	if req.Trader > 0 {
		var resp *ct.ListActivityResponse
		_, err := h.r.bySlot(ctx, "ListActivity", req.Trader, safe, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (err error) {
			resp, err = c.ListActivity(ctx, req, o...)
			return err
		})
		return resp, err
	}
	var mu sync.Mutex
	var all []*ct.ActivityRecord
	more := false
	err = h.r.scatter(ctx, "ListActivity", safe, func(ctx context.Context, _ uint32, c copytrade.Client, o ...callopt.Option) error {
		resp, err := c.ListActivity(ctx, req, o...)
		if err != nil {
			return err
		}
		mu.Lock()
		all = append(all, resp.GetRecords()...)
		more = more || resp.GetNextAfter() != ""
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	key := func(r *ct.ActivityRecord) raftfsm.ActivityCursor {
		return raftfsm.ActivityCursor{Time: r.TimeUnixNano, Trader: raftfsm.AccountID(r.Trader), ID: uint64(r.Id)}
	}
	sortActivity(all, key)
	out := &ct.ListActivityResponse{Records: all}
	if len(all) > q.Limit {
		out.Records, more = all[:q.Limit], true
	}
	if more && len(out.Records) > 0 {
		out.NextAfter = convert.ActivityCursor(key(out.Records[len(out.Records)-1]))
	}
	return out, nil
}

// SetActivityConfig applies to every group.
func (h *Handler) SetActivityConfig(ctx context.Context, req *ct.SetActivityConfigRequest) (*ct.CommandResponse, error) {
	_, verr := convert.ActivityConfig(req)
	return h.broadcastCommand(ctx, "SetActivityConfig", verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.SetActivityConfig(ctx, req, o...)
	})
}

func sortActivity(rs []*ct.ActivityRecord, key func(*ct.ActivityRecord) raftfsm.ActivityCursor) {
	slices.SortFunc(rs, func(a, b *ct.ActivityRecord) int {
		if c := key(a).Compare(key(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.Copier, b.Copier)
	})
}

// GetCopyQuality goes to the trader's group.
func (h *Handler) GetCopyQuality(ctx context.Context, req *ct.GetCopyQualityRequest) (*ct.GetCopyQualityResponse, error) {
	if err := positiveID("trader", req.GetTrader()); err != nil {
		return nil, h.invalid(err)
	}
	if _, _, err := convert.QualityWindow(req.GetWindowDays()); err != nil {
		return nil, h.invalid(err)
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	var resp *ct.GetCopyQualityResponse
	_, err := h.r.bySlot(ctx, "GetCopyQuality", req.Trader, safe, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (err error) {
		resp, err = c.GetCopyQuality(ctx, req, o...)
		return err
	})
	return resp, err
}

// SetClosePolicy goes to the trader's group.
func (h *Handler) SetClosePolicy(ctx context.Context, req *ct.SetClosePolicyRequest) (*ct.CommandResponse, error) {
	_, verr := convert.ClosePolicy(req)
	return h.command(ctx, "SetClosePolicy", req.GetTrader(), 0, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.SetClosePolicy(ctx, req, o...)
	})
}

// TraderInvite goes to the trader's group.
func (h *Handler) TraderInvite(ctx context.Context, req *ct.TraderInviteRequest) (*ct.CommandResponse, error) {
	_, verr := convert.TraderInvite(req)
	return h.command(ctx, "TraderInvite", req.GetTrader(), 0, verr, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (*ct.CommandResponse, error) {
		return c.TraderInvite(ctx, req, o...)
	})
}

// ListInvites goes to the trader's group.
func (h *Handler) ListInvites(ctx context.Context, req *ct.ListInvitesRequest) (*ct.ListInvitesResponse, error) {
	if err := positiveID("trader", req.GetTrader()); err != nil {
		return nil, h.invalid(err)
	}
	ctx, cancel := h.r.bounded(ctx, 0)
	defer cancel()
	var resp *ct.ListInvitesResponse
	_, err := h.r.bySlot(ctx, "ListInvites", req.Trader, safe, func(ctx context.Context, c copytrade.Client, o ...callopt.Option) (err error) {
		resp, err = c.ListInvites(ctx, req, o...)
		return err
	})
	return resp, err
}
