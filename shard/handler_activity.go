package shard

import (
	"context"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// ListActivity answers a copier's (or, admin, a trader's) copy decisions from the
// machine's activity history: any replica at the same applied index answers the same.
func (h *Handler) ListActivity(ctx context.Context, req *ct.ListActivityRequest) (*ct.ListActivityResponse, error) {
	q, err := convert.ActivityQuery(req)
	if err != nil {
		return nil, bizErr(err)
	}
	opts := req.GetReadOpts()
	if opts == nil {
		opts = &ct.ReadOptions{}
	}
	out := &ct.ListActivityResponse{Records: []*ct.ActivityRecord{}}
	if err := h.read(ctx, opts, func(m *raftfsm.Machine) {
		recs, more := m.Activity(q)
		out.Records = make([]*ct.ActivityRecord, len(recs))
		for i := range recs {
			out.Records[i] = convert.ActivityView(&recs[i])
		}
		if more && len(recs) > 0 {
			out.NextAfter = convert.ActivityCursor(recs[len(recs)-1].Cursor())
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// SetActivityConfig sets this group's activity retention and consecutive-failure stop.
func (h *Handler) SetActivityConfig(ctx context.Context, req *ct.SetActivityConfigRequest) (*ct.CommandResponse, error) {
	c, err := convert.ActivityConfig(req)
	return h.command(ctx, &c, err, 0, 0)
}

// TraderInvite changes a trader's invite-only setting or its invite codes.
func (h *Handler) TraderInvite(ctx context.Context, req *ct.TraderInviteRequest) (*ct.CommandResponse, error) {
	c, err := convert.TraderInvite(req)
	return h.command(ctx, &c, err, 0, 0)
}

// ListInvites answers a trader's invite-only setting and codes.
func (h *Handler) ListInvites(ctx context.Context, req *ct.ListInvitesRequest) (*ct.ListInvitesResponse, error) {
	var out *ct.ListInvitesResponse
	if err := h.readTrader(ctx, req.GetTrader(), req.GetReadOpts(), func(t *raftfsm.TraderView) { out = convert.InvitesView(t) }); err != nil {
		return nil, err
	}
	return out, nil
}

// GetCopyQuality answers how closely copies of a trader (or one copier's) tracked it.
func (h *Handler) GetCopyQuality(ctx context.Context, req *ct.GetCopyQualityRequest) (*ct.GetCopyQualityResponse, error) {
	id, err := convert.TraderID(req.GetTrader())
	if err != nil {
		return nil, bizErr(err)
	}
	if req.GetCopier() < 0 {
		return nil, bizErr(&convert.FieldError{Field: "copier", Problem: "must be >= 0"})
	}
	days, window, err := convert.QualityWindow(req.GetWindowDays())
	if err != nil {
		return nil, bizErr(err)
	}
	opts := req.GetReadOpts()
	if opts == nil {
		opts = &ct.ReadOptions{}
	}
	out := &ct.GetCopyQualityResponse{Trader: int64(id)}
	var ref *raftfsm.Refusal
	if err := h.read(ctx, opts, func(m *raftfsm.Machine) {
		if ref = slotRefusal(m, id); ref != nil {
			return
		}
		q, _ := m.CopyQuality(id, raftfsm.AccountID(req.GetCopier()), window)
		out.Quality = convert.QualityView(&q, days, raftfsm.AccountID(req.GetCopier()))
	}); err != nil {
		return nil, err
	}
	if ref != nil {
		return nil, convert.RefusalError(ref)
	}
	return out, nil
}

// SetClosePolicy changes a live follow's close policy.
func (h *Handler) SetClosePolicy(ctx context.Context, req *ct.SetClosePolicyRequest) (*ct.CommandResponse, error) {
	c, err := convert.ClosePolicy(req)
	return h.command(ctx, &c, err, 0, 0)
}
