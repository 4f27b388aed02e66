package shard

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// Handler serves the CopyTrade service on one node. Writes and non-stale reads on a
// follower answer NOT_LEADER with the leader's RPC address.
type Handler struct{ n *Node }

var _ ct.CopyTrade = (*Handler)(nil)

// NewHandler returns the node's CopyTrade handler.
func NewHandler(n *Node) *Handler { return &Handler{n: n} }

// bizErr maps any error to a CopyTrade business error.
func bizErr(err error) error {
	if err == nil {
		return nil
	}
	if b, ok := convert.EdgeError(err); ok {
		return b
	}
	var nl *NotLeaderError
	switch {
	case errors.As(err, &nl):
		if nl.Appended {
			return convert.NotLeaderMaybeAppliedError(nl.LeaderID, nl.LeaderAddr)
		}
		return convert.NotLeaderError(nl.LeaderID, nl.LeaderAddr)
	case errors.Is(err, ErrDeadline):
		return convert.BizError(ct.ErrorCode_DEADLINE, err.Error(), nil)
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrShutdown), errors.Is(err, ErrGatewayDown):
		return convert.BizError(ct.ErrorCode_UNAVAILABLE, err.Error(), nil)
	}
	return convert.BizError(ct.ErrorCode_INTERNAL, err.Error(), nil)
}

// outcomeErr is the business error of a single fill's non-OK outcome.
func outcomeErr(o *ct.FillOutcome) error {
	extra := map[string]string{}
	switch o.Code {
	case ct.ErrorCode_NOT_LEADER:
		extra[ct.EXTRA_LEADER_ADDR] = o.LeaderAddr
	case ct.ErrorCode_MOVED:
		extra[ct.EXTRA_GROUP] = strconv.FormatInt(int64(o.Group), 10)
		extra[ct.EXTRA_EPOCH] = strconv.FormatInt(o.Epoch, 10)
	}
	return convert.BizError(o.Code, o.Message, extra)
}

func (h *Handler) SubmitFill(ctx context.Context, req *ct.SubmitFillRequest) (*ct.SubmitFillResponse, error) {
	received := time.Now()
	f, err := convert.SubmitFill(req)
	if err != nil {
		return nil, bizErr(err)
	}
	ctx, cancel := h.n.requestCtx(ctx, req.TimeoutMs)
	defer cancel()
	o := h.n.SubmitFill(ctx, f, req.Wait == ct.WaitFor_ACKED, received)
	if o.Code != ct.ErrorCode_OK {
		return nil, outcomeErr(o)
	}
	return &ct.SubmitFillResponse{Outcome: o}, nil
}

func (h *Handler) SubmitFills(ctx context.Context, req *ct.SubmitFillsRequest) (*ct.SubmitFillsResponse, error) {
	received := time.Now()
	fills, errs, err := convert.SubmitFills(req)
	if err != nil {
		return nil, bizErr(err)
	}
	ctx, cancel := h.n.requestCtx(ctx, req.TimeoutMs)
	defer cancel()
	out := &ct.SubmitFillsResponse{Outcomes: make([]*ct.FillOutcome, len(fills))}
	acked := req.Wait == ct.WaitFor_ACKED
	done := make(chan struct{}, len(fills))
	for i := range fills {
		if errs[i] != nil {
			out.Outcomes[i] = convert.Outcome(req.Fills[i], ct.ErrorCode_INVALID_ARGUMENT, errs[i].Error())
			done <- struct{}{}
			continue
		}
		go func() {
			out.Outcomes[i] = h.n.SubmitFill(ctx, fills[i], acked, received)
			done <- struct{}{}
		}()
	}
	for range fills {
		<-done
	}
	return out, nil
}

// command runs a validated command and answers its CommandResponse.
func (h *Handler) command(ctx context.Context, cmd raftfsm.Command, verr error, wait ct.WaitFor, timeoutMs int32) (*ct.CommandResponse, error) {
	if verr != nil {
		return nil, bizErr(verr)
	}
	ctx, cancel := h.n.requestCtx(ctx, timeoutMs)
	defer cancel()
	_, resp, err := h.n.Command(ctx, cmd, wait == ct.WaitFor_ACKED)
	if err != nil {
		return nil, bizErr(err)
	}
	return resp, nil
}

func (h *Handler) UpsertInstrument(ctx context.Context, req *ct.UpsertInstrumentRequest) (*ct.CommandResponse, error) {
	c, err := convert.Instrument(req)
	return h.command(ctx, &c, err, 0, 0)
}

func (h *Handler) SetRules(ctx context.Context, req *ct.SetRulesRequest) (*ct.CommandResponse, error) {
	c, err := convert.Rules(req)
	return h.command(ctx, &c, err, 0, 0)
}

func (h *Handler) ApplyTrader(ctx context.Context, req *ct.ApplyTraderRequest) (*ct.CommandResponse, error) {
	c, err := convert.ApplyTrader(req)
	if err == nil && !convert.StatsStated(req.GetStats()) {
		err = h.n.stampApplicantStats(ctx, &c)
	}
	return h.command(ctx, &c, err, 0, 0)
}

func (h *Handler) UpdateTrader(ctx context.Context, req *ct.UpdateTraderRequest) (*ct.CommandResponse, error) {
	c, err := convert.UpdateTrader(req)
	return h.command(ctx, &c, err, 0, 0)
}

func (h *Handler) PauseTrader(ctx context.Context, req *ct.PauseTraderRequest) (*ct.CommandResponse, error) {
	id, err := convert.TraderID(req.GetTrader())
	return h.command(ctx, &raftfsm.TraderPause{Trader: id}, err, 0, 0)
}

func (h *Handler) ResumeTrader(ctx context.Context, req *ct.ResumeTraderRequest) (*ct.CommandResponse, error) {
	id, err := convert.TraderID(req.GetTrader())
	return h.command(ctx, &raftfsm.TraderResume{Trader: id}, err, 0, 0)
}

func (h *Handler) ExitTrader(ctx context.Context, req *ct.ExitTraderRequest) (*ct.CommandResponse, error) {
	c, err := convert.ExitTrader(req)
	return h.command(ctx, &c, err, req.GetWait(), req.GetTimeoutMs())
}

// Follow commits a Follow, or a FollowEx when the request uses an option of issue 14
// (invite code, close policy, copy of open positions), so a plain follow stays the
// command every older replica reads.
func (h *Handler) Follow(ctx context.Context, req *ct.FollowRequest) (*ct.CommandResponse, error) {
	c, err := convert.FollowEx(req)
	if err == nil && c.InviteCode == "" && c.ClosePolicy == raftfsm.CloseCopy && !c.CopyOpenPositions {
		return h.command(ctx, &c.Follow, nil, 0, 0)
	}
	return h.command(ctx, &c, err, 0, 0)
}

func (h *Handler) UpdateFollow(ctx context.Context, req *ct.UpdateFollowRequest) (*ct.CommandResponse, error) {
	c, err := convert.UpdateFollow(req)
	return h.command(ctx, &c, err, 0, 0)
}

func (h *Handler) PauseFollow(ctx context.Context, req *ct.PauseFollowRequest) (*ct.CommandResponse, error) {
	c, err := convert.FollowPause(req.GetTrader(), req.GetCopier())
	return h.command(ctx, &c, err, 0, 0)
}

func (h *Handler) ResumeFollow(ctx context.Context, req *ct.ResumeFollowRequest) (*ct.CommandResponse, error) {
	c, err := convert.FollowResume(req.GetTrader(), req.GetCopier())
	return h.command(ctx, &c, err, 0, 0)
}

func (h *Handler) Unfollow(ctx context.Context, req *ct.UnfollowRequest) (*ct.CommandResponse, error) {
	c, err := convert.Unfollow(req)
	return h.command(ctx, &c, err, req.GetWait(), req.GetTimeoutMs())
}

func (h *Handler) Settle(ctx context.Context, req *ct.SettleRequest) (*ct.SettleResponse, error) {
	c, err := convert.Settle(req)
	if err != nil {
		return nil, bizErr(err)
	}
	ctx, cancel := h.n.requestCtx(ctx, 0)
	defer cancel()
	idx, entries, err := h.n.Settle(ctx, c.Period)
	if err != nil {
		return nil, bizErr(err)
	}
	out := &ct.SettleResponse{Index: int64(idx), Entries: make([]*ct.SettlementEntry, len(entries))}
	for i := range entries {
		out.Entries[i] = convert.SettlementEntryView(&entries[i])
	}
	return out, nil
}

func (h *Handler) SlotFreeze(ctx context.Context, req *ct.SlotFreezeRequest) (*ct.CommandResponse, error) {
	c, err := convert.SlotFreeze(req)
	return h.command(ctx, &c, err, 0, 0)
}

func (h *Handler) SlotExport(ctx context.Context, req *ct.SlotExportRequest) (*ct.SlotExportResponse, error) {
	id, err := convert.Migration(req.GetMigration())
	if err != nil {
		return nil, bizErr(err)
	}
	ctx, cancel := h.n.requestCtx(ctx, 0)
	defer cancel()
	res, _, err := h.n.Command(ctx, &raftfsm.SlotExport{Migration: id}, false)
	if err != nil {
		return nil, bizErr(err)
	}
	return convert.SlotExport(res.Index, res.Export), nil
}

func (h *Handler) SlotImport(ctx context.Context, req *ct.SlotImportRequest) (*ct.CommandResponse, error) {
	c, err := convert.SlotImport(req)
	return h.command(ctx, &c, err, 0, 0)
}

func (h *Handler) SlotRelease(ctx context.Context, req *ct.SlotReleaseRequest) (*ct.CommandResponse, error) {
	id, err := convert.Migration(req.GetMigration())
	return h.command(ctx, &raftfsm.SlotRelease{Migration: id}, err, 0, 0)
}

func (h *Handler) SlotAbort(ctx context.Context, req *ct.SlotAbortRequest) (*ct.CommandResponse, error) {
	id, err := convert.Migration(req.GetMigration())
	return h.command(ctx, &raftfsm.SlotAbort{Migration: id}, err, 0, 0)
}

func (h *Handler) SlotUnfreeze(ctx context.Context, req *ct.SlotUnfreezeRequest) (*ct.CommandResponse, error) {
	id, err := convert.Migration(req.GetMigration())
	return h.command(ctx, &raftfsm.SlotUnfreeze{Migration: id}, err, 0, 0)
}

func (h *Handler) Noop(ctx context.Context, req *ct.NoopRequest) (*ct.NoopResponse, error) {
	received := time.Now()
	ctx, cancel := h.n.requestCtx(ctx, 0)
	defer cancel()
	idx, commit, err := h.n.Noop(ctx)
	if err != nil {
		return nil, bizErr(err)
	}
	return &ct.NoopResponse{Index: int64(idx), Timings: &ct.Timings{
		CommitUs: commit.Microseconds(), TotalUs: time.Since(received).Microseconds(),
	}}, nil
}

func (h *Handler) AddMember(ctx context.Context, req *ct.AddMemberRequest) (*ct.MembershipResponse, error) {
	ctx, cancel := h.n.requestCtx(ctx, 0)
	defer cancel()
	idx, err := h.n.AddMember(ctx, Member{ID: req.GetId(), RaftAddr: req.GetRaftAddr(), RPCAddr: req.GetRpcAddr()})
	if err != nil {
		return nil, bizErr(err)
	}
	return &ct.MembershipResponse{Index: int64(idx)}, nil
}

func (h *Handler) RemoveMember(ctx context.Context, req *ct.RemoveMemberRequest) (*ct.MembershipResponse, error) {
	ctx, cancel := h.n.requestCtx(ctx, 0)
	defer cancel()
	idx, err := h.n.RemoveMember(ctx, req.GetId())
	if err != nil {
		return nil, bizErr(err)
	}
	return &ct.MembershipResponse{Index: int64(idx)}, nil
}

func (h *Handler) TransferLeadership(ctx context.Context, req *ct.TransferLeadershipRequest) (*ct.MembershipResponse, error) {
	if err := h.n.TransferLeadership(req.GetToId()); err != nil {
		return nil, bizErr(err)
	}
	return &ct.MembershipResponse{}, nil
}
