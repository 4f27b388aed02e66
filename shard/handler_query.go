package shard

import (
	"context"
	"strconv"

	"github.com/hashicorp/raft"

	"github.com/copytrade/copytrade/raftfsm"
	"github.com/copytrade/copytrade/rpc/convert"
	ct "github.com/copytrade/copytrade/rpc/kitex_gen/copytrade"
)

// read runs fn on the machine: after confirming leadership, or on any replica when the
// caller allows stale reads.
func (h *Handler) read(ctx context.Context, opts *ct.ReadOptions, fn func(m *raftfsm.Machine)) error {
	if !opts.GetAllowStale() {
		ctx, cancel := h.n.requestCtx(ctx, 0)
		defer cancel()
		if err := h.n.VerifyLeader(ctx); err != nil {
			return bizErr(err)
		}
	}
	h.n.fsm.read(fn)
	return nil
}

func (h *Handler) GetTrader(ctx context.Context, req *ct.GetTraderRequest) (*ct.GetTraderResponse, error) {
	var out *ct.Trader
	if err := h.readTrader(ctx, req.GetTrader(), req.GetReadOpts(), func(t *raftfsm.TraderView) { out = convert.TraderView(t) }); err != nil {
		return nil, err
	}
	return &ct.GetTraderResponse{Trader: out}, nil
}

// readTrader reads one trader of this group under h.read: the slot's refusal when this
// group does not serve it, UNKNOWN_TRADER when the group has no such trader.
func (h *Handler) readTrader(ctx context.Context, trader int64, opts *ct.ReadOptions, fn func(t *raftfsm.TraderView)) error {
	id, err := convert.TraderID(trader)
	if err != nil {
		return bizErr(err)
	}
	var ref *raftfsm.Refusal
	found := false
	if err := h.read(ctx, opts, func(m *raftfsm.Machine) {
		if ref = slotRefusal(m, id); ref != nil {
			return
		}
		if t, ok := m.Trader(id); ok {
			found = true
			fn(&t)
		}
	}); err != nil {
		return err
	}
	if ref != nil {
		return convert.RefusalError(ref)
	}
	if !found {
		return convert.RefusalError(&raftfsm.Refusal{Code: raftfsm.CodeUnknownTrader, Msg: "trader " + strconv.FormatInt(int64(id), 10) + " is unknown in this group"})
	}
	return nil
}

func (h *Handler) ListFollowers(ctx context.Context, req *ct.ListFollowersRequest) (*ct.ListFollowersResponse, error) {
	id, err := convert.TraderID(req.GetTrader())
	if err != nil {
		return nil, bizErr(err)
	}
	limit := int(req.GetLimit())
	if limit <= 0 {
		limit = convert.DefaultPageSize
	}
	limit = min(limit, convert.MaxPageSize)
	out := &ct.ListFollowersResponse{}
	if err := h.read(ctx, req.GetReadOpts(), func(m *raftfsm.Machine) {
		fs := m.Followers(id, raftfsm.AccountID(max(req.GetAfterCopier(), 0)), limit+1)
		if len(fs) > limit {
			fs = fs[:limit]
			out.NextAfterCopier = int64(fs[limit-1].Copier)
		}
		out.Follows = make([]*ct.FollowView, len(fs))
		for i := range fs {
			out.Follows[i] = convert.FollowView(&fs[i])
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (h *Handler) ListCopierFollows(ctx context.Context, req *ct.ListCopierFollowsRequest) (*ct.ListCopierFollowsResponse, error) {
	if req.GetCopier() <= 0 {
		return nil, convert.BizError(ct.ErrorCode_INVALID_ARGUMENT, "copier: must be an account ID > 0", nil)
	}
	out := &ct.ListCopierFollowsResponse{}
	if err := h.read(ctx, req.GetReadOpts(), func(m *raftfsm.Machine) {
		fs := m.FollowsOfCopier(raftfsm.AccountID(req.GetCopier()))
		out.Follows = make([]*ct.FollowView, len(fs))
		for i := range fs {
			out.Follows[i] = convert.FollowView(&fs[i])
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (h *Handler) GetPositions(ctx context.Context, req *ct.GetPositionsRequest) (*ct.GetPositionsResponse, error) {
	if req.GetCopier() <= 0 || req.GetTrader() < 0 {
		return nil, convert.BizError(ct.ErrorCode_INVALID_ARGUMENT, "copier: must be an account ID > 0 (trader: 0 or an account ID)", nil)
	}
	copier, trader := raftfsm.AccountID(req.GetCopier()), raftfsm.AccountID(req.GetTrader())
	out := &ct.GetPositionsResponse{Copier: req.GetCopier()}
	if err := h.read(ctx, req.GetReadOpts(), func(m *raftfsm.Machine) {
		var fs []raftfsm.FollowState
		if trader != 0 {
			if f, ok := m.Follow(copier, trader); ok {
				fs = append(fs, f)
			}
		} else {
			fs = m.FollowsOfCopier(copier)
		}
		for i := range fs {
			out.ByTrader = append(out.ByTrader, &ct.CopierPositions{
				Trader: int64(fs[i].Trader), Positions: convert.PositionsView(fs[i].Positions),
				Detached: convert.PositionsView(fs[i].Detached),
			})
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (h *Handler) ListOrders(ctx context.Context, req *ct.ListOrdersRequest) (*ct.ListOrdersResponse, error) {
	limit := int(req.GetLimit())
	if limit <= 0 {
		limit = convert.DefaultOrdersPage
	}
	limit = min(limit, convert.MaxOrdersPage)
	if req.GetQuarantinedOnly() {
		return h.listQuarantined(ctx, req, limit)
	}
	bySignal := req.GetTradeId() > 0
	if bySignal && req.GetTrader() <= 0 || !bySignal && req.GetCopier() <= 0 {
		return nil, convert.BizError(ct.ErrorCode_INVALID_ARGUMENT, "trader and trade_id (by signal) or copier (by copier) are required", nil)
	}
	out := &ct.ListOrdersResponse{}
	if err := h.read(ctx, req.GetReadOpts(), func(m *raftfsm.Machine) {
		var os []raftfsm.OrderState
		if bySignal {
			os = m.OrdersBySignal(raftfsm.AccountID(req.GetTrader()), req.GetTradeId())
		} else {
			os = m.OrdersOfCopier(raftfsm.AccountID(req.GetCopier()))
		}
		for i := range os {
			if len(out.Orders) == limit {
				break
			}
			// Both filters apply whichever index served the read: by signal, a copier > 0
			// narrows to that copier's orders (an account may read only its own; the
			// whole signal, copier 0, is for admin callers — see rpc/auth).
			if !bySignal && req.GetTrader() > 0 && os[i].Trader != raftfsm.AccountID(req.GetTrader()) ||
				bySignal && req.GetCopier() > 0 && os[i].Copier != raftfsm.AccountID(req.GetCopier()) {
				continue
			}
			v := convert.OrderView(&os[i])
			if m.IsQuarantined(os[i].ClientOrderID) {
				v = convert.QuarantinedView(&raftfsm.QuarantinedOrder{OrderState: os[i], Reason: m.QuarantineReason(os[i].ClientOrderID)})
			}
			out.Orders = append(out.Orders, v)
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (h *Handler) ListSettlements(ctx context.Context, req *ct.ListSettlementsRequest) (*ct.ListSettlementsResponse, error) {
	out := &ct.ListSettlementsResponse{}
	if err := h.read(ctx, req.GetReadOpts(), func(m *raftfsm.Machine) {
		out.LastSettledPeriod = int64(m.LastSettledPeriod())
		for _, r := range m.Settlements(0, 0, 0) {
			if req.GetTrader() > 0 && int64(r.Trader) != req.GetTrader() ||
				req.GetPeriod() > 0 && int64(r.Period) != req.GetPeriod() ||
				req.GetUnpaidOnly() && r.Paid {
				continue
			}
			out.Entries = append(out.Entries, convert.SettlementView(&r))
		}
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (h *Handler) GetSlotOwnership(ctx context.Context, req *ct.GetSlotOwnershipRequest) (*ct.GetSlotOwnershipResponse, error) {
	out := &ct.GetSlotOwnershipResponse{}
	if err := h.read(ctx, req.GetReadOpts(), func(m *raftfsm.Machine) {
		out.Group = int32(m.Group())
		out.AppliedIndex = int64(m.AppliedIndex())
		out.Ranges = convert.SlotRanges(slotTable(m))
		stampFrozen(m, out.Ranges) // handler_ops.go
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (h *Handler) GroupStatus(ctx context.Context, req *ct.GroupStatusRequest) (*ct.GroupStatusResponse, error) {
	if !req.GetReadOpts().GetAllowStale() {
		ctx, cancel := h.n.requestCtx(ctx, 0)
		defer cancel()
		if err := h.n.VerifyLeader(ctx); err != nil {
			return nil, bizErr(err)
		}
	}
	return h.n.Status(), nil
}

// Status describes the group as this node sees it.
func (n *Node) Status() *ct.GroupStatusResponse {
	st := n.raft.Stats()
	num := func(k string) int64 { v, _ := strconv.ParseInt(st[k], 10, 64); return v }
	hint := n.leaderHint()
	out := &ct.GroupStatusResponse{
		Group: int32(n.cfg.Group), NodeId: n.cfg.NodeID, State: n.raft.State().String(),
		LeaderId: hint.LeaderID, LeaderAddr: hint.LeaderAddr,
		Term: num("term"), CommitIndex: num("commit_index"), LastLogIndex: num("last_log_index"),
		LastSnapshotIndex: num("last_snapshot_index"),
	}
	n.fsm.read(func(m *raftfsm.Machine) {
		out.AppliedIndex = int64(m.AppliedIndex())
		out.PendingOrders = int32(len(m.PendingOrders()))
	})
	if cf := n.raft.GetConfiguration(); cf.Error() == nil {
		for _, s := range cf.Configuration().Servers {
			out.Members = append(out.Members, &ct.Member{
				Id: string(s.ID), RaftAddr: string(s.Address), RpcAddr: n.memberRPCAddr(s.ID),
				Voter: s.Suffrage == raft.Voter, Leader: string(s.ID) == hint.LeaderID,
				Drained: n.isDrained(string(s.ID)),
			})
		}
	}
	return out
}
